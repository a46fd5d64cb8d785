#!/usr/bin/env bash
# Client-side TCP echo benchmark of the Hammerspoon dialect. An hs.socket server cannot
# answer one client apart from the others (its reads fan in from every client and its
# writes go to all of them), so an echo server cannot be written with it; instead CONNS
# hs.socket clients (benches/hammerspoon_clients.lua) ping-pong SIZE-byte lines against the
# reference epoll echo server (echo-ref), and the load generator does the same against the same server in
# the same run. The report is the ratio of the two.
#
#   cargo build --release
#   benches/hs_clients.sh
#
# It builds the load generator and echo-ref (benches/tools) with cargo as echo.sh does
# (rlua-net itself is not built here). Then, RUNS times, for each client in turn (first `loadgen`, then
# `rlua-net --dialect hammerspoon benches/hammerspoon_clients.lua`), it starts a fresh
# echo-ref on a free loopback port, runs the client against it with the same settings,
# reads the client's result line, CPU use and peak RSS and the server's CPU use, and stops
# the server. Both clients print the same result line (see benches/tools/src/bin/loadgen.rs) and fail
# the run on a wrong, short or missing echo. The report is a Markdown table, one row per
# client and run, and the ratio hs.socket / loadgen of each run.
#
# Settings (environment):
#   RLUA_NET   binary to measure                               (default: target/release/rlua-net)
#   CONNS      concurrent connections                          (default: 50)
#   SIZE       line size in bytes, "\n" included (loadgen sends the same number of bytes)
#                                                              (default: 64)
#   SECS       measured seconds per client                     (default: 5)
#   WARMUP     seconds of load before measuring                (default: 1)
#   RUNS       loadgen + hs.socket pairs, one after the other  (default: 1)
#
# "client CPU" is the client's user+system time over its whole run (connecting and warm-up
# included) divided by that run's wall time: 100% means the client kept one core busy.
# "server CPU" is echo-ref's, over the same wall time. Peak RSS is the client's, from
# GNU time (`/usr/bin/time`, apt package `time`) when it is installed; without it, CPU
# and VmHWM are read from /proc/<pid> every 0.1 s while the client runs (the last reading
# before it exits counts, so up to 0.1 s of CPU at the end, after the measured window, is
# missed). A client still running WARMUP + SECS + 30 s after it started is killed and the
# script fails.

set -euo pipefail

cd "$(dirname "$0")/.."

RLUA_NET=${RLUA_NET:-target/release/rlua-net}
CONNS=${CONNS:-50}
SIZE=${SIZE:-64}
SECS=${SECS:-5}
WARMUP=${WARMUP:-1}
RUNS=${RUNS:-1}
BIN=target/release

. benches/common.sh

[ -x "$RLUA_NET" ] || die "$RLUA_NET not found; run 'cargo build --release' first"
command -v cargo >/dev/null 2>&1 || die "cargo not found (the load generator and reference server are built with it)"
[ -r /proc/self/stat ] || die "needs Linux /proc"
whole CONNS "$CONNS" 1 10000
whole SIZE "$SIZE" 1 1048576
secs SECS "$SECS" 0.1 600
secs WARMUP "$WARMUP" 0 600
whole RUNS "$RUNS" 1 100
LIMIT_NS=$(awk -v w="$WARMUP" -v s="$SECS" 'BEGIN { printf "%.0f", (w + s + 30) * 1e9 }')

build_tools

if /usr/bin/time -f %M true >/dev/null 2>&1; then
  GNU_TIME=1
  rss_note="GNU time (%M); client CPU from GNU time's %U + %S over %e"
else
  GNU_TIME=
  rss_note="VmHWM from /proc/<pid>/status, read every 0.1 s while the client runs"
fi

track_processes

CLK_TCK=$(getconf CLK_TCK)

# start_server NAME: starts a fresh echo-ref; sets SERVER_PID and SERVER_PORT.
start_server() {
  local name=$1
  "$BIN/echo-ref" 0 >"$tmp/$name.port" 2>"$tmp/$name.serr" &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  SERVER_PORT=
  for _ in $(seq 100); do
    SERVER_PORT=$(head -n 1 "$tmp/$name.port")
    [[ "$SERVER_PORT" =~ ^[0-9]+$ ]] && break
    SERVER_PORT=
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$SERVER_PORT" ]; then
    cat "$tmp/$name.serr" >&2
    die "$name: echo-ref printed no port"
  fi
}

