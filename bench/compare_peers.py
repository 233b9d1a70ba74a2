#!/usr/bin/env python3
"""Side-by-side speed of Tessera and llama.cpp-family engines on the same GGUF files.

Runs `tessera bench` and each peer's `llama-bench` on the same models, tests and
threads, alternating engines round by round (so machine noise hits all alike), and
prints median tokens/s per engine and the ratio Tessera / peer. Peers are existing
build directories given by --peer NAME=DIR (or TESSERA_PEERS="NAME=DIR,NAME=DIR");
this script never builds or downloads anything.

Example:
  bench/compare_peers.py -m tinyllama-q4_0.gguf -p 512 -n 128 -t 2 --rounds 3 \\
      --peer llama.cpp=/scratch/llama.cpp/build \\
      --peer ik_llama.cpp=/scratch/ik_llama.cpp/build --peer-args ik_llama.cpp="-fa 1 -rtr 1"
"""
import argparse
import json
import os
import shlex
import statistics
import sys

from peer_tools import peer_tool, run_stdout


def run_json(cmd):
    out = run_stdout(cmd)
    start = out.find("[")  # llama-bench may print log lines before the JSON
    return json.loads(out[start:])


def bench_args(model, args):
    return ["-m", model, "-p", str(args.p), "-n", str(args.n), "-t", str(args.t), "-r", str(args.r), "-o", "json"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", action="append", required=True, help="GGUF file (repeatable)")
    ap.add_argument("-p", type=int, default=512, help="prompt tokens (pp test)")
    ap.add_argument("-n", type=int, default=128, help="generated tokens (tg test)")
    ap.add_argument("-t", type=int, default=2, help="threads")
    ap.add_argument("-r", type=int, default=3, help="repetitions inside each bench call")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds over all engines")
    ap.add_argument("--tessera", default=os.path.join(os.path.dirname(__file__), "..", "build", "release", "tools", "tessera"))
    ap.add_argument("--peer", action="append", default=[], help="NAME=BUILD_DIR of a llama.cpp-family build")
    ap.add_argument("--peer-args", action="append", default=[], help='NAME="extra llama-bench flags"')
    ap.add_argument("--roofline", action="store_true", help="also report fractions of the measured roofline")
    args = ap.parse_args()

    peers = dict(p.split("=", 1) for p in args.peer)
    if os.environ.get("TESSERA_PEERS"):
        peers.update(p.split("=", 1) for p in os.environ["TESSERA_PEERS"].split(",") if p)
    extra = {k: shlex.split(v) for k, v in (p.split("=", 1) for p in args.peer_args)}
    engines = {"tessera": lambda m: [args.tessera, "bench"] + bench_args(m, args)}
    for name, build in peers.items():
        exe = peer_tool(build, "llama-bench", "compare_peers")
        engines[name] = lambda m, exe=exe, name=name: [exe] + bench_args(m, args) + extra.get(name, [])

    # samples[(engine, model, test)] = per-call avg_ts values
    samples = {}
    roof = {}
    for rnd in range(args.rounds):
        order = list(engines) if rnd % 2 == 0 else list(reversed(list(engines)))
        for model in args.model:
            for name in order:
                for rec in run_json(engines[name](model)):
                    test = f"pp{rec['n_prompt']}" if rec["n_prompt"] else f"tg{rec['n_gen']}"
                    samples.setdefault((name, model, test), []).append(rec["avg_ts"])
    if args.roofline:
        for model in args.model:
            for rec in run_json([args.tessera, "bench", "--roofline"] + bench_args(model, args)):
                test = f"pp{rec['n_prompt']}" if rec["n_prompt"] else f"tg{rec['n_gen']}"
                # fraction per token/s: the same bytes / FLOPs per token hold for every engine
                roof[(model, test)] = rec["roofline_fraction"] / rec["median_ts"]

    names = list(engines)
    peer_names = names[1:]
    head = ["model", "test"] + [f"{n} t/s" for n in names] + [f"tessera / {p}" for p in peer_names]
    if roof:
        head += [f"{n} roofline" for n in names]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for model in args.model:
        for test in sorted({k[2] for k in samples if k[1] == model}):
            med = {n: statistics.median(samples[(n, model, test)]) for n in names if (n, model, test) in samples}
            row = [os.path.basename(model), test] + [f"{med[n]:.2f}" if n in med else "-" for n in names]
            row += [f"{med['tessera'] / med[p]:.2f}x" if p in med and "tessera" in med else "-" for p in peer_names]
            if roof:
                row += [f"{100 * roof[(model, test)] * med[n]:.0f}%" if n in med else "-" for n in names]
            print("| " + " | ".join(row) + " |")
    print(f"\nmedians of {args.rounds} alternating rounds, each the mean of {args.r} runs; {args.t} threads", file=sys.stderr)


if __name__ == "__main__":
    main()
