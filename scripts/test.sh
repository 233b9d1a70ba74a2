#!/usr/bin/env bash
# Set up, build and run the whole test suite for a preset (default: release;
# also debug, sanitize, or tsan: the threaded tests under ThreadSanitizer).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh --tests
scripts/build.sh "$preset"
ctest --preset "$preset" -j "$(nproc)"
