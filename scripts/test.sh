#!/usr/bin/env bash
# Runs the whole TradeStore test suite against a real redis-server, clickhouse-server and etcd.
#
# Installs them (and chromium for the console tests, prometheus's promtool for the alert rules) from Debian's
# packages when missing, starts each server on a free loopback port with a throw-away data directory, exports
# TRADESTORE_TEST_REDIS / TRADESTORE_TEST_CLICKHOUSE / TRADESTORE_TEST_ETCD, runs `dotnet test`, then the Python
# client's pytest suite (clients/python) against a real `tradestore serve` started for it (python3-pytest,
# python3-pandas, python3-venv and python3-wheel from Debian when missing), stops what it started (also when
# tests fail), and ends with the line
#   tests: N passed, N failed[, N skipped]
# taken from the TRX results plus pytest's JUnit XML. Exits non-zero when any test failed or none ran.
#
# Usage: scripts/test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Config]
# pytest runs when no extra arguments are given; PYTEST=1 runs it with them too, PYTEST=0 never.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
configuration="${CONFIGURATION:-Release}"
work="$(mktemp -d /tmp/tradestore-test.XXXXXX)"
results="$root/artifacts/test-results"
pids=()

log() { printf '[test.sh] %s\n' "$*" >&2; }

# free_port, wait_for, install_debian_packages, start_redis/clickhouse/etcd, stop_servers.
source "$root/scripts/lib/servers.sh"

cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT

install_servers() {
  # The console tests drive Debian's Chromium through PuppeteerSharp (a browser download is not possible);
  # deploy/prometheus is checked with promtool.
  local missing
  mapfile -t missing < <(missing_server_packages redis clickhouse etcd chromium promtool)
  install_debian_packages "${missing[@]}"
}

install_python() { # pytest and pandas, and what the documented client install needs (venv, wheel)
  /usr/bin/python3 -c 'import pytest, pandas, wheel' >/dev/null 2>&1 && dpkg -s python3-venv >/dev/null 2>&1 && return 0
  install_debian_packages python3 python3-pytest python3-pandas python3-venv python3-wheel
}

# Prints each failed test with the first lines of its message and stack, so the end of a long log
# (all a CI page may keep) says what failed and why.
failure_recap() { # trx files...
  awk '
    /<UnitTestResult / && /outcome="Failed"/ {
      name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
      printf "\n[test.sh] FAILED %s\n", name; failing = 1; shown = 0; next
    }
    failing && /<\/UnitTestResult>/ { failing = 0; next }
    failing && (/<Message>/ || /<StackTrace>/) { quoting = 1 }
    failing && quoting && shown < 25 { line = $0; gsub(/<\/?(Message|StackTrace|ErrorInfo)>/, "", line); print "    " line; shown++ }
    failing && (/<\/Message>/ || /<\/StackTrace>/) { quoting = 0 }
  ' "$@" | sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}

summary() { # passed failed skipped
  local line="tests: $1 passed, $2 failed"
  [ "$3" -gt 0 ] && line="$line, $3 skipped"
  echo "$line"
}

servers_ok=1
if install_servers; then
  if start_redis; then export TRADESTORE_TEST_REDIS="$redis_address"; else servers_ok=0; fi
  if start_clickhouse; then export TRADESTORE_TEST_CLICKHOUSE="$clickhouse_url"; else servers_ok=0; fi
  if start_etcd; then export TRADESTORE_TEST_ETCD="$etcd_url"; else servers_ok=0; fi
else
  servers_ok=0
fi
if [ "$servers_ok" -eq 0 ]; then
  log "a test server could not be started; tests that need it will fail under CI=true and skip otherwise"
fi

rm -rf "$results"
mkdir -p "$results"
log "building ($configuration)"
if ! dotnet build TradeStore.slnx -c "$configuration" -nologo -clp:ErrorsOnly; then
  log "build failed"
  summary 0 1 0
  exit 1
fi

log "running tests"
dotnet test TradeStore.slnx -c "$configuration" --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
test_exit=$?

# The Python client's tests, against a real `tradestore serve` on a fresh data directory.
run_pytest="${PYTEST:-auto}"
[ "$run_pytest" = "auto" ] && { [ "$#" -eq 0 ] && run_pytest=1 || run_pytest=0; }
pytest_exit=0
if [ "$run_pytest" = "1" ]; then
  if ! install_python; then
    log "python3-pytest / python3-pandas could not be installed"
    pytest_exit=1
  else
    port="$(free_port)"
    mkdir -p "$work/pytest-serve"
    TRADESTORE__SECURITY__QUERY__MAXROWS=1000000 \
      dotnet "src/TradeStore.Cli/bin/$configuration/net10.0/tradestore.dll" serve --data "$work/pytest-serve" \
      --urls "http://127.0.0.1:$port" >"$work/pytest-serve.log" 2>&1 &
    pids+=($!)
    if wait_for "tradestore serve on port $port" 60 curl -sf "http://127.0.0.1:$port/health/live"; then
      log "running pytest (clients/python)"
      TRADESTORE_TEST_URL="http://127.0.0.1:$port" CONFIGURATION="$configuration" \
        /usr/bin/python3 -m pytest clients/python/tests -p no:cacheprovider -rfE \
        --junitxml="$results/pytest.xml" -o junit_family=xunit2
      pytest_exit=$?
    else
      tail -20 "$work/pytest-serve.log" >&2
      pytest_exit=1
    fi
  fi
fi

passed=0; failed=0; skipped=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  e="$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")"
  t="$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")"
  x="$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
  skipped=$((skipped + ${t:-0} - ${x:-0}))
done

# pytest's JUnit XML: <testsuite … errors="E" failures="F" skipped="S" tests="N" …>
for junit in "$results"/pytest.xml; do
  [ -f "$junit" ] || continue
  suite="$(grep -o '<testsuite [^>]*>' "$junit" | head -1)"
  n="$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$suite")"
  f="$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$suite")"
  e="$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$suite")"
  s="$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$suite")"
  passed=$((passed + ${n:-0} - ${f:-0} - ${e:-0} - ${s:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
  skipped=$((skipped + ${s:-0}))
done
if [ "$pytest_exit" -ne 0 ] && ! grep -q 'failures="[1-9]\|errors="[1-9]' "$results/pytest.xml" 2>/dev/null; then
  log "pytest exited $pytest_exit without a failed test in its results; counting it as one failure"
  failed=$((failed + 1))
fi

if [ "$test_exit" -ne 0 ] && [ "$failed" -eq 0 ]; then
  log "dotnet test exited $test_exit without a failed test in the results; counting the run as failed"
  failed=1
fi

if [ "$failed" -gt 0 ]; then
  failure_recap "$results"/*.trx
  echo
fi
summary "$passed" "$failed" "$skipped"
if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
exit 0
