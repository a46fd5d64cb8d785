#!/usr/bin/env bash
# TCP echo throughput of rlua-net's NodeMCU `net` module next to a minimal C epoll echo
# server, measured in the same run with the same closed-loop load generator:
#
#   cargo build --release
#   benches/echo.sh
#
# It compiles benches/ref/echo_epoll.c and benches/ref/loadgen.c with `cc -O2` into
# target/bench/ (nothing is downloaded; rlua-net itself is not built here). Then, for each
# server in turn (the C reference, then `rlua-net --dialect nodemcu
# benches/nodemcu_echo.lua`), it starts the server on a free loopback port, runs the load
# generator against it, reads the server's peak RSS and stops it. The report is a
# Markdown table of round trips per second, latency p50/p99 and peak RSS, and the ratios
# rlua-net / reference.
#
# Settings (environment):
#   RLUA_NET   binary to measure                       (default: target/release/rlua-net)
#   CONNS      concurrent connections                  (default: 50)
#   SIZE       message size in bytes                   (default: 64)
#   SECS       measured seconds per server             (default: 5)
#   WARMUP     seconds of load before measuring        (default: 1)
#   CC         C compiler                              (default: cc)
#
# The load generator keeps one message in flight per connection and checks every echoed
# byte; see benches/ref/loadgen.c. Everything stays on 127.0.0.1. Peak RSS comes from
# GNU time (`/usr/bin/time -f %M`, apt package `time`) when it is installed, else from
# VmHWM in /proc/<pid>/status read just before the server is stopped. "server CPU" is the
# server's user+system time over the load generator's run (warm-up included) divided by
# that run's wall time: 100% means the server kept one core busy.

set -euo pipefail

cd "$(dirname "$0")/.."

RLUA_NET=${RLUA_NET:-target/release/rlua-net}
CONNS=${CONNS:-50}
SIZE=${SIZE:-64}
SECS=${SECS:-5}
WARMUP=${WARMUP:-1}
CC=${CC:-cc}
BIN=target/bench

die() { echo "echo.sh: $*" >&2; exit 1; }
note() { echo "echo.sh: $*" >&2; }

[ -x "$RLUA_NET" ] || die "$RLUA_NET not found; run 'cargo build --release' first"
command -v "$CC" >/dev/null 2>&1 || die "no C compiler '$CC' (apt-get install gcc)"
[ -r /proc/self/stat ] || die "needs Linux /proc"

mkdir -p "$BIN"
"$CC" -O2 -Wall -o "$BIN/echo_epoll" benches/ref/echo_epoll.c
"$CC" -O2 -Wall -o "$BIN/loadgen" benches/ref/loadgen.c -lm

if /usr/bin/time -f %M true >/dev/null 2>&1; then
  GNU_TIME=1
  rss_note="GNU time -f %M"
else
  GNU_TIME=
  rss_note="VmHWM from /proc/<pid>/status just before the server is stopped"
fi

