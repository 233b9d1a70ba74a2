#!/usr/bin/env bash
# Installs the Debian 12 packages Tessera builds with, only when one is missing;
# with --tests also those the test suite uses, with --fuzz those the fuzz targets
# need (clang and its libFuzzer runtime). (libsimde-dev: the test-only build of the
# AVX-512 kernels on portable intrinsics, tests/CMakeLists.txt.)
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev libfmt-dev nlohmann-json3-dev libpcre2-dev libcpp-httplib-dev libsimde-dev)
# qemu-user: tests run the binary on emulated CPUs without AVX2 (tests/cli/cpu_tiers_test.cpp).
[ "${1:-}" = "--tests" ] && packages+=(qemu-user)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
