# Shared by scripts/test.sh and the benchmark scripts: free loopback ports, Debian packages, and throw-away
# redis-server, clickhouse-server and etcd instances. Source it after setting:
#   work   a temporary directory the servers keep their data in (removed by the caller's cleanup)
#   pids   an array the started servers' pids are appended to (the caller's cleanup stops them)
# Each start_* function prints nothing on success and sets a variable with the server's address.

servers_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below the kernel's ephemeral range (net.ipv4.ip_local_port_range), where outgoing connections take their local
# ports: one of them could otherwise take a server's port between this check and the server's bind.
free_port() {
  local port low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  if [ "${low:-0}" -le 21000 ]; then low=32768; fi
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % (low - 20000)))
    if port_is_free "$port"; then echo "$port"; return 0; fi
  done
  return 1
}

wait_for() { # name, seconds, command...
  local name="$1" seconds="$2"; shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then servers_log "$name is up"; return 0; fi
    sleep 0.1
  done
  servers_log "$name did not answer within ${seconds}s"
  return 1
}

# Installs the given Debian packages with apt-get (as root, or through sudo).
install_debian_packages() {
  [ "$#" -gt 0 ] || return 0
  servers_log "installing $* from Debian packages"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2 || return 1
}

# The Debian packages of the named servers and tools (redis, clickhouse, etcd, chromium, promtool) that are not installed.
missing_server_packages() {
  local wanted
  for wanted in "$@"; do
    case "$wanted" in
      redis) command -v redis-server >/dev/null 2>&1 || echo redis-server ;;
      clickhouse) [ -x /usr/bin/clickhouse-server ] || [ -x /usr/sbin/clickhouse-server ] || command -v clickhouse-server >/dev/null 2>&1 || echo clickhouse-server ;;
      etcd) command -v etcd >/dev/null 2>&1 || echo etcd-server ;;
      chromium) [ -x /usr/bin/chromium ] || echo chromium ;;
      promtool) [ -x /usr/bin/promtool ] || echo prometheus ;;
    esac
  done
}

# Sets redis_address (127.0.0.1:port).
start_redis() {
  local port; port="$(free_port)" || return 1
  mkdir -p "$work/redis"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$work/redis" --save "" --appendonly no \
    --daemonize no --logfile "$work/redis/redis.log" &
  pids+=($!)
  wait_for "redis-server on port $port" 20 redis-cli -h 127.0.0.1 -p "$port" ping || { tail -20 "$work/redis/redis.log" >&2; return 1; }
  redis_address="127.0.0.1:$port"
}

# Sets clickhouse_url (http://127.0.0.1:port).
start_clickhouse() {
  local http tcp inter binary
  http="$(free_port)" && tcp="$(free_port)" && inter="$(free_port)" || return 1
  binary="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"
  local dir="$work/clickhouse"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  # Debian's ClickHouse 18.16 reads its packaged config and takes these overrides: a data path, ports and loopback only.
  "$binary" --config=/etc/clickhouse-server/config.xml -- \
    --path="$dir/data/" --tmp_path="$dir/tmp/" --user_files_path="$dir/user_files/" \
    --format_schema_path="$dir/format_schemas/" \
    --http_port="$http" --tcp_port="$tcp" --interserver_http_port="$inter" \
    --listen_host=127.0.0.1 --logger.log="$dir/log" --logger.errorlog="$dir/err" >"$dir/stdout" 2>&1 &
  pids+=($!)
  wait_for "clickhouse-server on port $http" 60 curl -sf "http://127.0.0.1:$http/?query=SELECT%201" || { tail -20 "$dir/err" "$dir/stdout" >&2; return 1; }
  clickhouse_url="http://127.0.0.1:$http"
}

# Sets etcd_url (http://127.0.0.1:port): one member on loopback with a throw-away data directory.
start_etcd() {
  local client peer
  client="$(free_port)" && peer="$(free_port)" || return 1
  local dir="$work/etcd"
  mkdir -p "$dir"
  etcd --name tradestore-test --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "tradestore-test=http://127.0.0.1:$peer" --initial-cluster-state new >"$dir/log" 2>&1 &
  pids+=($!)
  wait_for "etcd on port $client" 30 curl -sf "http://127.0.0.1:$client/health" || { tail -20 "$dir/log" >&2; return 1; }
  etcd_url="http://127.0.0.1:$client"
}

# Stops every pid in pids (SIGTERM, then SIGKILL after 10 s).
stop_servers() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
}
