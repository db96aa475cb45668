#!/usr/bin/env bash
# Fails if the library's sources and public headers in the Bazel targets
# (//framework, //codecs and //network, without tests, fuzzers and tools) differ from
# the CMake build's list, cmake/sources.cmake. Run by bazel/test_all.sh.
#
#   bash tools/check_cmake_sources.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BAZEL="${BAZEL:-bazel}"

bazel_list() {
  local package="$1"
  # Source files of the package's libraries (not tests, fuzzers, binaries).
  "$BAZEL" query --color=no --curses=no \
    "labels(srcs, kind(cc_library, //$package:*)) + labels(hdrs, kind(cc_library, //$package:*))" \
    2>/dev/null | grep "^//$package:" | sed -e "s|^//$package:||" | grep -v '^fuzz/' | sort -u
}
cmake_list() {
  local package="$1" upper
  upper=$(echo "$package" | tr '[:lower:]' '[:upper:]')
  awk -v h="BUFFERED_PIPE_${upper}_HEADERS" -v s="BUFFERED_PIPE_${upper}_SOURCES" '
    $0 ~ "^set\\(" h "$" || $0 ~ "^set\\(" s "$" { on = 1; next }
    on && /^\)/ { on = 0; next }
    on { gsub(/ /, ""); print }' cmake/sources.cmake | sort -u
}
status=0
for package in framework codecs network; do
  if ! diff <(bazel_list "$package") <(cmake_list "$package") > /tmp/check_cmake_sources.$$; then
    echo "[check_cmake_sources] $package: Bazel (<) and cmake/sources.cmake (>) differ:"
    cat /tmp/check_cmake_sources.$$
    status=1
  fi
  rm -f /tmp/check_cmake_sources.$$
done
[[ $status -eq 0 ]] && echo "[check_cmake_sources] Bazel and CMake list the same sources and headers"
exit $status
