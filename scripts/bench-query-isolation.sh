#!/usr/bin/env bash
# Write latency while the worst queries of issue #19 run (docs/benchmarks/2026-11-30-query-isolation.md).
# Starts `tradestore serve` on a fresh temporary database, measures trade writes at a fixed rate with
# `tradestore-bench http` once alone and once while two loops send the attack queries, and prints both.
# Usage: scripts/bench-query-isolation.sh [RATE] [SECONDS]   (build first: dotnet build TradeStore.slnx -c Release)
#   RATE     trade writes per second (default 200); SECONDS per measurement (default 30)
# Exit codes: 0 done; 1 a run failed; 2 bad arguments, or no Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bad() { echo "bench-query-isolation.sh: $*" >&2; exit 2; }
case "${1:-}" in -h|--help) sed -n '2,7p' "$0"; exit 0 ;; esac
[ $# -le 2 ] || bad "at most two arguments, RATE and SECONDS (see --help); got $#"
rate="${1:-200}"
seconds="${2:-30}"
# Checked before the server starts: tradestore-bench refused them only then, naming its own --rate or --duration.
whole() { case "$1" in ''|*[!0-9]*) return 1 ;; esac; [ "$((10#$1))" -ge 1 ]; }
whole "$rate" || bad "RATE must be a whole number of writes per second, 1 or more; got '$rate'"
whole "$seconds" || bad "SECONDS must be a whole number, 1 or more; got '$seconds'"
cli="src/TradeStore.Cli/bin/Release/net10.0/tradestore.dll"
bench="bench/TradeStore.Bench/bin/Release/net10.0/tradestore-bench.dll"
for f in "$cli" "$bench"; do
  [[ -f "$f" ]] || { echo "missing $f: run dotnet build TradeStore.slnx -c Release" >&2; exit 2; }
done

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
server_pid=""
loops=()
# stop_children: the tradestore-bench run still going when a SIGTERM ends the script.
source scripts/lib/children.sh
cleanup() {
  stop_children
  for pid in "${loops[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

dotnet "$cli" serve --data "$work" --urls "$url" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "$url/health/live" >/dev/null 2>&1 && break; sleep 0.2; done

queries=(
  "SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = -1"
  "SELECT length(string_agg(CAST(range AS VARCHAR) || '-padding-padding-padding-padding', ',')) FROM range(400000000)"
  "SELECT count(*) FROM (SELECT CAST(range AS VARCHAR) || '-padding' AS s FROM range(50000000) ORDER BY s DESC)"
  "SELECT range AS n, 'padding-padding-padding-padding-padding-padding' AS pad FROM range(5000000)"
  "SELECT len(range(200000000))"
  "SELECT * FROM checkpoint()"
)
# The request bodies are written once, and each query costs this machine one curl and nothing else: the attacker's
# client would run elsewhere, and a python3 and a bc per query (as before) took CPU from the server being measured.
for i in "${!queries[@]}"; do
  python3 -c 'import json,sys; print(json.dumps({"sql": sys.argv[1]}))' "${queries[$i]}" >"$work/query-$i.json"
done
query_loop() {
  local log="$1" i answer code seconds type
  while true; do
    for i in "${!queries[@]}"; do
      answer=$(curl -s -o "$log.body" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
        --data-binary "@$work/query-$i.json" "$url/v1/query" || echo "000 0")
      read -r code seconds <<<"$answer"
      type=ok
      [[ "$(<"$log.body")" =~ urn:tradestore:problem:([a-z-]+) ]] && type="${BASH_REMATCH[1]}"
      echo "$code/$type $seconds ${queries[$i]:0:60}" >>"$log"
    done
  done
}

echo "== alone: $rate writes/s for $seconds s"
dotnet "$bench" http --url "$url" --rate "$rate" --duration "$seconds" --json "$work/alone.json"

echo "== with two loops of the worst queries"
query_loop "$work/queries-1.log" & loops+=($!)
query_loop "$work/queries-2.log" & loops+=($!)
sleep 2
peak_rss=0
( while kill -0 "$server_pid" 2>/dev/null; do ps -o rss= -p "$server_pid"; sleep 0.5; done ) >"$work/rss.log" 2>/dev/null & loops+=($!)
dotnet "$bench" http --url "$url" --rate "$rate" --duration "$seconds" --json "$work/loaded.json"
for pid in "${loops[@]}"; do kill "$pid" 2>/dev/null || true; done
loops=()
peak_rss=$(sort -n "$work/rss.log" | tail -1)
echo "== query answers (status, seconds, query):"
cat "$work"/queries-[12].log | awk '{k=$1" "substr($0, index($0,$3)); n[k]++; s[k]+=$2; if ($2>m[k]) m[k]=$2} END {for (k in n) printf "%5d x  max %6.2f s  mean %6.2f s  %s\n", n[k], m[k], s[k]/n[k], k}' | sort -k6
echo "== server peak RSS while loaded: $((peak_rss / 1024)) MiB"
echo "== load average: $(cat /proc/loadavg)"
