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
#   TRADES=1000000        trades seeded over HTTP before the list runs (0 skips the HTTP runs and their servers)
#   INDEX_TRADES="1000000 10000000"   sizes of the in-process index runs ("" skips them)
#   DURATION=20           seconds per measured run
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-artifacts/bench-reads}"
trades="${TRADES:-1000000}"
if [[ ! "$trades" =~ ^[0-9]+$ ]]; then
  echo "bench-reads.sh: TRADES must be a whole number (0 skips the HTTP runs); got '$trades'" >&2
  exit 2
fi
index_trades="${INDEX_TRADES-1000000 10000000}"
duration="${DURATION:-20}"
# Checked before anything is built or started: each HTTP run refused it only after the servers were up and the trades seeded.
if [[ ! "$duration" =~ ^[0-9]+$ ]] || ((10#$duration < 1)); then
  echo "bench-reads.sh: DURATION must be a whole number of seconds, 1 or more; got '$duration'" >&2
  exit 2
fi
mkdir -p "$out"
log="$out/reads.log"
: >"$log"
work="$(mktemp -d /tmp/tradestore-reads.XXXXXX)"
pids=()

failed=()
# Runs one measurement, its output into the log; a failing one is named at the end and makes the script exit 1 (the
# other measurements still run: they do not depend on it).
step() {
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    echo "bench-reads: tradestore-bench ${*:3} failed with exit code $rc" | tee -a "$log" >&2
    failed+=("tradestore-bench ${*:3} (exit $rc)")
  fi
}

say() { printf '\n## %s (%s)\n' "$*" "$(date -u +%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"; }

# free_port, wait_for, install_debian_packages, start_redis/clickhouse, stop_servers; stop_children.
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/children.sh"
cleanup() { stop_children; stop_servers; rm -rf "$work"; }
trap cleanup EXIT

mapfile -t missing < <(missing_server_packages redis clickhouse)
install_debian_packages "${missing[@]}" || exit 1

dotnet build bench/TradeStore.Bench -c Release -nologo -v q -clp:ErrorsOnly || exit 1
B=(dotnet "$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore-bench.dll")

for n in $index_trades; do
  say "index: $n trades, 50 accounts x 200 symbols"
  step "${B[@]}" index --trades "$n"
  say "index: $n trades, 10,000 accounts x 20 symbols"
  step "${B[@]}" index --trades "$n" --accounts 10000 --symbols 20
done

if ((trades == 0)); then
  say "http runs skipped (TRADES=0)"
else
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
  step "${B[@]}" http --url "http://127.0.0.1:$port" --workload list --seed-trades "$trades" --rate 1000 --duration "$duration" \
    --verify-limit 1000 --json "$out/http-list.json"

  say "http read: GET /v1/trades/{id} at 5,000/s"
  step "${B[@]}" http --url "http://127.0.0.1:$port" --workload read --seed-trades 10000 --rate 5000 --duration "$duration" \
    --verify-limit 1000 --json "$out/http-read.json"
fi

if ((${#failed[@]} > 0)); then
  printf 'bench-reads: %d measurement(s) failed, see %s:\n' "${#failed[@]}" "$log" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "bench-reads: done; raw output in $log"