# run_client NAME COMMAND...: runs the client (the words PORT in COMMAND become the
# server's port) against a fresh echo-ref. Leaves the client's result line in
# $tmp/NAME.out, its CPU share in $tmp/NAME.cpu, its peak RSS (KiB) in $tmp/NAME.rss and
# the server's CPU share in $tmp/NAME.scpu.
run_client() {
  local name=$1 arg wrapper pid status=0 s0 s1 t0 t1 ticks=0 hwm=0 k v _
  shift
  start_server "$name"
  local cmd=()
  for arg in "$@"; do
    [ "$arg" = PORT ] && arg=$SERVER_PORT
    cmd+=("$arg")
  done
  note "$name: against echo-ref on 127.0.0.1:$SERVER_PORT; ${WARMUP} s warm-up + ${SECS} s measured"

  s0=$(cpu_ticks "$SERVER_PID")
  t0=$(date +%s%N)
  if [ -n "$GNU_TIME" ]; then
    /usr/bin/time -f '%M %U %S %e' -o "$tmp/$name.time" "${cmd[@]}" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    wrapper=$!
    pids+=("$wrapper")
    # The client is GNU time's only child.
    pid=
    for _ in $(seq 100); do
      pid=$(awk '{ print $1 }' "/proc/$wrapper/task/$wrapper/children" 2>/dev/null) || true
      [ -n "$pid" ] && break
      kill -0 "$wrapper" 2>/dev/null || break
      sleep 0.01
    done
    [ -n "$pid" ] && pids+=("$pid")
  else
    "${cmd[@]}" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    wrapper=$!
    pid=$wrapper
    pids+=("$pid")
  fi

  # Watch the client until it ends; kill it if it overruns.
  while kill -0 "$wrapper" 2>/dev/null; do
    if [ -z "$GNU_TIME" ] && [ -r "/proc/$pid/status" ]; then
      v=$(cpu_ticks "$pid" 2>/dev/null) || v=
      [ -n "$v" ] && ticks=$v
      while read -r k v _; do
        [ "$k" = VmHWM: ] && hwm=$v
      done <"/proc/$pid/status" 2>/dev/null || true
    fi
    if [ $(($(date +%s%N) - t0)) -gt "$LIMIT_NS" ]; then
      kill "${pid:-$wrapper}" "$wrapper" 2>/dev/null || true
      cat "$tmp/$name.err" >&2
      die "$name: the client was still running $((LIMIT_NS / 1000000000)) s after it started; killed"
    fi
    pause 0.1
  done
  wait "$wrapper" || status=$?
  t1=$(date +%s%N)
  sed 's/^/    /' "$tmp/$name.err" >&2
  kill -0 "$SERVER_PID" 2>/dev/null || die "$name: echo-ref died during the run"
  s1=$(cpu_ticks "$SERVER_PID")
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  pids=()
  [ "$status" = 0 ] || die "$name: the client failed (exit status $status); see above"

  # Anything else the client printed on stdout (e.g. hs.logger lines) is shown, not parsed.
  if grep -qv '^roundtrips=' "$tmp/$name.out"; then
    note "$name: the client also printed:"
    grep -v '^roundtrips=' "$tmp/$name.out" | head -n 20 | sed 's/^/    /' >&2
  fi
  grep '^roundtrips=' "$tmp/$name.out" | tail -n 1 >"$tmp/$name.line"
  [ -s "$tmp/$name.line" ] || die "$name: the client printed no result line"

  awk -v c="$((s1 - s0))" -v hz="$CLK_TCK" -v ns="$((t1 - t0))" \
    'BEGIN { printf "%.0f\n", 100 * c / hz / (ns / 1e9) }' >"$tmp/$name.scpu"
  if [ -n "$GNU_TIME" ]; then
    # The last line: earlier ones are GNU time's notes ("Command exited with non-zero status").
    tail -n 1 "$tmp/$name.time" | awk '{ print $1 }' >"$tmp/$name.rss"
    tail -n 1 "$tmp/$name.time" | awk '{ printf "%.0f\n", ($4 > 0) ? 100 * ($2 + $3) / $4 : 0 }' >"$tmp/$name.cpu"
  else
    echo "$hwm" >"$tmp/$name.rss"
    awk -v c="$ticks" -v hz="$CLK_TCK" -v ns="$((t1 - t0))" \
      'BEGIN { printf "%.0f\n", 100 * c / hz / (ns / 1e9) }' >"$tmp/$name.cpu"
  fi
}

for run in $(seq "$RUNS"); do
  run_client "loadgen$run" "$BIN/loadgen" -p PORT -c "$CONNS" -s "$SIZE" -d "$SECS" -w "$WARMUP"
  run_client "hs$run" "$RLUA_NET" --dialect hammerspoon benches/hammerspoon_clients.lua \
    PORT "$CONNS" "$SIZE" "$SECS" "$WARMUP"
done

# ----- report --------------------------------------------------------------------------

field() { tr ' ' '\n' <"$tmp/$1.line" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# One tab-separated line per client and run: run, label, round trips/s, p50, p99, client
# CPU, peak RSS, server CPU.
row() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$3" "$(field "$1" rps)" "$(field "$1" p50_us)" \
    "$(field "$1" p99_us)" "$(cat "$tmp/$1.cpu")" "$(cat "$tmp/$1.rss")" "$(cat "$tmp/$1.scpu")"
}
for run in $(seq "$RUNS"); do
  row "loadgen$run" "$run" "load generator (loadgen)"
  row "hs$run" "$run" "rlua-net hs.socket (hammerspoon_clients.lua)"
done >"$tmp/rows"

awk -F '\t' -v conns="$CONNS" -v size="$SIZE" -v secs="$SECS" -v warm="$WARMUP" \
    -v rnote="$rss_note" '
BEGIN {
  printf "client side: %d connections, %d-byte lines, one in flight each, against echo-ref; %s s measured after %s s warm-up\n",
    conns, size, secs, warm
  printf "peak RSS: %s\n\n", rnote
  printf "| %3s | %-44s | %13s | %9s | %9s | %10s | %14s | %10s | %10s |\n", "run", "client",
    "round trips/s", "p50 (us)", "p99 (us)", "client CPU", "peak RSS (KiB)", "server CPU",
    "vs loadgen"
  printf "|-----|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------------",
    "---------------", "-----------", "-----------", "------------", "----------------",
    "------------", "------------"
}
{
  # The loadgen row of a run comes first; the hs.socket row is compared with it.
  if (NR % 2 == 1) { base = $3; ratio = "1" } else { ratio = sprintf("%.2fx", $3 / base); r[NR / 2] = $3 / base }
  printf "| %3d | %-44s | %13.0f | %9.1f | %9.1f | %9d%% | %14d | %9d%% | %10s |\n",
    $1, $2, $3, $4, $5, $6, $7, $8, ratio
}
END {
  printf "\n"
  for (i = 1; i <= NR / 2; i++)
    printf "run %d: hs.socket clients / loadgen, round trips/s: %.2fx\n", i, r[i]
}' "$tmp/rows"
