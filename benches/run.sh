#!/usr/bin/env bash
# The benchmark matrix of issue #8 in one command: every echo server against the same
# reference in the same run, reported as ratios with the project's targets.
#
#   cargo build --release
#   benches/run.sh
#
# It builds the load generator and the reference server (benches/tools: target/release/loadgen
# and target/release/echo-ref) with `cargo build --release -p rlua-net-bench`; rlua-net
# itself is not built here. Servers, each started on a free loopback port:
#   ref        echo-ref: single-threaded level-triggered epoll, no Lua (the ceiling)
#   nodemcu    rlua-net --dialect nodemcu   benches/nodemcu_echo.lua
#   pragtical  rlua-net --dialect pragtical benches/pragtical_echo.lua
#   luanet     rlua-net --dialect luanet    benches/luanet_echo.lua
#   luv        lua5.4 benches/luv_echo.lua      (when the file and Debian's lua-luv are there)
#   cqueues    lua5.4 benches/cqueues_echo.lua  (when the file and Debian's lua-cqueues are there)
# For each: 1 connection ping-pong of 64-byte messages (server and client pinned to the
# same CPU, PIN_CPU: unpinned, that test measures where the scheduler puts the two
# processes, a wake-up across CPUs costing about 50 us of the 60 on a VM, rather than
# the server), CONNS connections ping-pong of
# SIZE-byte messages, 1 connection streaming 64 KiB writes (loadgen -m stream, MB/s of
# echo), then on a fresh server the memory per idle connection: VmRSS of the server before
# and after IDLE_CONNS connections have opened and echoed one byte each (loadgen -m idle),
# the difference divided by IDLE_CONNS.
# Hammerspoon has no echo server (an hs.socket server writes to all its clients at once),
# so it is measured client-side, as benches/hs_clients.sh does: benches/hammerspoon_clients.lua
# (CONNS hs.socket clients, SIZE-byte lines) against a fresh echo-ref, compared with the
# load generator's rate against echo-ref in the same run.
# Start-up: benches/startup.sh (rlua-net -e '' against lua5.4 -e '').
# Backpressure: benches/backpressure_nodemcu.lua and benches/backpressure_luanet.lua write
# 64 KiB chunks as fast as the connection takes them to one client (loadgen -m sink) that
# reads BP_RATE bytes per second for BP_SECS seconds; the server's VmRSS is sampled every
# 0.5 s, and "flat" means it grew by at most BP_LIMIT_KIB from the 1 s sample to the end.
#
# Settings (environment):
#   RLUA_NET       binary to measure                          (default: target/release/rlua-net)
#   LUA            interpreter for the luv and cqueues peers  (default: lua5.4)
#   SECS           measured seconds per load test             (default: 3)
#   WARMUP         seconds of load before measuring           (default: 1)
#   CONNS          connections of the many-connection test    (default: 50)
#   SIZE           message size of the ping-pong tests        (default: 64)
#   STREAM_SIZE    write size of the stream test              (default: 65536)
#   IDLE_CONNS     idle connections for the memory test       (default: 10000)
#   IDLE_ADDRS     source addresses 127.0.0.1..K they come from (default: 4)
#   BP_SECS        seconds of the backpressure check          (default: 5)
#   BP_RATE        bytes/s the slow client reads              (default: 65536)
#   BP_LIMIT_KIB   allowed RSS growth for "flat"              (default: 1024)
#   STARTUP_RUNS   timed runs per command in startup.sh       (default: 100)
#   PIN_CPU        CPU of the 1-connection ping-pong           (default: 0; empty: unpinned)
#   SERVERS        which servers, space-separated             (default: all of the above)
#   SKIP_HS, SKIP_STARTUP, SKIP_BP   1 leaves that part out   (default: empty)
#
# Any error (a server that does not start or dies, a load generator that reports a failed
# connection or a wrong echo) stops the script with a message and exit status 1, except
# idle connections a server leaves without an echo, which the table reports as a failure; every
# process it started is stopped on exit. On two cores the load generator and the server
# share the machine, so compare the ratios within a run, not absolute figures across runs.
# The reference is measured first and again after the others, and the better of its two
# figures is the baseline of each ratio.

set -euo pipefail

cd "$(dirname "$0")/.."

