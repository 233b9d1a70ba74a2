#!/usr/bin/env python3
"""Many sequences at once, side by side: `tessera batched-bench` and llama.cpp's
`llama-batched-bench` on the same GGUF file, rows and threads.

Both print one JSON object per row (llama-batched-bench's field names: pp, tg,
pl, n_kv, t_pp, speed_pp, t_tg, speed_tg, t, speed). Engines alternate round by
round so machine noise hits all alike; the table shows median speeds per
engine, Tessera / peer ratios, and Tessera's aggregate generation speed as a
multiple of its own single-sequence speed. Peers are existing build
directories (--peer NAME=DIR); this script never builds or downloads anything.

Example:
  bench/compare_batched.py -m tinyllama-q4_0.gguf -npp 128 -ntg 128 -npl 1,2,4,8,16 -t 2 \\
      --rounds 3 --peer llama.cpp=/scratch/llama.cpp/build
  bench/compare_batched.py -m tinyllama-q4_0.gguf -npp 512 -ntg 32 -npl 8 --pps ...
"""
import argparse
import json
import os
import shlex
import statistics
import sys

from peer_tools import peer_tool, run_stdout


def run_jsonl(cmd):
    out = run_stdout(cmd, quiet_stderr=True)
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    if not rows:
        sys.exit(f"compare_batched: no JSON rows from {cmd[0]}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, help="GGUF file")
    ap.add_argument("-npp", default="128", help="prompt lengths, comma-separated")
    ap.add_argument("-ntg", default="128", help="generated tokens per sequence")
    ap.add_argument("-npl", default="1,2,4,8,16", help="parallel sequences")
    ap.add_argument("--pps", action="store_true", help="one shared prompt for all sequences")
    ap.add_argument("-t", type=int, default=2, help="threads")
    ap.add_argument("-b", type=int, default=512, help="tokens per forward pass (llama.cpp: -b and -ub)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds over all engines")
    ap.add_argument("--tessera", default=os.path.join(os.path.dirname(__file__), "..", "build", "release", "tools", "tessera"))
    ap.add_argument("--peer", action="append", default=[], help="NAME=BUILD_DIR of a llama.cpp-family build")
    ap.add_argument("--peer-args", action="append", default=[], help='NAME="extra llama-batched-bench flags"')
    args = ap.parse_args()

    peers = dict(p.split("=", 1) for p in args.peer)
    extra = {k: shlex.split(v) for k, v in (p.split("=", 1) for p in args.peer_args)}
    pps = [int(x) for x in args.npp.split(",")]
    tgs = [int(x) for x in args.ntg.split(",")]
    pls = [int(x) for x in args.npl.split(",")]
    n_kv = max((pp + pl * tg) if args.pps else pl * (pp + tg) for pp in pps for tg in tgs for pl in pls)
    common = ["-npp", args.npp, "-ntg", args.ntg, "-npl", args.npl, "-t", str(args.t)] + (["-pps"] if args.pps else [])
    cmds = {"tessera": [args.tessera, "batched-bench", "-m", args.model, "-b", str(args.b), "--output-format", "jsonl"] + common}
    for name, build in peers.items():
        # llama.cpp sizes its KV cache from -c; a little slack for its cell alignment.
        cmds[name] = [peer_tool(build, "llama-batched-bench", "compare_batched"), "-m", args.model, "-c", str(n_kv + 256), "-b", str(args.b), "-ub", str(args.b),
                      "-fa", "--output-format", "jsonl"] + common + extra.get(name, [])

    samples = {}  # (engine, pp, tg, pl) -> field -> [values]
    for _ in range(args.rounds):
        for name, cmd in cmds.items():
            for row in run_jsonl(cmd):
                key = (name, row["pp"], row["tg"], row["pl"])
                for field in ("speed_pp", "speed_tg", "speed"):
                    samples.setdefault(key, {}).setdefault(field, []).append(row[field])

    def med(name, pp, tg, pl, field):
        v = samples.get((name, pp, tg, pl), {}).get(field)
        return statistics.median(v) if v else float("nan")

    names = list(cmds)
    cols = ["PP", "TG", "B", "field"] + names + [f"tessera / {n}" for n in names[1:]] + ["tessera vs its B=1"]
    print(f"\nmedians over {args.rounds} alternating round(s), {args.t} thread(s), shared prompt: {args.pps}\n")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for pp in pps:
        for tg in tgs:
            for pl in pls:
                for field in ("speed_pp", "speed_tg", "speed"):
                    vals = [med(n, pp, tg, pl, field) for n in names]
                    cells = [str(pp), str(tg), str(pl), field] + [f"{v:.2f}" for v in vals]
                    cells += [f"{vals[0] / v:.2f}x" for v in vals[1:]]
                    own = med("tessera", pp, tg, 1, field)
                    cells.append(f"{vals[0] / own:.2f}x" if field == "speed_tg" and own == own else "")
                    print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
