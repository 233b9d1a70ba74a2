#!/usr/bin/env bash
# Quick start: set up, build, and generate text with the bundled demo model
# (models/tessera-demo.gguf). Extra arguments go to `tessera run`
# (e.g. -p "The climate of" -n 200 --temp 0, or -m another.gguf).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release tessera >&2
exec build/release/tools/tessera run -p "The economy of" -n 200 "$@"
