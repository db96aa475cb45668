#!/usr/bin/env bash
# Builds the Python module buffered_pipe (CMake, against this repository's
# C++ sources) with Debian 12's /usr/bin/python3, offline.
#
#   bash python/build.sh            # package in python/build/package/buffered_pipe
#   export PYTHONPATH=$PWD/python/build/package
#   bash python/build.sh --install  # also copies it to the user's site-packages
#                                   # (python3 -m site --user-site): no PYTHONPATH needed
#
# Environment: PYTHON (default /usr/bin/python3), BUILD_DIR (default
# python/build), JOBS (default 2), CMAKE_ARGS (more -D options, e.g.
# -DBUFFERED_PIPE_SANITIZE=address). Needs: cmake, g++, libabsl-dev,
# libcereal-dev, pybind11-dev, python3-dev (bazel/install_deps.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
BUILD_DIR="${BUILD_DIR:-$here/build}"
JOBS="${JOBS:-2}"

mkdir -p "$BUILD_DIR"
# shellcheck disable=SC2086 # CMAKE_ARGS is a list of words
cmake -S "$here" -B "$BUILD_DIR" -DPython_EXECUTABLE="$PYTHON" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} \
  > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j"$JOBS"
package="$BUILD_DIR/package"
if [[ "${CMAKE_ARGS:-}" == *BUFFERED_PIPE_SANITIZE* ]]; then
  echo "built buffered_pipe with a sanitizer in $package (import it with the runtime preloaded)"
else
  PYTHONPATH="$package" "$PYTHON" -c "import buffered_pipe; print('built buffered_pipe', buffered_pipe.__version__, 'in $package')"
fi

if [[ "${1:-}" == "--install" ]]; then
  site="$("$PYTHON" -m site --user-site)"
  mkdir -p "$site"
  rm -rf "$site/buffered_pipe"
  cp -r "$package/buffered_pipe" "$site/"
  echo "installed in $site/buffered_pipe"
fi
