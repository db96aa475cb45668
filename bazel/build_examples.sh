#!/usr/bin/env bash
# The README's other command: builds and runs every example program.
#
#   bash bazel/build_examples.sh
#
# Installs missing Debian packages, then `bazel run`s every cc_binary of
# //examples (discovered with bazel query: adding an example needs no edit
# here), each with a time limit of EXAMPLE_TIMEOUT seconds (default 300).
# The consumer workspace examples/bazel_consumer is run by bazel/test_all.sh.
# Then the Python examples, examples/python/*.py, with the module built by
# CMake (python/build.sh, no Bazel), each run by /usr/bin/python3.
# Ends with the line "N passed, N failed"; exit code non-zero on failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
BAZEL="${BAZEL:-bazel}"
EXAMPLE_TIMEOUT="${EXAMPLE_TIMEOUT:-300}"
PASSED=0
FAILED=0

say() { echo "[build_examples] $*"; }

if ! bash "$ROOT/bazel/install_deps.sh"; then
  say "installing the Debian packages failed"
  echo "0 passed, 1 failed"
  exit 1
fi

if [[ ! -f examples/BUILD.bazel && ! -f examples/BUILD ]]; then
  say "no //examples package yet: nothing to run"
  echo "0 passed, 0 failed"
  exit 0
fi

if ! targets=$("$BAZEL" query --color=no --curses=no 'kind("cc_binary rule", //examples:*)'); then
  say "bazel query of //examples failed"
  echo "0 passed, 1 failed"
  exit 1
fi
if [[ -z "$targets" ]]; then
  say "//examples has no cc_binary: nothing to run"
  echo "0 passed, 0 failed"
  exit 0
fi

say "building $(echo "$targets" | wc -l) example(s)"
# shellcheck disable=SC2086 # one label per word
if ! "$BAZEL" build --color=no --curses=no --keep_going $targets; then
  say "some examples failed to build (each is counted when run below)"
fi
for target in $targets; do
  say "== $target"
  t0=$SECONDS
  if timeout --kill-after=10 "$EXAMPLE_TIMEOUT" "$BAZEL" run --color=no --curses=no "$target"; then
    PASSED=$((PASSED + 1))
    say "$target: passed ($((SECONDS - t0))s)"
  else
    FAILED=$((FAILED + 1))
    say "$target: FAILED ($((SECONDS - t0))s)"
  fi
done
# ---- Python examples ------------------------------------------------------------
PYTHON_WORK="$(mktemp -d "${TMPDIR:-/tmp}/buffered_pipe_examples.XXXXXX")"
say "== python: building the module (python/build.sh)"
if BUILD_DIR="$PYTHON_WORK" bash "$ROOT/python/build.sh"; then
  for example in "$ROOT"/examples/python/*.py; do
    say "== python ${example#"$ROOT"/}"
    t0=$SECONDS
    if PYTHONPATH="$PYTHON_WORK/package" timeout --kill-after=10 "$EXAMPLE_TIMEOUT" \
      /usr/bin/python3 "$example"; then
      PASSED=$((PASSED + 1))
      say "${example#"$ROOT"/}: passed ($((SECONDS - t0))s)"
    else
      FAILED=$((FAILED + 1))
      say "${example#"$ROOT"/}: FAILED ($((SECONDS - t0))s)"
    fi
  done
else
  FAILED=$((FAILED + 1))
  say "python: the module failed to build"
fi
rm -rf "$PYTHON_WORK"

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
