#!/usr/bin/env bash
# TCP echo throughput of rlua-net next to a minimal epoll echo server, measured in the
# same run with the same closed-loop load generator. Three rlua-net servers are measured:
# the NodeMCU `net` module (callbacks), the Pragtical `net` module (core threads that
# poll and sleep between polls) and lua-net (`net.stream.inet` with one act task per
# client, waits yielding to the event loop).
#
#   cargo build --release
#   benches/echo.sh
#
# It builds the load generator and the reference server (benches/tools, binaries
# target/release/loadgen and target/release/echo-ref) with `cargo build --release -p
# rlua-net-bench`; rlua-net itself is not built here. Then, for each server in turn (the
# reference echo-ref, `rlua-net --dialect nodemcu benches/nodemcu_echo.lua`,
# `rlua-net --dialect pragtical benches/pragtical_echo.lua`,
# `rlua-net --dialect luanet benches/luanet_echo.lua`), it starts the server on a
# free loopback port, runs the load generator against it, then leaves the server idle for
# IDLE_SECS with one idle client connected and measures its CPU use, reads its peak RSS
# and stops it. The report is a Markdown table of round trips per second, latency
# p50/p99, CPU under load, peak RSS and idle CPU, and the ratios rlua-net / reference.
#
# Settings (environment):
#   RLUA_NET        binary to measure                     (default: target/release/rlua-net)
#   CONNS           concurrent connections                (default: 50)
#   SIZE            message size in bytes                 (default: 64)
#   SECS            measured seconds per server           (default: 5)
#   WARMUP          seconds of load before measuring      (default: 1)
#   IDLE_SECS       seconds of idle CPU measurement       (default: 3; 0 skips it)
#   PRAGTICAL_POLL  poll interval of pragtical_echo.lua   (default: the script's, 0.01 s)
#
# The load generator keeps one message in flight per connection and checks every echoed
# byte; see benches/tools/src/bin/loadgen.rs. Everything stays on 127.0.0.1. Peak RSS comes from
# GNU time (`/usr/bin/time -f %M`, apt package `time`) when it is installed, else from
# VmHWM in /proc/<pid>/status read just before the server is stopped. "server CPU" is the
# server's user+system time over the load generator's run (warm-up included) divided by
# that run's wall time: 100% means the server kept one core busy. "idle CPU" is the same
# over the idle window: after the load generator has gone, the script opens one
# connection with bash's /dev/tcp, checks that one byte comes back, waits 0.5 s for the
# server to settle, then reads the server's utime+stime from /proc/<pid>/stat at the start
# and the end of IDLE_SECS seconds (clock ticks, usually 10 ms each: over 3 s the
# resolution is about 0.3%).

set -euo pipefail

cd "$(dirname "$0")/.."

RLUA_NET=${RLUA_NET:-target/release/rlua-net}
CONNS=${CONNS:-50}
SIZE=${SIZE:-64}
SECS=${SECS:-5}
WARMUP=${WARMUP:-1}
IDLE_SECS=${IDLE_SECS:-3}
PRAGTICAL_POLL=${PRAGTICAL_POLL:-}
BIN=target/release
SETTLE=0.5 # seconds between the idle client's first echo and the idle window

. benches/common.sh

[ -x "$RLUA_NET" ] || die "$RLUA_NET not found; run 'cargo build --release' first"
command -v cargo >/dev/null 2>&1 || die "cargo not found (the load generator and reference server are built with it)"
[ -r /proc/self/stat ] || die "needs Linux /proc"
if ! [[ "$IDLE_SECS" =~ ^[0-9]+([.][0-9]+)?$ ]] || ! awk -v s="$IDLE_SECS" 'BEGIN { exit !(s <= 600) }'; then
  die "IDLE_SECS must be a number of seconds from 0 to 600 (got '$IDLE_SECS')"
fi
if [ -n "$PRAGTICAL_POLL" ]; then
  if ! [[ "$PRAGTICAL_POLL" =~ ^[0-9]*[.]?[0-9]+$ ]] || ! awk -v s="$PRAGTICAL_POLL" 'BEGIN { exit !(s > 0 && s <= 10) }'; then
    die "PRAGTICAL_POLL must be a number of seconds above 0, at most 10 (got '$PRAGTICAL_POLL')"
  fi
fi
IDLE_ON=$(awk -v s="$IDLE_SECS" 'BEGIN { print (s > 0) ? 1 : "" }')

build_tools

if /usr/bin/time -f %M true >/dev/null 2>&1; then
  GNU_TIME=1
  rss_note="GNU time -f %M"
else
  GNU_TIME=
  rss_note="VmHWM from /proc/<pid>/status just before the server is stopped"
fi

track_processes

# measure_idle NAME PID PORT: with one client connected and silent, the server's CPU
# share over IDLE_SECS, written to $tmp/NAME.idle ("-" when IDLE_SECS is 0).
measure_idle() {
  local name=$1 pid=$2 port=$3 fd reply c0 c1 t0 t1
  if [ -z "$IDLE_ON" ]; then
    echo "-" >"$tmp/$name.idle"
    return
  fi
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || die "$name: the idle client could not connect"
  # One byte there and back: the server has accepted the client and serves it.
  printf 'i' >&"$fd"
  reply=
  read -r -t 5 -N 1 reply <&"$fd" || true
  [ "$reply" = i ] || die "$name: no echo for the idle client within 5 s"
  pause "$SETTLE"
  c0=$(cpu_ticks "$pid")
  t0=$(date +%s%N)
  pause "$IDLE_SECS"
  c1=$(cpu_ticks "$pid")
  t1=$(date +%s%N)
  exec {fd}>&-
  awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v ns="$((t1 - t0))" \
    'BEGIN { printf "%.1f%%\n", 100 * c / hz / (ns / 1e9) }' >"$tmp/$name.idle"
}

