"""Perplexity of a llama2.c checkpoint on a text, by llama.cpp's llama-perplexity method.

Usage: perplexity.py MODEL_BIN TOKENIZER_BIN TEXT_FILE [--ctx 128 256 ...]

It scores the exported files themselves (not the training checkpoint), so the numbers
are what Tessera's `perplexity` command should reproduce. Method: encode the whole text
with BOS once at the start; cut the tokens into non-overlapping chunks of n_ctx (the
remainder is dropped); in each chunk replace the first token by BOS, run the chunk from
position 0, and score only positions n_ctx/2 .. n_ctx-2, each predicting the next token.
PPL = exp(mean NLL); the error is llama.cpp's: ppl * sqrt(var(NLL) / (count - 1)).
"""
import argparse
import math

import torch
import torch.nn.functional as F

from export import read_llama2c
from tokenizer import BOS, Tokenizer


@torch.no_grad()
def perplexity(model, tokens, n_ctx, batch=8):
    n_chunks = len(tokens) // n_ctx
    if n_chunks < 1:
        raise ValueError(f"need at least {n_ctx} tokens, have {len(tokens)}")
    chunks = torch.tensor(tokens[: n_chunks * n_ctx], dtype=torch.long).view(n_chunks, n_ctx).clone()
    chunks[:, 0] = BOS
    first = n_ctx // 2
    nll_sum, nll2_sum, count = 0.0, 0.0, 0
    for k in range(0, n_chunks, batch):
        c = chunks[k:k + batch]
        logp = F.log_softmax(model(c).double(), dim=-1)  # [b, n_ctx, vocab]
        targets = c[:, first + 1:]
        nll = -logp[:, first:n_ctx - 1].gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        nll_sum += nll.sum().item()
        nll2_sum += (nll * nll).sum().item()
        count += nll.numel()
    mean, mean2 = nll_sum / count, nll2_sum / count
    ppl = math.exp(mean)
    err = ppl * math.sqrt(max(mean2 - mean * mean, 0.0) / (count - 1))
    return ppl, err, n_chunks, count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("text")
    ap.add_argument("--ctx", type=int, nargs="+", default=[128, 256])
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = read_llama2c(args.model).eval()
    tok = Tokenizer.load(args.tokenizer, model.cfg.vocab_size)
    with open(args.text, encoding="utf-8") as f:
        tokens = tok.encode(f.read(), bos=True)
    print(f"{args.text}: {len(tokens)} tokens (BOS included); uniform baseline PPL = {model.cfg.vocab_size}")
    for n_ctx in args.ctx:
        if n_ctx > model.cfg.seq_len:
            print(f"n_ctx {n_ctx}: skipped, longer than the model's seq_len {model.cfg.seq_len}")
            continue
        ppl, err, n_chunks, count = perplexity(model, tokens, n_ctx)
        print(f"n_ctx {n_ctx}: {n_chunks} chunks, {count} predictions scored, "
              f"Final estimate: PPL = {ppl:.4f} +/- {err:.5f}")


if __name__ == "__main__":
    main()
