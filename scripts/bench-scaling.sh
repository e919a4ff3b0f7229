#!/usr/bin/env bash
# Scaling figures for docs/benchmarks.md: how throughput and latency change with the engine's batch size, with
# concurrency, and with the database size (1,000,000 and 10,000,000 trades stored); memory per million trades;
# start-up time against database size. Takes about 15 minutes on the 2-core machine; run it on an idle machine.
#
# Usage: scripts/bench-scaling.sh [OUTPUT_DIR]   (default artifacts/bench-scaling; raw output in scaling.log,
#        one JSON file per run)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-artifacts/bench-scaling}"
mkdir -p "$out"
log="$out/scaling.log"
: >"$log"
dotnet build bench/TradeStore.Bench -c Release -nologo -v q -clp:ErrorsOnly
B="$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore-bench"

# free_port; stop_children. Whatever ends the script (the end, a failure, SIGTERM) stops the run still going and the
# server, and deletes the server's data: it had no cleanup, and a server started below ran on with its data in /tmp.
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/children.sh"
data=""
serve_pid=""
cleanup() {
  stop_children
  [ -z "$serve_pid" ] || { kill -TERM "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; }
  [ -z "$data" ] || rm -rf "$data"
}
trap cleanup EXIT

say() { printf '\n## %s (%s)\n' "$*" "$(date -u +%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"; }
run() { "$@" 2>&1 | tee -a "$log" | grep -E '^(engine|index|http|generator|point)' || true; }

say "engine: Engine:MaxBatchSize (insert, closed loop, 4,096 submitters, 8 s)"
for batch in 100 500 1000 4000 16000; do
  run "$B" engine --max-batch "$batch" --duration 8 --baseline-duration 1 --json "$out/engine-batch-$batch.json"
done

say "engine: concurrency (insert, closed loop, max batch 4,000, 8 s)"
for c in 1 16 256 1024 4096; do
  run "$B" engine --concurrency "$c" --duration 8 --baseline-duration 1 --json "$out/engine-concurrency-$c.json"
done

say "engine: database size (trades stored before the measured 10 s)"
for n in 1000000 10000000; do
  run "$B" engine --preload "$n" --duration 10 --baseline-duration 1 --json "$out/engine-insert-preload-$n.json"
  run "$B" engine --workload mixed --preload "$n" --duration 10 --baseline-duration 1 --json "$out/engine-mixed-preload-$n.json"
done

say "state index start-up and memory against database size"
for n in 100000 1000000 10000000; do
  run "$B" index --trades "$n"
done

say "serve: single POST against connections (closed loop, 8 s), start-up and list query with 1,000,000 trades stored"
data="$(mktemp -d /tmp/tradestore-scaling.XXXXXX)"
port="$(free_port)"
url="http://127.0.0.1:$port"
start_serve() {
  local started; started=$(date +%s%N)
  TRADESTORE__SECURITY__REQUESTSPERSECOND=0 TRADESTORE__SECURITY__CONCURRENTREQUESTS=0 \
    "$root/src/TradeStore.Cli/bin/Release/net10.0/tradestore" serve --data "$data" --urls "$url" >>"$out/serve.log" 2>&1 &
  serve_pid=$!
  until curl -sf "$url/health/ready" >/dev/null 2>&1; do
    # It waited for ever on a server that had exited (its port taken, a bad configuration).
    kill -0 "$serve_pid" 2>/dev/null || { echo "bench-scaling.sh: serve exited before it was ready; see $out/serve.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "serve: ready after $(( ($(date +%s%N) - started) / 1000000 )) ms with $(du -sh "$data" | cut -f1) of data" | tee -a "$log"
}
stop_serve() { kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""; }
start_serve
for c in 1 8 32 128; do
  run "$B" http --url "$url" --concurrency "$c" --duration 8 --verify-limit 2000 --json "$out/http-post-c$c.json"
done
run "$B" http --url "$url" --workload list --rate 100 --duration 10 --seed-trades 1000000 --json "$out/http-list-1m.json"
stop_serve
start_serve
run "$B" http --url "$url" --workload read --rate 5000 --duration 10 --seed-trades 1000 --json "$out/http-read-1m.json"
stop_serve
echo "raw output: $log" >&2
