#!/usr/bin/env bash
# Start-up cost of rlua-net next to the system Lua, measured in the same run:
#
#   benches/startup.sh            (build first: cargo build --release)
#
# For `rlua-net -e ''` and `lua5.4 -e ''` it reports the mean wall time over many runs
# and the peak resident set size, then the ratios against the project's targets:
# start-up within 1.5x of lua5.4, peak RSS under 6 MiB.
#
# Settings (environment):
#   RLUA_NET   binary to measure    (default: target/release/rlua-net)
#   LUA        reference interpreter (default: lua5.4)
#   RUNS       timed runs per command (default: 200)
#   RSS_RUNS   runs per command for peak RSS; the median is reported (default: 10)
#   TIMER      force the timing method: hyperfine, python or bash (default: best available)
#
# Timing uses hyperfine when it is installed, else a python3 loop, else a bash loop
# reading `date +%s%N`. The loops alternate the two commands so both see the same noise.
# Peak RSS comes from GNU time (`/usr/bin/time -f %M`, apt package `time`); without it
# each interpreter reads its own high-water mark (VmHWM in /proc/self/status) at the end
# of the chunk. (Python's RUSAGE_CHILDREN figure is not used: on Linux a child's maxrss
# includes the memory of the python process it was forked from, about 14 MB here.)

set -euo pipefail

cd "$(dirname "$0")/.."

RLUA_NET=${RLUA_NET:-target/release/rlua-net}
LUA=${LUA:-lua5.4}
RUNS=${RUNS:-200}
RSS_RUNS=${RSS_RUNS:-10}
TIMER=${TIMER:-}

die() { echo "startup.sh: $*" >&2; exit 1; }

[ -x "$RLUA_NET" ] || die "$RLUA_NET not found; run 'cargo build --release' first"
command -v "$LUA" >/dev/null 2>&1 || die "$LUA not found (apt-get install lua5.4)"
LUA=$(command -v "$LUA")

if [ -z "$TIMER" ]; then
  if command -v hyperfine >/dev/null 2>&1; then TIMER=hyperfine
  elif command -v python3 >/dev/null 2>&1; then TIMER=python
  else TIMER=bash
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ----- wall time: writes "mean_ms sd_ms" for lua then rlua-net into $tmp/time -----------

time_hyperfine() {
  # -N: no intermediate shell, so the figures are the processes themselves.
  hyperfine -N --style none --warmup 20 --runs "$RUNS" \
    --export-csv "$tmp/hf.csv" "$LUA -e ''" "$RLUA_NET -e ''" >/dev/null
  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
  awk -F, 'NR > 1 { printf "%.4f %.4f\n", $2 * 1000, $3 * 1000 }' "$tmp/hf.csv" >"$tmp/time"
}

time_python() {
  python3 - "$RUNS" "$LUA" "$RLUA_NET" >"$tmp/time" <<'EOF'
import os, statistics, sys, time
runs = int(sys.argv[1])
cmds = [[sys.argv[2], "-e", ""], [sys.argv[3], "-e", ""]]
devnull = os.open(os.devnull, os.O_RDWR)
acts = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)]
def once(cmd):
    t = time.perf_counter_ns()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=acts)
    os.waitpid(pid, 0)
    return (time.perf_counter_ns() - t) / 1e6
for cmd in cmds:          # warm-up
    for _ in range(20):
        once(cmd)
samples = [[], []]
for _ in range(runs):     # alternate the two commands
    for i, cmd in enumerate(cmds):
        samples[i].append(once(cmd))
for s in samples:
    print("%.4f %.4f" % (statistics.mean(s), statistics.stdev(s)))
EOF
}

