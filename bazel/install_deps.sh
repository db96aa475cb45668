#!/usr/bin/env bash
# Installs the Debian 12 packages that the offline Bazel build needs, and
# nothing when they are all present (so local runs stay fast).
# Used by bazel/test_all.sh, bazel/build_examples.sh and .ci/run.
#
#   bash bazel/install_deps.sh            # install what is missing
#   bash bazel/install_deps.sh --list     # print the package list
#
# Keep in sync with bazel/system_deps.bzl (the `apt` of each library).
set -euo pipefail

PACKAGES=(
  # Bazel 4.2.3 and the pieces of the offline WORKSPACE (bazel/repositories.bzl)
  bazel-bootstrap
  bazel-rules-java
  bazel-platforms
  # the default toolchain (gcc 12) and pkg-config (read by the repository rule
  # and by the pkg-config consumer); CMake for the CMake build
  build-essential
  pkg-config
  cmake
  # --config=tsan and --config=fuzz: clang-14, its sanitizer runtimes and
  # libFuzzer, llvm-symbolizer for readable reports
  clang-14
  libclang-rt-14-dev
  llvm-14
  # third-party C++ libraries, mapped to upstream labels by bazel/system_deps.bzl
  libabsl-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libcereal-dev
  libboost-dev
  libzmq3-dev
  # //benchmarks:compare draws its chart with gnuplot
  gnuplot-nox
  # the Python module (python/, bazel/test_python.sh): pybind11 and the
  # headers of Debian's /usr/bin/python3, pytest for its tests
  pybind11-dev
  python3-dev
  python3-pytest
)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps: all ${#PACKAGES[@]} Debian packages are installed"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install_deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# `apt-get update` may fail where CI uses a mirror set-up without network to
# the index: go on with the lists we have. A failed install is fatal.
if ! "${SUDO[@]}" apt-get update -q; then
  echo "install_deps: warning: apt-get update failed; trying the existing package lists" >&2
fi
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install_deps: done"
