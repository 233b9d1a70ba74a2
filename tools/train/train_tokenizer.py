"""Train a SentencePiece-style BPE vocabulary and write it as llama2.c's tokenizer.bin.

Usage: train_tokenizer.py TRAIN_TXT OUT_TOKENIZER_BIN [--vocab-size N] [--min-char-count N]

Classic BPE over chunks (see tokenizer.CHUNK_RE): count chunk frequencies once, then
repeatedly merge the most frequent adjacent symbol pair, updating pair counts only in the
chunks that hold it. Symbols start as the encoder starts them: a codepoint that is in
the alphabet, else byte tokens, which never merge (their piece text is "<0x..>", so a
merge with them would be meaningless). Merge k (from 1) gets score -k: earlier merges are applied
first by the score-greedy encoder, which is how the engines turn scores into an order.
Ties between equally frequent pairs go to the lexicographically largest pair, so the
result depends only on the input text.
"""
import argparse
import collections
import time

from tokenizer import BYTE_BASE, CHUNK_RE, SPECIALS, Tokenizer, byte_piece

BYTE = None  # a symbol standing for a byte token: never part of a pair


def train(text, vocab_size, min_char_count):
    chars = collections.Counter(text)
    chars[" "] += 1  # the dummy prefix must be a piece (llama2.c looks it up)
    alphabet = sorted((c for c, n in chars.items() if n >= min_char_count),
                      key=lambda c: (-chars[c], c))
    in_alphabet = set(alphabet)
    n_merges = vocab_size - BYTE_BASE - 256 - len(alphabet)
    assert n_merges > 0, "vocab_size too small for the alphabet"

    # Every chunk starts with the dummy-prefix space only where the encoder adds one.
    chunk_counts = collections.Counter(CHUNK_RE.findall(" " + text))
    words = [[c if c in in_alphabet else BYTE for c in chunk] for chunk in chunk_counts]
    counts = list(chunk_counts.values())

    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words that (may) hold it

    def add_pairs(wi, sign):
        syms = words[wi]
        for a, b in zip(syms, syms[1:]):
            if a is not BYTE and b is not BYTE:
                pair_counts[(a, b)] += sign * counts[wi]
                if sign > 0:
                    where[(a, b)].add(wi)

    for wi in range(len(words)):
        add_pairs(wi, +1)

    merges, seen = [], set(alphabet)
    while len(merges) < n_merges and pair_counts:
        best = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))
        (a, b), n = best
        if n < 2:
            break
        merged = a + b
        for wi in sorted(where.pop((a, b))):
            syms = words[wi]
            if not any(x == a and y == b for x, y in zip(syms, syms[1:])):
                continue  # stale index entry
            add_pairs(wi, -1)
            out, k = [], 0
            while k < len(syms):
                if k + 1 < len(syms) and syms[k] == a and syms[k + 1] == b:
                    out.append(merged)
                    k += 2
                else:
                    out.append(syms[k])
                    k += 1
            words[wi] = out
            add_pairs(wi, +1)
        for pair in [p for p, c in pair_counts.items() if c <= 0]:
            del pair_counts[pair]
        if merged not in seen:  # two different pairs can spell the same piece
            seen.add(merged)
            merges.append(merged)

    pieces = SPECIALS + [byte_piece(b) for b in range(256)] + alphabet + merges
    scores = [0.0] * (BYTE_BASE + 256 + len(alphabet)) + [-float(k + 1) for k in range(len(merges))]
    return Tokenizer(pieces, scores)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train_txt")
    ap.add_argument("out")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--min-char-count", type=int, default=2,
                    help="rarer codepoints are left to byte fallback")
    args = ap.parse_args()
    with open(args.train_txt, encoding="utf-8") as f:
        text = f.read()
    t0 = time.time()
    tok = train(text, args.vocab_size, args.min_char_count)
    tok.save(args.out)
    n_alpha = tok.scores.index(-1.0) - BYTE_BASE - 256
    print(f"vocab {len(tok)} (alphabet {n_alpha}, merges {len(tok) - BYTE_BASE - 256 - n_alpha}), "
          f"{time.time() - t0:.1f} s -> {args.out}")
    if len(tok) != args.vocab_size:
        raise SystemExit(f"only {len(tok)} pieces could be learned, asked for {args.vocab_size}")


if __name__ == "__main__":
    main()