time_bash() {
  local t0 t1 which
  local -a sum=(0 0) sq=(0 0)
  for which in "$LUA" "$RLUA_NET"; do
    for _ in $(seq 20); do "$which" -e '' </dev/null >/dev/null; done
  done
  for _ in $(seq "$RUNS"); do
    for which in 0 1; do
      if [ "$which" = 0 ]; then
        t0=$(date +%s%N); "$LUA" -e '' </dev/null >/dev/null; t1=$(date +%s%N)
      else
        t0=$(date +%s%N); "$RLUA_NET" -e '' </dev/null >/dev/null; t1=$(date +%s%N)
      fi
      sum[which]=$((sum[which] + t1 - t0))
      sq[which]=$((sq[which] + (t1 - t0) * (t1 - t0) / 1000))
    done
  done
  # sq holds ns^2/1000, so the variance comes out in ns^2 after the *1000 below.
  for which in 0 1; do
    awk -v s="${sum[which]}" -v q="${sq[which]}" -v n="$RUNS" 'BEGIN {
      m = s / n; v = (q * 1000 - n * m * m) / (n - 1); if (v < 0) v = 0
      printf "%.4f %.4f\n", m / 1e6, sqrt(v) / 1e6 }'
  done >"$tmp/time"
}

case "$TIMER" in
  hyperfine) time_hyperfine; timer_note="hyperfine $(hyperfine --version | awk '{print $2}'), -N, 20 warm-up runs" ;;
  python) time_python; timer_note="python3 posix_spawn loop, alternating, 20 warm-up runs" ;;
  bash) time_bash; timer_note="bash loop with date +%s%N, alternating, 20 warm-up runs" ;;
  *) die "unknown TIMER '$TIMER' (hyperfine, python or bash)" ;;
esac

# ----- peak RSS in KiB: the median of RSS_RUNS runs ---------------------------------------

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

if /usr/bin/time -f %M true >/dev/null 2>&1; then
  rss_note="GNU time -f %M, median of $RSS_RUNS runs"
  rss_of() {
    for _ in $(seq "$RSS_RUNS"); do
      /usr/bin/time -f %M -o "$tmp/rss" "$1" -e '' </dev/null >/dev/null
      tail -n 1 "$tmp/rss"
    done | median
  }
  rss_floor=$(for _ in $(seq "$RSS_RUNS"); do /usr/bin/time -f %M true 2>&1 >/dev/null | tail -n 1; done | median)
elif [ -r /proc/self/status ]; then
  rss_note="VmHWM read by the interpreter at the end of its chunk, median of $RSS_RUNS runs"
  rss_of() {
    for _ in $(seq "$RSS_RUNS"); do
      "$1" -e 'io.write(io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)"), "\n")' </dev/null
    done | median
  }
  rss_floor=
else
  die "no way to measure peak RSS here: install GNU time (apt-get install time)"
fi

lua_rss=$(rss_of "$LUA")
rlua_rss=$(rss_of "$RLUA_NET")

# ----- report --------------------------------------------------------------------------

read -r lua_ms lua_sd < <(sed -n 1p "$tmp/time")
read -r rlua_ms rlua_sd < <(sed -n 2p "$tmp/time")

awk -v runs="$RUNS" -v tnote="$timer_note" -v rnote="$rss_note" -v floor="$rss_floor" \
    -v lua="$LUA -e ''" -v rlua="$RLUA_NET -e ''" \
    -v lm="$lua_ms" -v ls="$lua_sd" -v rm="$rlua_ms" -v rs="$rlua_sd" \
    -v lr="$lua_rss" -v rr="$rlua_rss" 'BEGIN {
  printf "start-up: %d timed runs per command (%s)\n", runs, tnote
  printf "peak RSS: %s", rnote
  if (floor != "") printf "; the tool alone, running true: %d KiB", floor
  printf "\n\n"
  printf "| %-32s | %10s | %10s | %14s |\n", "command", "mean (ms)", "sd (ms)", "peak RSS (KiB)"
  printf "|%s|%s|%s|%s|\n", "----------------------------------", "------------", "------------", "----------------"
  printf "| %-32s | %10.3f | %10.3f | %14d |\n", lua, lm, ls, lr
  printf "| %-32s | %10.3f | %10.3f | %14d |\n", rlua, rm, rs, rr
  ratio = rm / lm
  mib = rr / 1024
  printf "\nstart-up ratio rlua-net / lua5.4: %.2fx (target <= 1.50x): %s\n", ratio, ratio <= 1.5 ? "met" : "MISSED"
  printf "rlua-net peak RSS: %.2f MiB (target < 6 MiB): %s\n", mib, mib < 6 ? "met" : "MISSED"
  printf "RSS ratio rlua-net / lua5.4: %.2fx\n", rr / lr
}'
