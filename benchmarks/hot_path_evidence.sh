#!/usr/bin/env bash
# Where the generic pipe spends its time next to the bare ring: the evidence
# behind the analysis in benchmarks/README.md, reproducible.
#
#   bash benchmarks/hot_path_evidence.sh [OUT_DIR]     (default /tmp/bp_hot_path)
#
# 1. Instructions per 64-byte message (send + receive), one thread:
#    valgrind --tool=callgrind on //benchmarks:micro with a fixed iteration
#    count; generic pipe, static pipe, bare ring; then the generic pipe's
#    instructions per message by function.
# 2. System calls per message between two processes (perf stat on the
#    syscalls tracepoints): sched_yield and futex, for 64 B one-way runs.
# 3. Where the time goes between two processes: perf record -e cpu-clock
#    (this VM has no hardware counters) of a 64 B one-way run and of the
#    64 B round trip; the hottest symbols, then the hottest instructions of
#    the ring's claim, commit, receive and release steps.
#
# Needs valgrind and perf (linux-perf). Numbers from a loaded machine are
# noisy; step 1 is not (instruction counts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-/tmp/bp_hot_path}"
ITERATIONS=100000
mkdir -p "$OUT"
cd "$ROOT"

bazel build //benchmarks:micro //benchmarks:compare >/dev/null 2>&1 || bazel build //benchmarks:micro //benchmarks:compare
EXEC_ROOT="$(bazel info execution_root 2>/dev/null)"
binary() {
  echo "$EXEC_ROOT/$(bazel cquery "$1" --output=starlark \
    --starlark:expr='target.files_to_run.executable.path' 2>/dev/null)"
}
MICRO="$(binary //benchmarks:micro)"
COMPARE="$(binary //benchmarks:compare)"

echo "== 1. instructions per 64 B message (send + recv, one thread, callgrind)"
for filter in BM_GenericPipe_SendRecv/64/ BM_StaticPipe_SendRecv/64/ BM_BareRing_SendRecv/64/ \
              BM_GenericPipe_InPlace/64/; do
  name="$(echo "$filter" | tr -dc 'A-Za-z0-9_')"
  MICRO_ITERATIONS=$ITERATIONS valgrind --tool=callgrind --toggle-collect='*BM_*' \
    --callgrind-out-file="$OUT/callgrind.$name" "$MICRO" --benchmark_filter="$filter" \
    >/dev/null 2>"$OUT/callgrind.$name.log"
  collected="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$OUT/callgrind.$name.log")"
  printf '  %-30s %6d instructions/message\n' "${filter%/}" $((collected / ITERATIONS))
done
echo "  generic pipe, per function (instructions/message):"
callgrind_annotate "$OUT/callgrind.BM_GenericPipe_SendRecv64" 2>/dev/null |
  awk -v n=$ITERATIONS '/file:function/ {on = 1; next} on && /^ *[0-9,]+ / {
      name = $0; count = $1; gsub(",", "", count)
      sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", name)
      if (name ~ /^\?\?\?:/) sub(/^\?\?\?:/, "", name); else sub(/^[^ :]*:/, "", name)
      sub(/ \[.*$/, "", name)
      if (name ~ /WaitLoop/) name = "WaitLoop<...>"; else sub(/\(.*$/, "", name)
      if (count / n >= 5) printf "    %6.0f  %s\n", count / n, name }' | head -30 || true

echo
echo "== 2. system calls per message, 64 B one-way between two processes (perf stat)"
for transport in bp_generic bp_static bare_ring; do
  perf stat -x, -e syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex,context-switches \
    -o "$OUT/perfstat.$transport" -- "$COMPARE" --cases=one_way --sizes=64 --only="$transport" \
    --reps=1 --run_ms=500 --out="$OUT/run_$transport" >/dev/null 2>&1
  messages="$(awk -F, 'NR > 1 && $5 == "one_way" && $8 == 1 {s += $9} END {print s}' \
    "$OUT/run_$transport/results.csv")"
  awk -F, -v m="$messages" -v t="$transport" '/^[0-9]/ {
      printf "  %-11s %-32s %10d  (%.5f per message of the measured run, %d messages)\n",
             t, $3, $1, $1 / m, m }' "$OUT/perfstat.$transport"
done

echo
echo "== 3. where the time goes between two processes (perf record -e cpu-clock)"
for case in one_way round_trip; do
  perf record -q -e cpu-clock -F 10000 -o "$OUT/perf.$case.data" -- "$COMPARE" --cases="$case" \
    --sizes=64 --only=bp_generic --reps=1 --run_ms=1000 --out="$OUT/run_perf_$case" >/dev/null 2>&1
  rate="$(awk -F, 'NR > 1 && $7 == "bp_generic" && $8 == 1 {
      if ($5 == "round_trip") printf "p50 %.2f us", $12 / 1000; else printf "%.1f M msg/s", $10 / 1e6 }' \
    "$OUT/run_perf_$case/results.csv")"
  echo "  -- $case 64 B, bp_generic ($rate): hottest symbols of the two busiest processes,"
  echo "     as a share of that process's samples"
  perf report -i "$OUT/perf.$case.data" --no-children --sort=pid,sym --stdio 2>/dev/null |
    awk '/^ +[0-9]+\.[0-9]+%/ {
        share = $1; sub(/%/, "", share); pid = $2; sym = $0
        sub(/^.*\] /, "", sym); sub(/\(.*$/, "", sym)
        total[pid] += share; n[pid]++; line[pid, n[pid]] = sprintf("%.1f|%s", share, sym) }
      END {
        for (k = 0; k < 2; k++) {
          best = ""; for (p in total) if (!(p in done) && (best == "" || total[p] > total[best])) best = p
          if (best == "") break; done[best] = 1
          printf "     process %s (%.0f%% of all samples):\n", best, total[best]
          for (i = 1; i <= n[best] && i <= 8; i++) {
            split(line[best, i], f, "|"); printf "       %5.1f%%  %s\n", 100 * f[1] / total[best], f[2] } } }' |
    cut -c1-150 || true
  for symbol in TryClaim Publish TryBeginReceive ReleaseRead; do
    full="buffered_pipe::internal::Ring::$symbol"
    echo "  -- $case: hottest instructions of Ring::$symbol (share of its samples; perf"
    echo "     charges a stall to the instruction AFTER the one that waited)"
    perf annotate -i "$OUT/perf.$case.data" --stdio -s "$full" 2>/dev/null |
      grep -E '^ +[0-9]+\.[0-9]+ +:' |
      grep -E -B1 '^ +([1-9][0-9]|100)\.[0-9]+ +:' | grep -v -- '^--' | cut -c1-120 || true
  done
done
echo
echo "raw data in $OUT"
