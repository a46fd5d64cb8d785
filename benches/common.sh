# Sourced by run.sh, echo.sh and hs_clients.sh (after they cd to the repository root):
# messages, argument checks, the benchmark tools, and the processes a script starts,
# which are all stopped when it exits. Bash only.

# die MSG / note MSG: to stderr, prefixed with the script's name; die exits with 1.
die() { echo "$(basename "$0"): $*" >&2; exit 1; }
note() { echo "$(basename "$0"): $*" >&2; }

# whole NAME VALUE LO HI / secs NAME VALUE LO HI: dies unless VALUE is in range.
whole() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
    die "$1 must be a whole number from $3 to $4 (got '$2')"
  fi
}
secs() {
  if ! [[ "$2" =~ ^[0-9]*[.]?[0-9]+$ ]] || ! awk -v s="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(s >= lo && s <= hi) }'; then
    die "$1 must be a number of seconds from $3 to $4 (got '$2')"
  fi
}

# build_tools: loadgen and echo-ref in target/release.
build_tools() {
  cargo build --release --quiet -p rlua-net-bench || die "could not build the benchmark tools (benches/tools)"
}

# track_processes: makes $tmp (a scratch directory) and $pids (every process started
# here that may still be running); on exit or a signal both are cleaned up.
track_processes() {
  tmp=$(mktemp -d)
  pids=()
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}

# pause SECS: sleeps in the background so that a signal to this script is handled at once
# (bash runs traps only after a foreground command ends, but interrupts `wait`).
pause() {
  sleep "$1" &
  pids+=("$!")
  wait "$!"
}

# cpu_ticks PID: CPU time (user + system) of a process in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
