"""Checks tokenizer.py's encoder against llama2.c's own encoder outputs.

Usage: test_tokenizer.py [TESTDATA_DIR] [--vocab TOKENIZER_BIN VOCAB_SIZE --text FILE]

1. The llama2.c test vectors in TESTDATA_DIR/llama2c/tokenizer_encode.json (made with
   run.c's encode() on tok512.bin and the Llama 2 tokenizer.bin) must come out exactly.
2. With --vocab and --text: the chunked fast encoder must equal the whole-text reference
   on many random slices of the text, and decode(encode(x)) must give x back.
"""
import argparse
import json
import os
import random

from tokenizer import Tokenizer


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("testdata", nargs="?", default=os.path.join(here, "..", "..", "..", "shared", "testdata"))
    ap.add_argument("--vocab", nargs=2, metavar=("TOKENIZER_BIN", "VOCAB_SIZE"))
    ap.add_argument("--text")
    args = ap.parse_args()
    failures = 0

    vectors = json.load(open(os.path.join(args.testdata, "llama2c", "tokenizer_encode.json")))
    for name, size in vectors["vocab_files"].items():
        tok = Tokenizer.load(os.path.join(args.testdata, "llama2c", name), size)
        for case in vectors["cases"][name]:
            if tok.encode(case["text"]) != case["ids"]:
                failures += 1
                print(f"FAIL {name} {case['text']!r}")
        print(f"{name}: {len(vectors['cases'][name])} llama2.c vectors checked")

    if args.vocab and args.text:
        tok = Tokenizer.load(args.vocab[0], int(args.vocab[1]))
        text = open(args.text, encoding="utf-8").read()
        rng = random.Random(0)
        samples = [text[s:s + rng.randrange(1, 300)] for s in (rng.randrange(len(text)) for _ in range(500))]
        samples += ["", " ", "  x", "\n\n", "a \n b", "Zoë saw a café — “€5” 😀", "\t\ttab"]
        for s in samples:
            if tok.encode(s) != tok.encode_reference(s) or tok.decode(tok.encode(s)) != s:
                failures += 1
                print(f"FAIL fast/reference/decode {s[:60]!r}")
        assert tok.decode(tok.encode(text)) == text
        print(f"{args.vocab[0]}: {len(samples)} slices of {args.text} checked")

    print(f"{failures} failed")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
