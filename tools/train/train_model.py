"""Train the demo Llama model on one CPU thread.

Usage: train_model.py --data DIR --tokenizer TOKENIZER_BIN --out DIR [options]

DIR holds train.txt / heldout.txt (prepare_data.sh). Each document (documents are
separated by a blank line) is encoded with tokenizer.py's encoder, exactly as the
engines encode a prompt, with BOS in front; the documents are concatenated into one
stream, cut into windows of seq_len + 1 tokens (stride seq_len), and the windows are
visited in a seeded random order, epoch after epoch. AdamW with linear warmup then a
cosine decay to lr / 10. Writes OUT/ckpt.pt (weights + config) and logs to stdout.
"""
import argparse
import dataclasses
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from model import Config, Transformer
from tokenizer import Tokenizer


def read_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d.strip("\n") for d in f.read().split("\n\n") if d.strip("\n")]


def token_windows(tok, docs, seq_len):
    """All [seq_len + 1] windows of the BOS-separated document stream, stride seq_len."""
    stream = torch.tensor([i for d in docs for i in tok.encode(d, bos=True)], dtype=torch.long)
    n = (len(stream) - 1) // seq_len
    return stream[: n * seq_len + 1].unfold(0, seq_len + 1, seq_len), len(stream)


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr / 10 + (args.lr - args.lr / 10) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def mean_loss(model, windows, batch_size):
    model.eval()
    total, count = 0.0, 0
    for k in range(0, len(windows), batch_size):
        w = windows[k:k + batch_size]
        logits = model(w[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), w[:, 1:].reshape(-1), reduction="sum").item()
        count += w[:, 1:].numel()
    model.train()
    return total / count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--hidden-dim", type=int, default=688)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=8)
    ap.add_argument("--n-kv-heads", type=int, default=4)
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=8, help="windows per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=48, help="held-out windows for periodic evals")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    torch.set_num_threads(1)  # the machine is shared: one core, by agreement
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    cfg = Config(dim=args.dim, hidden_dim=args.hidden_dim, n_layers=args.n_layers, n_heads=args.n_heads,
                 n_kv_heads=args.n_kv_heads, vocab_size=args.vocab_size, seq_len=args.seq_len)
    tok = Tokenizer.load(args.tokenizer, cfg.vocab_size)
    train, n_train = token_windows(tok, read_docs(os.path.join(args.data, "train.txt")), cfg.seq_len)
    held, n_held = token_windows(tok, read_docs(os.path.join(args.data, "heldout.txt")), cfg.seq_len)
    # A fixed, evenly spread subset keeps periodic evals cheap; the last eval uses all of it.
    held_subset = held[torch.linspace(0, len(held) - 1, min(args.eval_windows, len(held))).long()]
    print(f"train {n_train} tokens ({len(train)} windows), heldout {n_held} tokens ({len(held)} windows)")

    model = Transformer(cfg)
    print(f"config {json.dumps(dataclasses.asdict(cfg))}")
    print(f"parameters {model.n_params()} ({model.n_params() * 4 / 1e6:.1f} MB as f32)")
    decay = [p for p in model.parameters() if p.dim() == 2]  # matrices and the embedding, not norms
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))

    order_gen = torch.Generator().manual_seed(args.seed)
    order, cursor, epoch = torch.randperm(len(train), generator=order_gen), 0, 0
    t_start, recent = time.time(), []
    tokens_per_step = args.batch_size * cfg.seq_len

    def save():
        torch.save({"config": dataclasses.asdict(cfg), "model": model.state_dict(), "args": vars(args)},
                   os.path.join(args.out, "ckpt.pt"))

    for step in range(args.steps):
        if cursor + args.batch_size > len(order):
            epoch += 1
            order, cursor = torch.randperm(len(train), generator=order_gen), 0
        batch = train[order[cursor:cursor + args.batch_size]]
        cursor += args.batch_size
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        recent.append(loss.item())

        done = step + 1
        if done % 10 == 0 or done == 1:
            elapsed = time.time() - t_start
            print(f"step {done}/{args.steps} epoch {epoch} lr {lr_at(step, args):.2e} "
                  f"train_loss {sum(recent) / len(recent):.4f} "
                  f"{done * tokens_per_step / elapsed:.0f} tok/s elapsed {elapsed / 60:.1f} min", flush=True)
            recent = []
        if done % args.eval_every == 0 and done < args.steps:
            print(f"eval step {done} heldout_loss {mean_loss(model, held_subset, 16):.4f} (subset)", flush=True)
            save()

    save()
    final_train = mean_loss(model, train[torch.linspace(0, len(train) - 1, len(held)).long()], 16)
    final_held = mean_loss(model, held, 16)
    print(f"final step {args.steps} train_loss {final_train:.4f} heldout_loss {final_held:.4f} "
          f"heldout_ppl {math.exp(final_held):.2f} (BOS-separated documents, windows of {cfg.seq_len}) "
          f"wall {(time.time() - t_start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
