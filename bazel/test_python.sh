#!/usr/bin/env bash
# The Python module's tests: builds buffered_pipe for Debian's /usr/bin/python3
# with CMake (python/build.sh) and runs its pytest suite (python/tests).
#
#   bash bazel/test_python.sh
#
# Also a step of bazel/test_all.sh. Runs no Bazel. The last line of output is
#
#   N passed, N failed
#
# counting pytest's test cases (skipped ones are not counted; a build
# failure, or a pytest run that prints no summary, is one failure). Exit code
# non-zero if anything failed.
#
# Environment: PYTHON (default /usr/bin/python3), BUILD_DIR (default
# python/build), PYTEST_TIMEOUT (seconds for the whole pytest run, default
# 600), PYTEST_ARGS (extra arguments, e.g. "-k named -v"), SANITIZE=address
# (build the glue and the library with AddressSanitizer and run Python with
# its runtime preloaded; give it its own BUILD_DIR). Under ASan the MPMC
# tests that fork while other threads run are left out: ASan's own
# allocator lock, held by another thread at fork(), deadlocks the child.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
PYTHON="${PYTHON:-/usr/bin/python3}"
export BUILD_DIR="${BUILD_DIR:-$ROOT/python/build}"
PYTEST_TIMEOUT="${PYTEST_TIMEOUT:-600}"

say() { echo "[test_python] $*"; }

if ! bash "$ROOT/bazel/install_deps.sh"; then
  say "installing the Debian packages failed"
  echo "0 passed, 1 failed"
  exit 1
fi

PRELOAD=()
if [[ -n "${SANITIZE:-}" ]]; then
  [[ "$SANITIZE" == address ]] || { say "SANITIZE=address only"; echo "0 passed, 1 failed"; exit 1; }
  export CMAKE_ARGS="${CMAKE_ARGS:-} -DBUFFERED_PIPE_SANITIZE=address -DCMAKE_BUILD_TYPE=RelWithDebInfo"
  # libstdc++ too: python3 does not link it, and ASan must find its __cxa_throw.
  PRELOAD=(env "LD_PRELOAD=$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
           ASAN_OPTIONS=detect_leaks=0)
fi

t0=$SECONDS
say "== build: python/build.sh (BUILD_DIR=$BUILD_DIR)"
if ! PYTHON="$PYTHON" bash "$ROOT/python/build.sh"; then
  say "build FAILED"
  echo "0 passed, 1 failed"
  exit 1
fi
say "build: $((SECONDS - t0))s"

t0=$SECONDS
log="$(mktemp "${TMPDIR:-/tmp}/test_python.XXXXXX")"
say "== pytest: $PYTHON -m pytest python/tests"
# From the top of the tree: python/buffered_pipe (the sources, without the
# extension) must not shadow the built package on sys.path.
# shellcheck disable=SC2086 # PYTEST_ARGS is a list of words
DESELECT=()
[[ -n "${SANITIZE:-}" ]] && DESELECT=(-k "not mpmc_fork")
PYTHONPATH="$BUILD_DIR/package" BUFFERED_PIPE_NAMED_PEER="$BUILD_DIR/bin/named_peer" \
  timeout --kill-after=10 "$PYTEST_TIMEOUT" "${PRELOAD[@]}" "$PYTHON" -m pytest -p no:cacheprovider -rfE \
  "${DESELECT[@]}" ${PYTEST_ARGS:-} python/tests 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
say "pytest: exit $rc, $((SECONDS - t0))s"

# pytest's last line, e.g. "==== 3 failed, 120 passed, 12 skipped in 31.20s ====".
summary=$(grep -E '^=+ .*( passed| failed| error| no tests ran).* in [0-9.]+s' "$log" | tail -n 1)
rm -f "$log"
count() { echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
if [[ -z "$summary" ]]; then
  say "pytest printed no summary (exit $rc): counted as one failure"
  echo "0 passed, 1 failed"
  exit 1
fi
passed=$(count passed)
failed=$(( $(count failed) + $(count errors?) ))
if [[ $rc -ne 0 && $failed -eq 0 ]]; then
  say "pytest exited $rc without a failing test: counted as one failure"
  failed=1
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
