#!/usr/bin/env bash
# The PostgreSQL peer of TradeStore's write benchmarks (issue #12): the same work per trade as TradeStore's
# acknowledgement, in PostgreSQL with its defaults for durability (fsync on, synchronous_commit on):
#   one transaction = insert the event into trade_events + upsert the trade's row in trade_state.
# Runs pgbench with exactly that script for 1 client and for 16 clients against a throw-away cluster on a free
# loopback port, and prints one line per run:
#   postgres clients=N tps=T latency_avg_ms=L
#
# Installs PostgreSQL from Debian's packages when missing (apt-get; needs root or sudo). When run as root, the
# cluster runs as the 'postgres' user that the package creates.
#
# Usage: scripts/bench-postgres.sh [--duration S] [--clients "1 16"]
# Exit codes: 0 measured; 1 PostgreSQL could not be installed or started, or pgbench failed; 2 bad arguments.
set -euo pipefail

duration=20
clients_list="1 16"
bad() { echo "bench-postgres.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration|--clients) [ $# -ge 2 ] || bad "$1 needs a value (see --help)" ;;&
    --duration) duration="$2"; shift 2 ;;
    --clients) clients_list="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) bad "unknown argument '$1' (see --help)" ;;
  esac
done
# Checked before anything is installed or started: pgbench would refuse these only after a cluster was up.
whole() { case "$1" in ''|*[!0-9]*) return 1 ;; esac; [ "$((10#$1))" -ge 1 ]; }
whole "$duration" || bad "--duration must be a whole number of seconds, 1 or more; got '$duration'"
[ -n "${clients_list// /}" ] || bad "--clients must list client counts, e.g. \"1 16\"; got '$clients_list'"
for clients in $clients_list; do
  whole "$clients" || bad "--clients must list whole numbers, 1 or more, e.g. \"1 16\"; got '$clients_list'"
done

log() { printf '[bench-postgres] %s\n' "$*" >&2; }

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin="$(find_bin)"
if [ -z "$bin" ] || [ ! -x "$bin/pgbench" ]; then
  log "installing postgresql from Debian packages"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2 || { log "apt-get update failed"; exit 1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2 || { log "installing postgresql failed"; exit 1; }
  bin="$(find_bin)"
fi
[ -n "$bin" ] && [ -x "$bin/pgbench" ] || { log "no pgbench found under /usr/lib/postgresql/*/bin"; exit 1; }

work="$(mktemp -d /tmp/tradestore-pgbench.XXXXXX)"
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -ne 0 ] || chown postgres: "$work"
cleanup() {
  as_owner "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port=""
for _ in $(seq 1 200); do
  candidate=$((20000 + RANDOM % 30000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port="$candidate"; break; fi
done
[ -n "$port" ] || { log "no free port"; exit 1; }

log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') in $work on port $port (fsync on, synchronous_commit on)"
as_owner "$bin/initdb" -D "$work/data" -U bench --auth=trust >/dev/null
as_owner "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=64" start >/dev/null \
  || { log "PostgreSQL did not start:"; cat "$work/server.log" >&2; exit 1; }

psql() { as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U bench -d postgres "$@"; }
psql <<'SQL'
CREATE TABLE trade_events (
  seq bigserial PRIMARY KEY, trade_id text NOT NULL, version bigint NOT NULL, event_type text NOT NULL,
  account text NOT NULL, symbol text NOT NULL, side text NOT NULL, quantity numeric(38,8) NOT NULL, price numeric(38,8) NOT NULL,
  filled_quantity numeric(38,8) NOT NULL, filled_notional numeric(38,8) NOT NULL, last_quantity numeric(38,8), last_price numeric(38,8),
  status text NOT NULL, venue text, trader text, executed_at timestamp NOT NULL, created_at timestamp NOT NULL,
  recorded_at timestamp NOT NULL, idempotency_key text, UNIQUE (trade_id, version));
CREATE TABLE trade_state (
  trade_id text PRIMARY KEY, version bigint NOT NULL, last_seq bigint NOT NULL, account text NOT NULL, symbol text NOT NULL,
  side text NOT NULL, quantity numeric(38,8) NOT NULL, price numeric(38,8) NOT NULL, filled_quantity numeric(38,8) NOT NULL,
  filled_notional numeric(38,8) NOT NULL, status text NOT NULL, venue text, trader text, executed_at timestamp NOT NULL,
  created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE SEQUENCE trade_numbers;
SQL

# One new trade per transaction, as TradeStore's POST /v1/trades: the event row and the state row, committed together.
# The trade id comes from a sequence (nextval, then currval for the state row): random ids collided once within 3,499
# transactions (a duplicate key aborted the run), and TradeStore's bench never reuses an id either.
cat > "$work/trade.sql" <<'SQL'
\set n random(1, 2000000000)
BEGIN;
INSERT INTO trade_events (trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity, filled_notional,
  status, venue, trader, executed_at, created_at, recorded_at)
  VALUES ('P' || nextval('trade_numbers'), 1, 'create', 'ACC-' || (:n % 50), 'SYM' || (:n % 200), 'buy', 1000000, 101.25, 0, 0,
  'new', 'XNAS', 'bench', now(), now(), now());
INSERT INTO trade_state (trade_id, version, last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional,
  status, venue, trader, executed_at, created_at, updated_at)
  VALUES ('P' || currval('trade_numbers'), 1, currval('trade_events_seq_seq'), 'ACC-' || (:n % 50), 'SYM' || (:n % 200), 'buy',
  1000000, 101.25, 0, 0, 'new', 'XNAS', 'bench', now(), now(), now())
  ON CONFLICT (trade_id) DO UPDATE SET version = trade_state.version + 1, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at;
COMMIT;
SQL
[ "$(id -u)" -ne 0 ] || chown postgres: "$work/trade.sql"

for clients in $clients_list; do
  threads=$(( clients < 2 ? 1 : 2 ))
  out="$(as_owner "$bin/pgbench" -n -h 127.0.0.1 -p "$port" -U bench -c "$clients" -j "$threads" -T "$duration" -f "$work/trade.sql" postgres 2>&1)" \
    || { log "pgbench failed:"; printf '%s\n' "$out" >&2; exit 1; }
  tps="$(printf '%s\n' "$out" | awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]; exit}')"
  latency="$(printf '%s\n' "$out" | awk -F'= ' '/^latency average/ {split($2, a, " "); print a[1]; exit}')"
  echo "postgres clients=$clients tps=$tps latency_avg_ms=$latency duration_s=$duration loadavg=$(cut -d' ' -f1 /proc/loadavg)"
done
