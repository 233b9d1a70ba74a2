#!/usr/bin/env bash
# Configures and builds one CMake preset (release, debug or sanitize); an
# optional second argument builds just that target (e.g. tessera).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh
cmake --preset "$preset" >/dev/null
if [ $# -ge 2 ]; then
  cmake --build --preset "$preset" --target "$2"
else
  cmake --build --preset "$preset"
fi