# run_server NAME COMMAND...: starts the server, loads it, measures it idle, stops it.
# Leaves the loadgen's result line in $tmp/NAME.out, the peak RSS (KiB) in $tmp/NAME.rss,
# the CPU share under load in $tmp/NAME.cpu and the idle one in $tmp/NAME.idle.
run_server() {
  local name=$1 wrapper pid port
  shift
  if [ -n "$GNU_TIME" ]; then
    /usr/bin/time -f %M -o "$tmp/$name.time" "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
    wrapper=$!
    pids+=("$wrapper")
    # The server is GNU time's only child.
    pid=
    for _ in $(seq 100); do
      pid=$(awk '{ print $1 }' "/proc/$wrapper/task/$wrapper/children" 2>/dev/null) || true
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
  for _ in $(seq 200); do
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
  note "$name: listening on 127.0.0.1:$port (pid $pid); ${WARMUP} s warm-up + ${SECS} s of load${IDLE_ON:+, then ${IDLE_SECS} s idle}"

  local c0 c1 t0 t1 status=0
  c0=$(cpu_ticks "$pid")
  t0=$(date +%s%N)
  # In the background so that a signal to this script is handled at once.
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
  if [ "$status" = 0 ]; then
    measure_idle "$name" "$pid" "$port"
    kill -0 "$pid" 2>/dev/null || die "$name: the server died while idle"
  fi
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

run_server ref "$BIN/echo-ref" 0
run_server nodemcu "$RLUA_NET" --dialect nodemcu benches/nodemcu_echo.lua 0
# shellcheck disable=SC2086 # PRAGTICAL_POLL is a validated number or empty
run_server pragtical "$RLUA_NET" --dialect pragtical benches/pragtical_echo.lua 0 $PRAGTICAL_POLL
run_server luanet "$RLUA_NET" --dialect luanet benches/luanet_echo.lua 0

# ----- report --------------------------------------------------------------------------

field() { tr ' ' '\n' <"$tmp/$1.out" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# One tab-separated line per server, the reference first: label, short name, round trips,
# round trips/s, p50, p99, CPU under load, peak RSS, idle CPU.
row() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$3" "$(field "$1" roundtrips)" \
    "$(field "$1" rps)" "$(field "$1" p50_us)" "$(field "$1" p99_us)" "$(cat "$tmp/$1.cpu")" \
    "$(cat "$tmp/$1.rss")" "$(cat "$tmp/$1.idle")"
}
{
  row ref "epoll reference (echo-ref)" "reference"
  row nodemcu "rlua-net nodemcu (nodemcu_echo.lua)" "rlua-net nodemcu"
  row pragtical "rlua-net pragtical (pragtical_echo.lua)" "rlua-net pragtical"
  row luanet "rlua-net luanet (luanet_echo.lua)" "rlua-net luanet"
} >"$tmp/rows"

if [ -n "$PRAGTICAL_POLL" ]; then
  poll_note="$PRAGTICAL_POLL s (PRAGTICAL_POLL)"
else
  poll_note="0.01 s (the script's default)"
fi
awk -F '\t' -v conns="$CONNS" -v size="$SIZE" -v secs="$SECS" -v warm="$WARMUP" \
    -v idle="$IDLE_SECS" -v settle="$SETTLE" -v poll="$poll_note" \
    -v rnote="$rss_note" '
BEGIN {
  printf "echo: %d connections, %d-byte messages, one in flight each; %s s measured after %s s warm-up\n",
    conns, size, secs, warm
  if (idle > 0)
    printf "idle CPU: %s s with one silent client connected, after the load (and %s s to settle)\n",
      idle, settle
  else
    printf "idle CPU: not measured (IDLE_SECS=0)\n"
  printf "pragtical poll interval: %s\n", poll
  printf "peak RSS: %s\n\n", rnote
  printf "| %-40s | %11s | %13s | %9s | %9s | %10s | %14s | %8s |\n", "server", "round trips",
    "round trips/s", "p50 (us)", "p99 (us)", "server CPU", "peak RSS (KiB)", "idle CPU"
  printf "|%s|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------------------",
    "-------------", "---------------", "-----------", "-----------", "------------",
    "----------------", "----------"
}
{
  printf "| %-40s | %11d | %13.0f | %9.1f | %9.1f | %9d%% | %14d | %8s |\n",
    $1, $3, $4, $5, $6, $7, $8, $9
  name[NR] = $2; rps[NR] = $4; p50[NR] = $5; p99[NR] = $6; rss[NR] = $8
}
END {
  printf "\n"
  for (i = 2; i <= NR; i++)
    printf "%s / reference: round trips/s %.2fx, p50 %.2fx, p99 %.2fx, peak RSS %.2fx\n",
      name[i], rps[i] / rps[1], p50[i] / p50[1], p99[i] / p99[1], rss[i] / rss[1]
}' "$tmp/rows"
