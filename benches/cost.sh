#!/usr/bin/env bash
# What one echoed message costs each server: CPU time per round trip, split into user and
# system time (from /proc/<pid>/stat), and, when perf can count syscall tracepoints, the
# system calls per round trip. This is how the misses in benches/README.md were measured:
# throughput ratios say that a server is slower, these figures say where the time goes.
#
#   cargo build --release && cargo build --release -p rlua-net-bench
#   benches/cost.sh                       # every server run.sh knows that is installed
#   SERVERS="ref nodemcu" benches/cost.sh
#
# Each server runs alone under `loadgen -c CONNS -s 64 -d SECS -w 0` (defaults 50 and 3).
# The user/system split has the kernel's tick resolution (usually 10 ms) over the run: with
# ~10^6 round trips that is well under 0.1 µs per round trip.

set -euo pipefail

cd "$(dirname "$0")/.."

RLUA_NET=${RLUA_NET:-target/release/rlua-net}
LUA=${LUA:-lua5.4}
CONNS=${CONNS:-50}
SECS=${SECS:-3}
SERVERS=${SERVERS:-ref luv cqueues nodemcu luanet}
BIN=target/release

die() { echo "cost.sh: $*" >&2; exit 1; }

if [ ! -x "$BIN/loadgen" ] || [ ! -x "$BIN/echo-ref" ]; then
  die "build the tools: cargo build --release -p rlua-net-bench"
fi
[ -x "$RLUA_NET" ] || die "$RLUA_NET not found; run 'cargo build --release' first"

EVENTS=syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait
PERF=
if perf stat -x, -e "$EVENTS" true >/dev/null 2>&1; then
  PERF=1
fi

tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# The command line of a server, or nothing when it is not installed.
server_cmd() {
  case $1 in
    ref) echo "$BIN/echo-ref" ;;
    nodemcu) echo "$RLUA_NET --dialect nodemcu benches/nodemcu_echo.lua" ;;
    luanet) echo "$RLUA_NET --dialect luanet benches/luanet_echo.lua" ;;
    luv) "$LUA" -e 'require "luv"' 2>/dev/null && echo "$LUA benches/luv_echo.lua" ;;
    cqueues) "$LUA" -e 'require "cqueues"' 2>/dev/null && echo "$LUA benches/cqueues_echo.lua" ;;
    *) die "unknown server '$1'" ;;
  esac
  return 0
}

ticks() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"; }

echo "| server | round trips/s | user µs/rt | system µs/rt | syscalls/rt |"
echo "| --- | --- | --- | --- | --- |"
for name in $SERVERS; do
  cmd=$(server_cmd "$name")
  if [ -z "$cmd" ]; then
    echo "cost.sh: $name skipped (not installed)" >&2
    continue
  fi
  # shellcheck disable=SC2086 # the command line is split on purpose
  if [ -n "$PERF" ]; then
    perf stat -x, -e "$EVENTS" -o "$tmp/perf" $cmd >"$tmp/port" 2>"$tmp/err" &
  else
    $cmd >"$tmp/port" 2>"$tmp/err" &
  fi
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(head -1 "$tmp/port" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || die "$name did not print its port: $(cat "$tmp/err")"
  # The server itself: perf's child when perf runs it.
  spid=$pid
  if [ -n "$PERF" ]; then
    spid=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children")
  fi
  read -r u0 s0 < <(ticks "$spid")
  line=$("$BIN/loadgen" -p "$port" -c "$CONNS" -s 64 -d "$SECS" -w 0 2>"$tmp/lg") ||
    die "$name: loadgen failed: $(tail -3 "$tmp/lg")"
  read -r u1 s1 < <(ticks "$spid")
  kill "$spid"
  wait "$pid" 2>/dev/null || true
  pid=
  rt=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^roundtrips=/) { sub(/.*=/, "", $i); print $i } }' <<<"$line")
  rps=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) { sub(/.*=/, "", $i); print $i } }' <<<"$line")
  calls=-
  if [ -n "$PERF" ]; then
    calls=$(awk -F, -v rt="$rt" '/^[0-9]/ && $1 > 0 { e = $3; sub(/^syscalls:sys_enter_/, "", e); printf "%s%s %.2f", sep, e, $1 / rt; sep = ", " }' "$tmp/perf")
  fi
  awk -v n="$name" -v rps="$rps" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" -v rt="$rt" -v c="$calls" \
    'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %s |\n", n, rps, u / hz * 1e6 / rt, s / hz * 1e6 / rt, c }'
done
