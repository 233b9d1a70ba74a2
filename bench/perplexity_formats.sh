#!/usr/bin/env bash
# Perplexity of one F32 model after `tessera quantize` to each weight format and
# mixture, on one text (README "Quality under quantisation"). With LLAMA_BIN set
# to an existing llama.cpp build's bin folder, its llama-perplexity also scores
# the same quantized files (it never builds or downloads anything).
#   bench/perplexity_formats.sh MODEL.gguf TEXT [CTX] [OUT_DIR]
set -euo pipefail
model="$1"; text="$2"; ctx="${3:-128}"; out="${4:-$(mktemp -d)}"
tessera="${TESSERA_BIN:-$(dirname "$0")/../build/release/tools/tessera}"
types="f32 f16 q8_0 q6_k q5_k_m q5_k_s q5_k q5_1 q5_0 q4_k_m q4_k_s q4_k q4_1 q4_0 iq4_nl iq4_xs q3_k_l q3_k_m q3_k_s q3_k q2_k"
ppl() { sed -n 's/.*Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 \2/p'; }
printf '| type | bytes | tessera PPL | llama.cpp PPL |\n|---|---:|---:|---:|\n'
for t in $types; do
  f="$out/model-$t.gguf"
  "$tessera" quantize "$model" "$f" "$t" >/dev/null 2>&1
  ours=$("$tessera" perplexity -m "$f" -f "$text" -c "$ctx" -ctk f32 -ctv f32 2>/dev/null | ppl)
  theirs="-"
  if [ -n "${LLAMA_BIN:-}" ]; then
    theirs=$("$LLAMA_BIN/llama-perplexity" -m "$f" -f "$text" -c "$ctx" -b "$ctx" -ctk f32 -ctv f32 2>&1 | ppl)
  fi
  printf '| %s | %s | %s | %s |\n' "$t" "$(stat -c %s "$f")" "$ours" "$theirs"
done
