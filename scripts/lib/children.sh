# Sourced by the benchmark scripts; call stop_children first in the script's EXIT trap.
#
# A SIGTERM (kill, timeout, a CI job's cancel) ends bash at once and runs its EXIT trap, but the command it was running
# in the foreground (a tradestore-bench run, bench-postgres.sh with its PostgreSQL) is not signalled and ran on to its
# end, orphaned: a benchmark still loading the machine, and its servers and temporary files, after the script had
# ended. stop_children sends SIGTERM to each process this shell started that still runs (each stops its own servers and
# files on SIGTERM), waits for them (up to 60 s, then SIGKILL) and returns.
# Ctrl-C at a terminal reaches every process of the foreground group at once; a SIGINT sent to the script alone is
# handled by bash only after its foreground command ends.
stop_children() {
  local children pid
  children="$(pgrep -P $$)" || return 0
  # shellcheck disable=SC2086 # one pid per word
  kill -TERM $children 2>/dev/null
  for pid in $children; do
    for _ in $(seq 1 600); do
      child_runs "$pid" || continue 2
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
  done
  return 0
}

# Gone, or a zombie this shell has not reaped yet (it exited): either way it no longer runs.
child_runs() { [ -e "/proc/$1" ] && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
