#!/usr/bin/env bash
# One run of the write-path comparison of issue #12, every figure from the same run on this machine:
#   PostgreSQL (scripts/bench-postgres.sh: 1 and 16 clients), TradeStore over HTTP (1 sequential connection; 32
#   connections with --baseline, the bare endpoint), the in-process engine (ack p99 at 1,000/s and 10,000/s,
#   insert-only and mixed throughput, DuckDB apply lag) and the journal log candidates (segment log vs FasterLog).
# Each line of the summary carries the load average at its start. Needs a Release build:
#   dotnet build TradeStore.slnx -c Release
# Usage: scripts/bench-write-path.sh [--duration S]   (default 10 s per run)
# Exit codes: 0 done; 1 a run failed; 2 bad arguments.
set -euo pipefail

duration=10
bad() { echo "bench-write-path.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) [ $# -ge 2 ] || bad "--duration needs a value (see --help)"; duration="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) bad "unknown argument '$1' (see --help)" ;;
  esac
done
case "$duration" in ''|*[!0-9]*) bad "--duration must be a whole number of seconds, 1 or more; got '$duration'" ;; esac
[ "$((10#$duration))" -ge 1 ] || bad "--duration must be a whole number of seconds, 1 or more; got '$duration'"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$root/src/TradeStore.Cli/bin/Release/net10.0/tradestore.dll"
bench="$root/bench/TradeStore.Bench/bin/Release/net10.0/tradestore-bench.dll"
[ -f "$cli" ] && [ -f "$bench" ] || { echo "bench-write-path.sh: build first: dotnet build TradeStore.slnx -c Release" >&2; exit 1; }
work="$(mktemp -d /tmp/tradestore-writepath.XXXXXX)"
server=""
# stop_children: the step still running when a SIGTERM ends the script.
source "$root/scripts/lib/children.sh"
cleanup() { stop_children; [ -z "$server" ] || kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
step() { printf '\n=== %s (load average %s)\n' "$*" "$(load)"; }

step "PostgreSQL: insert the event + upsert the state, one transaction, fsync on"
bash "$root/scripts/bench-postgres.sh" --duration "$duration"

port=$((20000 + RANDOM % 30000))
url="http://127.0.0.1:$port"
# The request rate limit (Security:RequestsPerSecond, default 10,000) is lifted here and in the bare endpoint:
# this measures the write path, and answers of 429 would cap both sides of the ratio alike.
TRADESTORE__SECURITY__REQUESTSPERSECOND=0 dotnet "$cli" serve --data "$work/data" --urls "$url" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -sf "$url/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$url/health/ready" >/dev/null || { echo "serve did not start:"; cat "$work/serve.log"; exit 1; }

step "TradeStore HTTP: 1 sequential connection, POST /v1/trades"
dotnet "$bench" http --url "$url" --workload insert --concurrency 1 --duration "$duration"
step "TradeStore HTTP: 32 connections, POST /v1/trades, and the bare endpoint in the same run"
dotnet "$bench" http --url "$url" --workload insert --concurrency 32 --duration "$duration" --baseline
kill "$server"; wait "$server" || true; server=""

step "engine: open loop at 1,000/s"
dotnet "$bench" engine --rate 1000 --duration "$duration" --baseline-duration 1
step "engine: open loop at 10,000/s"
dotnet "$bench" engine --rate 10000 --duration "$duration" --baseline-duration 1
step "engine: insert-only, closed loop"
dotnet "$bench" engine --workload insert --duration "$duration" --baseline-duration 1
step "engine: mixed, closed loop"
dotnet "$bench" engine --workload mixed --duration "$duration" --baseline-duration 1
step "journal log candidates"
dotnet "$bench" log --duration 3
printf '\n=== done (load average %s)\n' "$(load)"
