#!/usr/bin/env bash
# The whole recipe: data -> tokenizer -> model -> llama2.c export -> perplexity.
# Usage: tools/train/train_all.sh SCRATCH_DIR      (outputs in SCRATCH_DIR/demo-model/)
# Runs on ONE CPU thread (the machine is shared); about 40 minutes on a 2-core x86-64.
set -euo pipefail
scratch=$(mkdir -p "${1:?usage: train_all.sh SCRATCH_DIR}" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
out=$scratch/demo-model
py=/usr/bin/python3   # Debian's python: the one python3-torch installs into
mkdir -p "$out"
stamp() { echo "[$(date -u +%H:%M:%S)] $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# One thread everywhere, also for BLAS and OpenMP pools.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

if ! $py -c 'import torch, numpy' 2>/dev/null; then
  stamp "installing python3-torch python3-numpy"
  as_root apt-get install -y python3-torch python3-numpy
fi

# Debian's torch calls whatever libblas.so.3 the system has; the default is the reference
# BLAS (~4 GFLOP/s here), OpenBLAS is ~15x faster on one core. Rather than switch the
# system-wide alternative, unpack OpenBLAS into the scratch dir and point only this run at it.
blas=$scratch/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ ! -e "$blas/libblas.so.3" ]; then
  stamp "fetching OpenBLAS (Debian libopenblas0-pthread) into $scratch/openblas"
  mkdir -p "$scratch/openblas"
  (cd "$scratch/openblas" && apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb root) ||
    echo "warning: no OpenBLAS; training with the reference BLAS will be much slower" >&2
fi
[ -e "$blas/libblas.so.3" ] && export LD_LIBRARY_PATH=$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

cd "$here"
SECONDS=0
stamp "1/5 data"
./prepare_data.sh "$scratch"
cp "$scratch/data/heldout.txt" "$out/heldout.txt"

stamp "2/5 tokenizer"
$py train_tokenizer.py "$scratch/data/train.txt" "$out/tokenizer.bin" --vocab-size 4096

# Check the encoder against llama2.c's test vectors when the shared test data is beside
# the checkout (it is in the Tessera workspace), and the fast path against the reference.
testdata=$here/../../../shared/testdata
if [ -f "$testdata/llama2c/tokenizer_encode.json" ]; then
  $py test_tokenizer.py "$testdata" --vocab "$out/tokenizer.bin" 4096 --text "$out/heldout.txt"
fi

stamp "3/5 model"
t0=$SECONDS
$py train_model.py --data "$scratch/data" --tokenizer "$out/tokenizer.bin" --out "$scratch/ckpt" \
  --dim 256 --hidden-dim 688 --n-layers 4 --n-heads 8 --n-kv-heads 4 --vocab-size 4096 --seq-len 256 \
  --steps 1000 --batch-size 8 --lr 1.5e-3 --warmup 50 --seed 1234 2>&1 | tee "$out/train.log"
stamp "training took $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s" | tee -a "$out/train.log"

stamp "4/5 export"
$py export.py "$scratch/ckpt/ckpt.pt" "$out/model.bin"

stamp "5/5 perplexity"
$py perplexity.py "$out/model.bin" "$out/tokenizer.bin" "$out/heldout.txt" --ctx 128 256 | tee "$out/perplexity.txt"
for prompt in "" "Austria" "The economy of"; do
  $py sample.py "$out/model.bin" "$out/tokenizer.bin" --prompt "$prompt" --steps 128
done > "$out/samples.jsonl"
(cd "$out" && sha256sum model.bin tokenizer.bin heldout.txt > SHA256SUMS && ls -l)
stamp "done in $(( SECONDS / 60 )) min"