RLUA_NET=${RLUA_NET:-target/release/rlua-net}
LUA=${LUA:-lua5.4}
SECS=${SECS:-3}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
SIZE=${SIZE:-64}
STREAM_SIZE=${STREAM_SIZE:-65536}
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_ADDRS=${IDLE_ADDRS:-4}
BP_SECS=${BP_SECS:-5}
BP_RATE=${BP_RATE:-65536}
BP_LIMIT_KIB=${BP_LIMIT_KIB:-1024}
STARTUP_RUNS=${STARTUP_RUNS:-100}
SERVERS=${SERVERS:-ref nodemcu pragtical luanet luv cqueues}
SKIP_HS=${SKIP_HS:-}
SKIP_STARTUP=${SKIP_STARTUP:-}
SKIP_BP=${SKIP_BP:-}
PIN_CPU=${PIN_CPU-0}
BIN=target/release

. benches/common.sh

secs SECS "$SECS" 0.1 600
secs WARMUP "$WARMUP" 0 600
whole CONNS "$CONNS" 1 10000
whole SIZE "$SIZE" 1 1048576
whole STREAM_SIZE "$STREAM_SIZE" 1 1048576
whole IDLE_CONNS "$IDLE_CONNS" 1 1000000
whole IDLE_ADDRS "$IDLE_ADDRS" 1 254
secs BP_SECS "$BP_SECS" 2 600
whole BP_RATE "$BP_RATE" 1 1000000000
whole BP_LIMIT_KIB "$BP_LIMIT_KIB" 0 10000000
whole STARTUP_RUNS "$STARTUP_RUNS" 2 100000
if [ -n "$PIN_CPU" ]; then
  whole PIN_CPU "$PIN_CPU" 0 4095
  command -v taskset >/dev/null 2>&1 || die "taskset not found (util-linux); or PIN_CPU= to run unpinned"
  ALL_CPUS=$(taskset -c -p $$ | sed 's/.*: *//')
fi

[ -x "$RLUA_NET" ] || die "$RLUA_NET not found; run 'cargo build --release' first"
[ -r /proc/self/status ] || die "needs Linux /proc"
command -v cargo >/dev/null 2>&1 || die "cargo not found (it builds the load generator)"
build_tools

# The servers on lua5.4 keep the soft descriptor limit they are given; rlua-net and the
# tools raise their own. IDLE_CONNS must fit under the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt $((IDLE_CONNS + 100)) ] ||
  die "IDLE_CONNS=$IDLE_CONNS does not fit under the descriptor limit $(ulimit -n) of one server process"

track_processes

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# field FILE KEY: the value of KEY=... in the last result line of FILE.
field() { tail -n 1 "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# ----- which servers -------------------------------------------------------------------

# server_cmd NAME: the command line of server NAME (the port is appended); fails when
# the server cannot run here, with the reason on stdout.
server_cmd() {
  case "$1" in
    ref) echo "$BIN/echo-ref" ;;
    nodemcu | pragtical | luanet) echo "$RLUA_NET --dialect $1 benches/$1_echo.lua" ;;
    luv | cqueues)
      if [ ! -f "benches/$1_echo.lua" ]; then
        echo "benches/$1_echo.lua is missing"
        return 1
      fi
      if ! command -v "$LUA" >/dev/null 2>&1; then
        echo "$LUA is not installed"
        return 1
      fi
      if ! "$LUA" -e "require('$1')" >/dev/null 2>&1; then
        echo "$LUA cannot require('$1') (apt-get install lua-$1)"
        return 1
      fi
      echo "$LUA benches/$1_echo.lua"
      ;;
    *)
      echo "unknown server '$1'"
      return 1
      ;;
  esac
}

active=()
for s in $SERVERS; do
  if why=$(server_cmd "$s"); then
    active+=("$s")
  else
    case "$s" in
      luv | cqueues) note "skipping $s: $why" ;;
      *) die "$why" ;;
    esac
  fi
done
[ "${active[0]:-}" = ref ] || die "SERVERS must start with ref, the reference the others are compared with"

# ----- running servers and the load generator --------------------------------------------

# start_server NAME TAG: starts server NAME; sets SPID and SPORT. Its stdout and stderr go
# to $tmp/NAME.TAG.{port,err}.
start_server() {
  local name=$1 tag=$2 cmd
  read -r -a cmd <<<"$(server_cmd "$name")"
  "${cmd[@]}" 0 >"$tmp/$name.$tag.port" 2>"$tmp/$name.$tag.err" &
  SPID=$!
  pids+=("$SPID")
  SPORT=
  for _ in $(seq 200); do
    SPORT=$(head -n 1 "$tmp/$name.$tag.port")
    [[ "$SPORT" =~ ^[0-9]+$ ]] && break
    SPORT=
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$SPORT" ]; then
    cat "$tmp/$name.$tag.err" >&2
    die "$name: the server printed no port (command: ${cmd[*]} 0)"
  fi
}

