#!/usr/bin/env bash
# Read figures of issue #13 (docs/reads.md, docs/benchmarks/2026-11-30-reads.md): the state index's memory, start-up
# and in-process list latency (`tradestore-bench index`), then lists and point reads over HTTP against a `tradestore
# serve` with Redis and ClickHouse on (`tradestore-bench http --workload list` and `--workload read`). Positions of
# every account with 10,000 accounts are timed in-process by the `index --accounts 10000` run.
#
# Starts its own redis-server and clickhouse-server on free loopback ports (installed from Debian's packages when
# missing) and a server on a fresh data directory; stops what it started. Raw output in OUTPUT_DIR/reads.log.
#
# Usage: scripts/bench-reads.sh [OUTPUT_DIR]
#   TRADES=1000000        trades seeded over HTTP before the list runs
#   INDEX_TRADES="1000000 10000000"   sizes of the in-process index runs ("" skips them)
#   DURATION=20           seconds per measured run
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-artifacts/bench-reads}"
trades="${TRADES:-1000000}"
index_trades="${INDEX_TRADES-1000000 10000000}"
duration="${DURATION:-20}"
mkdir -p "$out"
log="$out/reads.log"
: >"$log"
work="$(mktemp -d /tmp/tradestore-reads.XXXXXX)"
pids=()

say() { printf '\n## %s (%s)\n' "$*" "$(date -u +%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if port_is_free "$port"; then echo "$port"; return 0; fi
  done
  return 1
}
wait_for() { # seconds, command...
  local seconds="$1"; shift
  for _ in $(seq 1 $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/clickhouse-server ] || [ -x /usr/sbin/clickhouse-server ] || command -v clickhouse-server >/dev/null 2>&1 || missing+=(clickhouse-server)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" || exit 1
fi

dotnet build bench/TradeStore.Bench -c Release -nologo -v q -clp:ErrorsOnly || exit 1
B=(dotnet "$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore-bench.dll")

for n in $index_trades; do
  say "index: $n trades, 50 accounts x 200 symbols"
  "${B[@]}" index --trades "$n" 2>&1 | tee -a "$log"
  say "index: $n trades, 10,000 accounts x 20 symbols"
  "${B[@]}" index --trades "$n" --accounts 10000 --symbols 20 2>&1 | tee -a "$log"
done

redis_port="$(free_port)" || exit 1
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --save "" --appendonly no --daemonize no \
  --logfile "$work/redis/redis.log" &
pids+=($!)
wait_for 20 redis-cli -h 127.0.0.1 -p "$redis_port" ping || { echo "redis-server did not start" >&2; exit 1; }

ch_http="$(free_port)" && ch_tcp="$(free_port)" && ch_inter="$(free_port)" || exit 1
ch="$work/clickhouse"
mkdir -p "$ch/data" "$ch/tmp" "$ch/user_files" "$ch/format_schemas"
"$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)" --config=/etc/clickhouse-server/config.xml -- \
  --path="$ch/data/" --tmp_path="$ch/tmp/" --user_files_path="$ch/user_files/" --format_schema_path="$ch/format_schemas/" \
  --http_port="$ch_http" --tcp_port="$ch_tcp" --interserver_http_port="$ch_inter" --listen_host=127.0.0.1 \
  --logger.log="$ch/log" --logger.errorlog="$ch/err" >"$ch/stdout" 2>&1 &
pids+=($!)
wait_for 60 curl -sf "http://127.0.0.1:$ch_http/?query=SELECT%201" || { echo "clickhouse-server did not start" >&2; exit 1; }

port="$(free_port)" || exit 1
TRADESTORE__Redis__Connection="127.0.0.1:$redis_port" TRADESTORE__ClickHouse__Url="http://127.0.0.1:$ch_http" \
  dotnet "$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore.dll" serve --data "$work/data" --urls "http://127.0.0.1:$port" \
  >"$work/server.log" 2>&1 &
pids+=($!)
wait_for 90 curl -sf "http://127.0.0.1:$port/health/ready" || { tail -20 "$work/server.log" >&2; exit 1; }
curl -s "http://127.0.0.1:$port/health/ready" | tee -a "$log"; echo | tee -a "$log"

say "http list: $trades trades seeded, 1,000 lists/s, $duration s per measurement"
"${B[@]}" http --url "http://127.0.0.1:$port" --workload list --seed-trades "$trades" --rate 1000 --duration "$duration" \
  --verify-limit 1000 --json "$out/http-list.json" 2>&1 | tee -a "$log"

say "http read: GET /v1/trades/{id} at 5,000/s"
"${B[@]}" http --url "http://127.0.0.1:$port" --workload read --seed-trades 10000 --rate 5000 --duration "$duration" \
  --verify-limit 1000 --json "$out/http-read.json" 2>&1 | tee -a "$log"
