#!/usr/bin/env bash
# Installs the Debian 12 packages Tessera builds with, only when one is missing;
# with --tests also those the test suite uses, with --fuzz those the fuzz targets
# need (clang and its libFuzzer runtime). (libsimde-dev: the test-only build of the
# AVX-512 kernels on portable intrinsics, tests/CMakeLists.txt.)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev libfmt-dev nlohmann-json3-dev libpcre2-dev libicu-dev libcpp-httplib-dev libsimde-dev)
if [ "${1:-}" = "--tests" ]; then
  # qemu-user: tests run the binary on emulated CPUs without AVX2 (tests/cli/cpu_tiers_test.cpp).
  # chromium, its driver and tesseract: the web page's end-to-end test (tests/cli/web_chat_test.cpp).
  packages+=(qemu-user chromium chromium-driver tesseract-ocr tesseract-ocr-eng fonts-dejavu-core)
  # Node.js and npm: the `openai` npm client test (tests/node). A machine that has
  # them from elsewhere (e.g. a newer nodejs that bundles npm) keeps its own.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The npm packages of tests/node, exactly as package-lock.json pins them; again
# only when the installed tree is not from this lock file.
if [ "${1:-}" = "--tests" ]; then
  stamp=tests/node/node_modules/.installed-from-lock
  if ! cmp -s tests/node/package-lock.json "$stamp"; then
    echo "setup: npm ci in tests/node" >&2
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp tests/node/package-lock.json "$stamp"
  fi
fi
exit 0