stop_server() {
  local name=$1 tag=$2
  kill -0 "$SPID" 2>/dev/null || {
    cat "$tmp/$name.$tag.err" >&2
    die "$name: the server died during the $tag tests"
  }
  kill "$SPID"
  wait "$SPID" 2>/dev/null || true
  if [ -s "$tmp/$name.$tag.err" ]; then
    note "$name: the server wrote to stderr:"
    head -n 20 "$tmp/$name.$tag.err" | sed 's/^/    /' >&2
  fi
}

# pin PID CPUS: sets the CPU affinity of every thread of PID (nothing when PIN_CPU is empty).
pin() {
  [ -n "$PIN_CPU" ] || return 0
  taskset -a -p -c "$2" "$1" >/dev/null || die "taskset -a -p -c $2 $1 failed"
}

# load NAME TEST ARGS...: runs loadgen against the running server; the result line goes
# to $tmp/NAME.TEST. The 1-connection ping-pong (TEST pp1...) runs on PIN_CPU.
load() {
  local name=$1 test=$2 status=0 lg=("$BIN/loadgen")
  shift 2
  [ -n "$PIN_CPU" ] && [[ "$test" == pp1* ]] && lg=(taskset -c "$PIN_CPU" "$BIN/loadgen")
  "${lg[@]}" -p "$SPORT" -d "$SECS" -w "$WARMUP" "$@" >"$tmp/$name.$test" 2>"$tmp/$name.$test.err" &
  pids+=("$!")
  wait "$!" || status=$?
  sed 's/^/    /' "$tmp/$name.$test.err" >&2
  [ "$status" = 0 ] || die "$name: $test: the load generator failed (exit status $status); see above"
  grep -q '^roundtrips=' "$tmp/$name.$test" || die "$name: $test: no result line from the load generator"
}

# idle_memory NAME: on a fresh server, VmRSS before and after IDLE_CONNS idle connections;
# writes "before after bytes_per_conn" to $tmp/NAME.idle.
idle_memory() {
  local name=$1 before after lg status=0 t errs
  start_server "$name" idle
  pause 0.5
  before=$(rss_kib "$SPID")
  : >"$tmp/$name.idle.out"
  "$BIN/loadgen" -p "$SPORT" -m idle -c "$IDLE_CONNS" -a "$IDLE_ADDRS" >"$tmp/$name.idle.out" 2>"$tmp/$name.idle.lg" &
  lg=$!
  pids+=("$lg")
  t=0
  until grep -q '^idle_open=' "$tmp/$name.idle.out"; do
    kill -0 "$lg" 2>/dev/null || break
    [ "$t" -lt 3000 ] || die "$name: idle connections still not open after 300 s"
    pause 0.1
    t=$((t + 1))
  done
  grep -q '^idle_open=' "$tmp/$name.idle.out" || {
    cat "$tmp/$name.idle.lg" >&2
    die "$name: the idle load generator ended without opening its connections"
  }
  pause 0.5
  after=$(rss_kib "$SPID")
  kill "$lg" 2>/dev/null || true
  wait "$lg" || status=$?
  sed 's/^/    /' "$tmp/$name.idle.lg" >&2
  errs=0
  if [ "$status" != 0 ]; then
    # A server that leaves connections unanswered is a result to report, not a reason to
    # lose the rest of the matrix: the table shows how many got no echo.
    errs=$(sed -n 's/^idle_open=[0-9]* errors=\([0-9]*\).*/\1/p' "$tmp/$name.idle.out" | head -1)
    [ -n "$errs" ] || die "$name: idle: the load generator failed (exit status $status): $(tr '\n' ' ' <"$tmp/$name.idle.out")"
    note "$name: idle: $errs of $IDLE_CONNS connections got no echo; the table reports it"
  fi
  stop_server "$name" idle
  echo "$before $after $(awk -v b="$before" -v a="$after" -v n="$IDLE_CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }') $errs" \
    >"$tmp/$name.idle"
}

