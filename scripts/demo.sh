#!/usr/bin/env bash
# Quick start: set up, build, and generate text with the default model.
# Extra arguments go to `tessera run` (e.g. -p "The cat" -n 200 --temp 0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release >&2
model="../shared/testdata/gguf/stories260K-f32-ctx512.gguf"
if [ ! -f "$model" ]; then
  echo "demo: the default model $model is missing (it comes with ../shared/testdata)" >&2
  exit 1
fi
exec build/release/tools/tessera run -m "$model" -p "Once upon a time" -n 200 "$@"
