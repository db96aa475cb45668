#!/usr/bin/env bash
# The one test entry point of buffered_pipe:
#
#   bash bazel/test_all.sh
#
# Steps (each prints its progress, result and wall time):
#   1. install missing Debian packages (bazel/install_deps.sh)
#   2. bazel test //...                      gcc; includes the seed replay of
#                                            every fuzz target
#   3. bazel test --config=asan //...        without tests tagged no_asan or fuzz
#      bazel test --config=tsan //...        without tests tagged no_tsan or fuzz
#   4. the consumer workspace examples/bazel_consumer: build and run it
#   5. every test tagged "fuzz", with --config=fuzz (libFuzzer + ASan + UBSan),
#      for FUZZ_RUNS executions each (capped at FUZZ_MAX_TOTAL_TIME seconds)
#   6. CMake: the source lists agree with Bazel's (tools/check_cmake_sources.sh);
#      configure, build, install into a temporary prefix, ctest; then two
#      consumers outside the tree against the installed copy, one with
#      find_package(buffered_pipe), one with pkg-config, both run
#   7. Python: build the module with CMake and run its pytest suite
#      (bazel/test_python.sh); each pytest case counts as one test
#
# Targets are discovered (//..., and a query for the "fuzz" tag): adding a
# test needs no edit here. The last line of output is always
#
#   N passed, N failed
#
# counting test targets of every step (a target that runs in three steps
# counts three times), plus one failure for a step that failed without a
# failing test (e.g. a build error), and the consumer run as one. The exit
# code is non-zero if anything failed.
#
# Environment: FUZZ_RUNS (default 10000), FUZZ_MAX_TOTAL_TIME (default 60),
# FUZZ_ARTIFACTS (default /tmp/buffered_pipe_fuzz_artifacts: crashing inputs
# found in step 5 go there; the test log also prints them in base64),
# BAZEL (default bazel), CI (if set, Bazel servers are shut down at the end).
#
# All configurations share one Bazel output base: .bazelrc gives each
# sanitizer config its own output directory (--platform_suffix), so
# switching between them costs a few seconds of re-analysis (and a re-run of
# the C++ toolchain detection when the compiler changes between gcc and
# clang-14), not a rebuild.
set -uo pipefail # no -e: keep going after a failure and count it

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

BAZEL="${BAZEL:-bazel}"
FUZZ_RUNS="${FUZZ_RUNS:-10000}"
FUZZ_MAX_TOTAL_TIME="${FUZZ_MAX_TOTAL_TIME:-60}"
# Where libFuzzer writes crashing inputs (the test sandbox keeps /tmp writable).
FUZZ_ARTIFACTS="${FUZZ_ARTIFACTS:-/tmp/buffered_pipe_fuzz_artifacts}"
# Output options only (they do not invalidate any cache). --symlink_prefix=/
# leaves the bazel-* convenience symlinks of interactive use alone.
BAZEL_FLAGS=(--color=no --curses=no --show_progress_rate_limit=15 --symlink_prefix=/ --keep_going)

PASSED=0
FAILED=0
SKIPPED=0
TIMES=()
LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/test_all.XXXXXX")"
START_ALL=$SECONDS

say() { echo "[test_all] $*"; }