# measure NAME TAG: the three load tests and (unless TAG is "again") the idle memory.
measure() {
  local s=$1 tag=$2
  start_server "$s" "$tag"
  note "$s${tag:+ ($tag)}: 127.0.0.1:$SPORT (pid $SPID); ping-pong 1 x ${SIZE} B, ping-pong $CONNS x ${SIZE} B, stream 1 x $STREAM_SIZE B (${WARMUP} s + ${SECS} s each)"
  pin "$SPID" "$PIN_CPU"
  load "$s" "pp1$tag" -c 1 -s 64
  pin "$SPID" "$ALL_CPUS"
  load "$s" "ppn$tag" -c "$CONNS" -s "$SIZE"
  load "$s" "stream$tag" -m stream -c 1 -s "$STREAM_SIZE"
  stop_server "$s" "$tag"
  [ "$tag" = again ] && return
  note "$s: memory per idle connection ($IDLE_CONNS connections)"
  idle_memory "$s"
}

for s in "${active[@]}"; do
  measure "$s" ""
done
# The reference once more at the end: its figures are the better of its two runs, so a
# slow moment of the machine at the start does not flatter the others.
measure ref again
for t in pp1 ppn stream; do
  k=rps
  [ "$t" = stream ] && k=mbps
  if awk -v a="$(field "$tmp/ref.${t}again" "$k")" -v b="$(field "$tmp/ref.$t" "$k")" 'BEGIN { exit !(a > b) }'; then
    cp "$tmp/ref.${t}again" "$tmp/ref.$t"
  fi
done

# ----- Hammerspoon, client side ------------------------------------------------------------

if [ -z "$SKIP_HS" ]; then
  start_server ref hs
  note "hammerspoon: $CONNS hs.socket clients against echo-ref on 127.0.0.1:$SPORT"
  status=0
  "$RLUA_NET" --dialect hammerspoon benches/hammerspoon_clients.lua "$SPORT" "$CONNS" "$SIZE" "$SECS" "$WARMUP" \
    >"$tmp/hs.out" 2>"$tmp/hs.err" &
  pids+=("$!")
  wait "$!" || status=$?
  sed 's/^/    /' "$tmp/hs.err" >&2
  stop_server ref hs
  [ "$status" = 0 ] || die "hammerspoon: the hs.socket clients failed (exit status $status); see above"
  grep '^roundtrips=' "$tmp/hs.out" | tail -n 1 >"$tmp/hs.ppn"
  [ -s "$tmp/hs.ppn" ] || die "hammerspoon: no result line from the hs.socket clients"
fi

# ----- start-up ----------------------------------------------------------------------------

if [ -z "$SKIP_STARTUP" ]; then
  note "start-up: benches/startup.sh with RUNS=$STARTUP_RUNS"
  RLUA_NET=$RLUA_NET RUNS=$STARTUP_RUNS benches/startup.sh >"$tmp/startup" || die "benches/startup.sh failed"
  # Its table: | command | mean (ms) | sd (ms) | peak RSS (KiB) |, lua5.4 first.
  awk -F '|' '/-e .. *\|/ { gsub(/ /, "", $3); gsub(/ /, "", $5); print $3, $5 }' "$tmp/startup" >"$tmp/startup.rows"
  [ "$(wc -l <"$tmp/startup.rows")" = 2 ] || die "could not read benches/startup.sh's table"
fi

# ----- backpressure ------------------------------------------------------------------------

bp_servers=()
if [ -z "$SKIP_BP" ]; then
  for d in nodemcu luanet; do
    "$RLUA_NET" --dialect "$d" "benches/backpressure_$d.lua" 0 >"$tmp/bp.$d.port" 2>"$tmp/bp.$d.err" &
    SPID=$!
    pids+=("$SPID")
    SPORT=
    for _ in $(seq 200); do
      SPORT=$(head -n 1 "$tmp/bp.$d.port")
      [[ "$SPORT" =~ ^[0-9]+$ ]] && break
      SPORT=
      kill -0 "$SPID" 2>/dev/null || break
      sleep 0.05
    done
    [ -n "$SPORT" ] || { cat "$tmp/bp.$d.err" >&2; die "backpressure $d: the server printed no port"; }
    note "backpressure $d: one client reading $BP_RATE B/s for $BP_SECS s from 127.0.0.1:$SPORT"
    start=$(rss_kib "$SPID")
    "$BIN/loadgen" -p "$SPORT" -m sink -c 1 -r "$BP_RATE" -d "$BP_SECS" >"$tmp/bp.$d.out" 2>"$tmp/bp.$d.lg" &
    lg=$!
    pids+=("$lg")
    : >"$tmp/bp.$d.samples"
    while kill -0 "$lg" 2>/dev/null; do
      pause 0.5
      rss_kib "$SPID" >>"$tmp/bp.$d.samples" 2>/dev/null || break
    done
    status=0
    wait "$lg" || status=$?
    sed 's/^/    /' "$tmp/bp.$d.lg" >&2
    kill -0 "$SPID" 2>/dev/null || { cat "$tmp/bp.$d.err" >&2; die "backpressure $d: the server died"; }
    kill "$SPID"
    wait "$SPID" 2>/dev/null || true
    [ "$status" = 0 ] || die "backpressure $d: the slow client failed (exit status $status)"
    # start, at 1 s (second sample), at the end, the highest; bytes the client read
    awk -v s="$start" -v b="$(field "$tmp/bp.$d.out" bytes)" '
      { v[NR] = $1; if ($1 > m) m = $1 }
      END { print s, (NR >= 2 ? v[2] : v[1]), v[NR], m, b }' "$tmp/bp.$d.samples" >"$tmp/bp.$d"
    bp_servers+=("$d")
  done
