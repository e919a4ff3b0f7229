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

# free_port, wait_for, install_debian_packages, start_redis/clickhouse, stop_servers.
source "$root/scripts/lib/servers.sh"
cleanup() { stop_servers; rm -rf "$work"; }
trap cleanup EXIT

mapfile -t missing < <(missing_server_packages redis clickhouse)
install_debian_packages "${missing[@]}" || exit 1

dotnet build bench/TradeStore.Bench -c Release -nologo -v q -clp:ErrorsOnly || exit 1
B=(dotnet "$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore-bench.dll")

for n in $index_trades; do
  say "index: $n trades, 50 accounts x 200 symbols"
  "${B[@]}" index --trades "$n" 2>&1 | tee -a "$log"
  say "index: $n trades, 10,000 accounts x 20 symbols"
  "${B[@]}" index --trades "$n" --accounts 10000 --symbols 20 2>&1 | tee -a "$log"
done

start_redis || exit 1
start_clickhouse || exit 1

port="$(free_port)" || exit 1
TRADESTORE__Redis__Connection="$redis_address" TRADESTORE__ClickHouse__Url="$clickhouse_url" \
  dotnet "$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore.dll" serve --data "$work/data" --urls "http://127.0.0.1:$port" \
  >"$work/server.log" 2>&1 &
pids+=($!)
wait_for "tradestore serve" 90 curl -sf "http://127.0.0.1:$port/health/ready" || { tail -20 "$work/server.log" >&2; exit 1; }
curl -s "http://127.0.0.1:$port/health/ready" | tee -a "$log"; echo | tee -a "$log"

say "http list: $trades trades seeded, 1,000 lists/s, $duration s per measurement"
"${B[@]}" http --url "http://127.0.0.1:$port" --workload list --seed-trades "$trades" --rate 1000 --duration "$duration" \
  --verify-limit 1000 --json "$out/http-list.json" 2>&1 | tee -a "$log"

say "http read: GET /v1/trades/{id} at 5,000/s"
"${B[@]}" http --url "http://127.0.0.1:$port" --workload read --seed-trades 10000 --rate 5000 --duration "$duration" \
  --verify-limit 1000 --json "$out/http-read.json" 2>&1 | tee -a "$log"
