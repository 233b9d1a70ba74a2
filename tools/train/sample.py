"""Greedy continuation from an exported checkpoint, to eyeball the model and to give
engines (Tessera, llama2.c's run.c) ids to compare against.

Usage: sample.py MODEL_BIN TOKENIZER_BIN [--prompt TEXT] [--steps N]

--steps counts positions as run.c's -n does (prompt tokens included, BOS at position 0).
Greedy = argmax, ties to the lowest id. Stops early if BOS is produced, as run.c does.
"""
import argparse
import json

import torch

from export import read_llama2c
from tokenizer import BOS, Tokenizer


@torch.no_grad()
def greedy(model, ids, steps):
    ids = list(ids)
    while len(ids) < steps + 1 and len(ids) <= model.cfg.seq_len:
        logits = model(torch.tensor([ids[-model.cfg.seq_len:]]))[0, -1]
        nxt = int(torch.argmax(logits))  # first maximum = lowest id
        if nxt == BOS:
            break
        ids.append(nxt)
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("--prompt", default="")
    ap.add_argument("--steps", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = read_llama2c(args.model).eval()
    tok = Tokenizer.load(args.tokenizer, model.cfg.vocab_size)
    prompt_ids = tok.encode(args.prompt, bos=True)
    ids = greedy(model, prompt_ids, args.steps)
    print(json.dumps({"prompt": args.prompt, "steps": args.steps, "prompt_token_ids": prompt_ids,
                      "all_token_ids": ids, "decoded_text": tok.decode(ids[1:])}, ensure_ascii=False))


if __name__ == "__main__":
    main()