# shellcheck disable=SC2317 # called through the EXIT trap
finish() {
  local rc=$?
  trap - EXIT
  if [[ -n "${CI:-}" ]]; then
    # CI: leave no Bazel server behind.
    "$BAZEL" shutdown >/dev/null 2>&1 || true
    (cd "$ROOT/examples/bazel_consumer" 2>/dev/null && "$BAZEL" shutdown >/dev/null 2>&1) || true
  fi
  rm -rf "$LOG_DIR"
  echo
  say "wall time per step:"
  local t
  for t in "${TIMES[@]}"; do echo "  $t"; done
  echo "  total: $((SECONDS - START_ALL))s"
  if [[ $FAILED -eq 0 && $rc -ne 0 ]]; then
    FAILED=1 # died on its own (signal, internal error): never report success
  fi
  if [[ $SKIPPED -gt 0 ]]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  else
    echo "$PASSED passed, $FAILED failed"
  fi
  [[ $FAILED -eq 0 ]] && exit 0 || exit 1
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# count_bazel_tests STEP LOG RC: adds the per-target results of a `bazel test`.
count_bazel_tests() {
  local step="$1" log="$2" rc="$3" p f s
  p=$(grep -cE '^(//|@)[^ ]+ +(\(cached\) )?(PASSED|FLAKY)' "$log")
  f=$(grep -cE '^(//|@)[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|REMOTE FAILURE)' "$log")
  s=$(grep -cE '^(//|@)[^ ]+ +(\(cached\) )?SKIPPED' "$log")
  if [[ $rc -ne 0 && $rc -ne 3 && $rc -ne 4 && $f -eq 0 ]]; then
    say "$step: bazel failed (exit $rc) outside the tests, e.g. a build error: counted as one failure"
    f=$((f + 1))
  fi
  if [[ $rc -eq 4 ]]; then
    say "$step: no test targets"
  fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  SKIPPED=$((SKIPPED + s))
  say "$step: $p passed, $f failed$([[ $s -gt 0 ]] && echo ", $s skipped")"
}

# bazel_test STEP ARGS...: runs `bazel test ARGS...` in the current
# directory, shows its output, counts the results.
bazel_test() {
  local step="$1" log rc t0=$SECONDS
  shift
  log="$LOG_DIR/$step.log"
  say "== $step: $BAZEL test $*"
  "$BAZEL" test "${BAZEL_FLAGS[@]}" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_bazel_tests "$step" "$log" "$rc"
  TIMES+=("$step: $((SECONDS - t0))s")
}

# ---- 1. dependencies -------------------------------------------------------
t0=$SECONDS
say "== install_deps"
if ! bash "$ROOT/bazel/install_deps.sh"; then
  say "installing the Debian packages failed; nothing else can run"
  FAILED=$((FAILED + 1))
  exit 1
fi
TIMES+=("install_deps: $((SECONDS - t0))s")

# ---- 2. normal build -------------------------------------------------------
bazel_test default //...

# ---- 3. sanitizers ---------------------------------------------------------
bazel_test asan --config=asan --build_tag_filters=-no_asan,-fuzz --test_tag_filters=-no_asan,-fuzz //...
bazel_test tsan --config=tsan --build_tag_filters=-no_tsan,-fuzz --test_tag_filters=-no_tsan,-fuzz //...

# ---- 4. consumer workspace -------------------------------------------------
t0=$SECONDS
say "== consumer: examples/bazel_consumer: $BAZEL run //:consumer"
if (cd "$ROOT/examples/bazel_consumer" && "$BAZEL" run "${BAZEL_FLAGS[@]}" //:consumer 2>&1); then
  PASSED=$((PASSED + 1))
  say "consumer: passed"
else
  FAILED=$((FAILED + 1))
  say "consumer: FAILED"
fi
TIMES+=("consumer: $((SECONDS - t0))s")

# ---- 5. fuzzing ------------------------------------------------------------
t0=$SECONDS
say "== fuzz: looking for tests tagged fuzz"
query_log="$LOG_DIR/fuzz_query.log"
if fuzz_targets=$("$BAZEL" query --color=no --curses=no 'attr(tags, "\bfuzz\b", tests(//...))' 2>"$query_log"); then
  if [[ -z "$fuzz_targets" ]]; then
    say "fuzz: no targets tagged fuzz"
    TIMES+=("fuzz: $((SECONDS - t0))s")
  else
    say "fuzz: $(echo "$fuzz_targets" | wc -l) target(s), -runs=$FUZZ_RUNS -max_total_time=$FUZZ_MAX_TOTAL_TIME"
    mkdir -p "$FUZZ_ARTIFACTS"
    # shellcheck disable=SC2086 # one label per word
    # --cache_test_results=no: fuzzing again is the point of this step.
    bazel_test fuzz --config=fuzz --cache_test_results=no "--test_arg=-runs=$FUZZ_RUNS" \
      "--test_arg=-max_total_time=$FUZZ_MAX_TOTAL_TIME" \
      "--test_arg=-artifact_prefix=$FUZZ_ARTIFACTS/" $fuzz_targets
  fi
else
  cat "$query_log"
  say "fuzz: bazel query failed: counted as one failure"
  FAILED=$((FAILED + 1))
  TIMES+=("fuzz: $((SECONDS - t0))s")
fi

# ---- 6. CMake ------------------------------------------------------------------
t0=$SECONDS
say "== cmake: sources, configure, build, install, ctest, consumers"
CMAKE_WORK="$(mktemp -d "${TMPDIR:-/tmp}/buffered_pipe_cmake.XXXXXX")"
cmake_step() { # cmake_step NAME COMMAND...: one counted result
  local name="$1"
  shift
  if "$@" >"$LOG_DIR/cmake_$name.log" 2>&1; then
    PASSED=$((PASSED + 1))
    say "cmake: $name passed"
  else
    FAILED=$((FAILED + 1))
    tail -n 60 "$LOG_DIR/cmake_$name.log"
    say "cmake: $name FAILED"
    return 1
  fi
}
if cmake_step sources env BAZEL="$BAZEL" bash "$ROOT/tools/check_cmake_sources.sh" &&
  cmake_step build bash -c "cmake -S '$ROOT' -B '$CMAKE_WORK/build' -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      && cmake --build '$CMAKE_WORK/build' -j 2 \
      && cmake --install '$CMAKE_WORK/build' --prefix '$CMAKE_WORK/prefix'"; then
  # Each ctest test counts as one test.
  (cd "$CMAKE_WORK/build" && ctest --output-on-failure --timeout 900) >"$LOG_DIR/ctest.log" 2>&1
  ctest_summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$LOG_DIR/ctest.log" || true)
  if [[ -z "$ctest_summary" ]]; then
    tail -n 60 "$LOG_DIR/ctest.log"
    say "cmake: ctest printed no summary: counted as one failure"
    FAILED=$((FAILED + 1))
  else
    ctest_failed=$(echo "$ctest_summary" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    ctest_total=$(echo "$ctest_summary" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
    PASSED=$((PASSED + ctest_total - ctest_failed))
    FAILED=$((FAILED + ctest_failed))
    [[ $ctest_failed -eq 0 ]] || grep -E 'Failed|\*\*\*' "$LOG_DIR/ctest.log" | head -40
    say "ctest: $((ctest_total - ctest_failed)) passed, $ctest_failed failed"
  fi
  cmake_step find_package_consumer bash -c "cmake -S '$ROOT/examples/cmake_consumer' -B '$CMAKE_WORK/consumer' \
      -DCMAKE_PREFIX_PATH='$CMAKE_WORK/prefix' && cmake --build '$CMAKE_WORK/consumer' \
      && '$CMAKE_WORK/consumer/consumer' && '$CMAKE_WORK/consumer/network_consumer'" || true
  cmake_step pkg_config_consumer bash -c "export PKG_CONFIG_PATH='$CMAKE_WORK/prefix/lib/pkgconfig'; \
      c++ -o '$CMAKE_WORK/pkg_consumer' '$ROOT/examples/cmake_consumer/main.cc' \
      \$(pkg-config --cflags --libs buffered_pipe) && '$CMAKE_WORK/pkg_consumer' \
      && c++ -o '$CMAKE_WORK/pkg_network_consumer' '$ROOT/examples/cmake_consumer/network_main.cc' \
      \$(pkg-config --cflags --libs buffered_pipe_network) && '$CMAKE_WORK/pkg_network_consumer'" || true
fi
rm -rf "$CMAKE_WORK"
TIMES+=("cmake: $((SECONDS - t0))s")

# ---- 7. Python -----------------------------------------------------------------
t0=$SECONDS
say "== python: bazel/test_python.sh (CMake build of the module, pytest)"
PYTHON_WORK="$(mktemp -d "${TMPDIR:-/tmp}/buffered_pipe_python.XXXXXX")"
BUILD_DIR="$PYTHON_WORK" bash "$ROOT/bazel/test_python.sh" 2>&1 | tee "$LOG_DIR/python.log"
rm -rf "$PYTHON_WORK"
python_summary=$(tail -n 1 "$LOG_DIR/python.log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' || true)
if [[ -z "$python_summary" ]]; then
  say "python: test_python.sh printed no summary: counted as one failure"
  FAILED=$((FAILED + 1))
else
  python_passed=$(echo "$python_summary" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1/')
  python_failed=$(echo "$python_summary" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\2/')
  PASSED=$((PASSED + python_passed))
  FAILED=$((FAILED + python_failed))
  say "python: $python_passed passed, $python_failed failed"
fi
TIMES+=("python: $((SECONDS - t0))s")

exit 0 # the EXIT trap (finish) prints the summary line and sets the exit code