tmp=$(mktemp -d)
pids=()   # every process started here that may still be running
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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU time (user + system) of a process in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# run_server NAME COMMAND...: starts the server, loads it, stops it. Leaves the loadgen's
# result line in $tmp/NAME.out, the peak RSS (KiB) in $tmp/NAME.rss, the CPU share in
# $tmp/NAME.cpu.
run_server() {
  local name=$1 wrapper pid i port
  shift
  if [ -n "$GNU_TIME" ]; then
    /usr/bin/time -f %M -o "$tmp/$name.time" "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
    wrapper=$!
    pids+=("$wrapper")
    # The server is GNU time's only child.
    pid=
    for i in $(seq 100); do
      pid=$(cat "/proc/$wrapper/task/$wrapper/children" 2>/dev/null | awk '{ print $1 }') || true
      [ -n "$pid" ] && break
      sleep 0.05
    done
    [ -n "$pid" ] || die "$name: could not find the server under GNU time"
  else
    "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
    wrapper=
    pid=$!
  fi
  pids+=("$pid")

  port=
  for i in $(seq 200); do
    port=$(head -n 1 "$tmp/$name.port")
    [[ "$port" =~ ^[0-9]+$ ]] && break
    port=
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    cat "$tmp/$name.err" >&2
    die "$name: the server printed no port (command: $*)"
  fi
  note "$name: listening on 127.0.0.1:$port (pid $pid); ${WARMUP} s warm-up + ${SECS} s of load"

  local c0 c1 t0 t1 status=0
  c0=$(cpu_ticks "$pid")
  t0=$(date +%s%N)
  # In the background so that a signal to this script is handled at once (bash runs
  # traps only after a foreground command ends, but interrupts `wait`).
  "$BIN/loadgen" -p "$port" -c "$CONNS" -s "$SIZE" -d "$SECS" -w "$WARMUP" \
    >"$tmp/$name.out" 2>"$tmp/$name.lg" &
  pids+=("$!")
  wait "$!" || status=$?
  t1=$(date +%s%N)
  sed 's/^/    /' "$tmp/$name.lg" >&2
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$tmp/$name.err" >&2
    die "$name: the server died during the run"
  fi
  c1=$(cpu_ticks "$pid")
  awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v ns="$((t1 - t0))" \
    'BEGIN { printf "%.0f\n", 100 * c / hz / (ns / 1e9) }' >"$tmp/$name.cpu"
  [ -n "$GNU_TIME" ] || awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" >"$tmp/$name.rss"

  kill "$pid"
  wait "${wrapper:-$pid}" 2>/dev/null || true
  pids=()
  [ -z "$GNU_TIME" ] || tail -n 1 "$tmp/$name.time" >"$tmp/$name.rss"
  if [ -s "$tmp/$name.err" ]; then
    note "$name: the server wrote to stderr:"
    sed 's/^/    /' "$tmp/$name.err" | head -n 20 >&2
  fi
  [ "$status" = 0 ] || die "$name: the load generator failed (exit status $status); see above"
}

run_server ref "$BIN/echo_epoll" 0
run_server rlua "$RLUA_NET" --dialect nodemcu benches/nodemcu_echo.lua 0

# ----- report --------------------------------------------------------------------------

field() { tr ' ' '\n' <"$tmp/$1.out" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

awk -v conns="$CONNS" -v size="$SIZE" -v secs="$SECS" -v warm="$WARMUP" -v rnote="$rss_note" \
    -v rlua="$RLUA_NET" \
    -v rn="$(field ref roundtrips)" -v rr="$(field ref rps)" -v r50="$(field ref p50_us)" \
    -v r99="$(field ref p99_us)" -v rm="$(cat "$tmp/ref.rss")" -v rc="$(cat "$tmp/ref.cpu")" \
    -v ln="$(field rlua roundtrips)" -v lr="$(field rlua rps)" -v l50="$(field rlua p50_us)" \
    -v l99="$(field rlua p99_us)" -v lm="$(cat "$tmp/rlua.rss")" -v lc="$(cat "$tmp/rlua.cpu")" 'BEGIN {
  printf "echo: %d connections, %d-byte messages, one in flight each; %s s measured after %s s warm-up\n",
    conns, size, secs, warm
  printf "peak RSS: %s\n\n", rnote
  printf "| %-36s | %11s | %13s | %9s | %9s | %10s | %14s |\n",
    "server", "round trips", "round trips/s", "p50 (us)", "p99 (us)", "server CPU", "peak RSS (KiB)"
  printf "|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------------", "-------------",
    "---------------", "-----------", "-----------", "------------", "----------------"
  printf "| %-36s | %11d | %13.0f | %9.1f | %9.1f | %9d%% | %14d |\n",
    "C epoll reference (echo_epoll.c)", rn, rr, r50, r99, rc, rm
  printf "| %-36s | %11d | %13.0f | %9.1f | %9.1f | %9d%% | %14d |\n",
    "rlua-net nodemcu (nodemcu_echo.lua)", ln, lr, l50, l99, lc, lm
  printf "\nrlua-net / reference: round trips/s %.2fx, p50 %.2fx, p99 %.2fx, peak RSS %.2fx\n",
    lr / rr, l50 / r50, l99 / r99, lm / rm
}'