fi

# ----- report ------------------------------------------------------------------------------

label() {
  case "$1" in
    ref) echo "echo-ref (Rust epoll reference)" ;;
    nodemcu | pragtical | luanet) echo "rlua-net $1 ($1_echo.lua)" ;;
    luv | cqueues) echo "$LUA + lua-$1 ($1_echo.lua)" ;;
    hs) echo "rlua-net hammerspoon (hs.socket clients)" ;;
  esac
}

# One tab-separated line per server: name, label, pp1 rps, ppn rps, stream MB/s, idle
# bytes/conn, then p50/p99 of the three tests.
{
  for s in "${active[@]}"; do
    read -r _ _ per errs <"$tmp/$s.idle"
    [ "${errs:-0}" = 0 ] || per="$per!$errs"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$(label "$s")" \
      "$(field "$tmp/$s.pp1" rps)" "$(field "$tmp/$s.ppn" rps)" "$(field "$tmp/$s.stream" mbps)" "$per" \
      "$(field "$tmp/$s.pp1" p50_us)" "$(field "$tmp/$s.pp1" p99_us)" \
      "$(field "$tmp/$s.ppn" p50_us)" "$(field "$tmp/$s.ppn" p99_us)" \
      "$(field "$tmp/$s.stream" p50_us)" "$(field "$tmp/$s.stream" p99_us)"
  done
  if [ -z "$SKIP_HS" ]; then
    printf '%s\t%s\t-\t%s\t-\t-\t-\t-\t%s\t%s\t-\t-\n' hs "$(label hs)" "$(field "$tmp/hs.ppn" rps)" \
      "$(field "$tmp/hs.ppn" p50_us)" "$(field "$tmp/hs.ppn" p99_us)"
  fi
} >"$tmp/rows"

startup_args=()
[ -z "$SKIP_STARTUP" ] && startup_args=(-v "su=$(tr '\n' ' ' <"$tmp/startup.rows")")
bp_rows=
for d in "${bp_servers[@]}"; do
  bp_rows+="$d $(cat "$tmp/bp.$d");"
done

awk -F '\t' -v secs="$SECS" -v warm="$WARMUP" -v conns="$CONNS" -v size="$SIZE" -v ssize="$STREAM_SIZE" \
  -v idle="$IDLE_CONNS" -v bp="$bp_rows" -v bpsecs="$BP_SECS" -v bprate="$BP_RATE" -v bplim="$BP_LIMIT_KIB" \
  -v lua="$LUA" -v pin="$PIN_CPU" "${startup_args[@]}" '
function ratio(v, r) { return (r > 0 && v != "-") ? sprintf("%.2f×", v / r) : "-" }
function verdict(ok) { return ok ? "met" : "**missed**" }
function num(v, fmt) { return v == "-" ? "-" : sprintf(fmt, v) }
# "bytes" or "bytes!unanswered" (connections that got no echo in the idle test).
function memtext(m,   f) { split(m, f, "!"); return f[2] > 0 ? sprintf("%d (%d of %d got no echo)", f[1], f[2], idle) : f[1] }
{
  n++; name[n] = $1; lab[n] = $2; pp1[n] = $3; ppn[n] = $4; st[n] = $5; mem[n] = $6
  lat[n] = sprintf("%s / %s | %s / %s | %s / %s", num($7, "%.0f"), num($8, "%.0f"), num($9, "%.0f"), num($10, "%.0f"), num($11, "%.0f"), num($12, "%.0f"))
  idx[$1] = n
}
END {
  r = idx["ref"]
  printf "Load: %s s measured after %s s warm-up per test; ping-pong = one message in flight per connection; stream = MB/s of echo received back.\n", secs, warm
  printf "The reference runs first and again last; each of its figures is the better of the two.\n"
  if (pin != "") printf "1 conn ping-pong: server and load generator pinned to CPU %s.\n", pin
  printf "Idle memory: server VmRSS after %d idle connections (each echoed one byte) minus before, per connection.\n\n", idle
  printf "| server | 1 conn ping-pong 64 B, round trips/s | %d conns ping-pong %d B, round trips/s | 1 conn stream %d B writes, MB/s | idle memory, B/conn |\n", conns, size, ssize
  printf "| --- | --- | --- | --- | --- |\n"
  for (i = 1; i <= n; i++) {
    if (name[i] == "hs")
      printf "| %s | - | %.0f (%s of loadgen) | - | - |\n", lab[i], ppn[i], ratio(ppn[i], ppn[r])
    else
      printf "| %s | %.0f (%s) | %.0f (%s) | %.1f (%s) | %s |\n", lab[i], pp1[i], ratio(pp1[i], pp1[r]),
        ppn[i], ratio(ppn[i], ppn[r]), st[i], ratio(st[i], st[r]), memtext(mem[i])
  }
  printf "\nLatency p50 / p99 in µs (same columns):\n\n"
  printf "| server | 1 conn ping-pong | %d conns ping-pong | 1 conn stream |\n| --- | --- | --- | --- |\n", conns
  for (i = 1; i <= n; i++) printf "| %s | %s |\n", lab[i], lat[i]

  printf "\nTargets (issue #8):\n\n| target | server | measured | result |\n| --- | --- | --- | --- |\n"
  for (i = 1; i <= n; i++) {
    s = name[i]
    if (s == "ref" || s == "luv" || s == "cqueues") continue
    want = (s == "nodemcu" || s == "hs") ? 0.90 : 0.85
    v = ppn[i] / ppn[r]
    printf "| %d conns ping-pong ≥ %.2f× reference | %s | %.2f× | %s |\n", conns, want, s, v, verdict(v >= want)
    for (p = 1; p <= n; p++) {
      if (name[p] != "luv" && name[p] != "cqueues") continue
      printf "| %d conns ping-pong ahead of %s | %s | %.0f vs %.0f round trips/s | %s |\n", conns, name[p], s, ppn[i], ppn[p], verdict(ppn[i] > ppn[p])
    }
    if (s == "hs") continue
    v = pp1[i] / pp1[r]
    printf "| 1 conn ping-pong within 10%% of reference (≥ 0.90×) | %s | %.2f× | %s |\n", s, v, verdict(v >= 0.90)
    v = st[i] / st[r]
    printf "| 1 conn stream ≥ 0.80× reference | %s | %.2f× | %s |\n", s, v, verdict(v >= 0.80)
    split(mem[i], mf, "!")
    if (mf[2] > 0)
      printf "| idle connection ≤ 2 KB (2000 B) of RSS | %s | %d of %d connections got no echo | **failed** |\n", s, mf[2], idle
    else
      printf "| idle connection ≤ 2 KB (2000 B) of RSS | %s | %d B | %s |\n", s, mf[1], verdict(mf[1] <= 2000)
  }
  if (su != "") {
    split(su, f, " ")  # lua mean, lua rss, rlua mean, rlua rss
    v = f[3] / f[1]
    printf "| start-up ≤ 1.50× `%s -e %s` | rlua-net | %.2f ms vs %.2f ms: %.2f× | %s |\n", lua, "\047\047", f[3], f[1], v, verdict(v <= 1.5)
    printf "| start-up peak RSS ≤ 6 MiB | rlua-net | %.2f MiB (%s: %.2f MiB) | %s |\n", f[4] / 1024, lua, f[2] / 1024, verdict(f[4] / 1024 <= 6)
  }
  nb = split(bp, rows, ";")
  for (k = 1; k <= nb; k++) {
    if (rows[k] == "") continue
    split(rows[k], b, " ")  # dialect, start, at 1 s, end, max, bytes read
    g = b[4] - b[3]
    printf "| backpressure: RSS flat (≤ +%d KiB) while a client reads %d B/s for %s s | %s | %d → %d KiB (max %d; %d B read) | %s |\n",
      bplim, bprate, bpsecs, b[1], b[3], b[4], b[5], b[6], verdict(g <= bplim)
  }
}' "$tmp/rows"
