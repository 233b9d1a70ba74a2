#!/usr/bin/env python3
"""Side-by-side speed of Tessera and llama.cpp-family engines on the same GGUF files.

Runs `tessera bench` and each peer's `llama-bench` on the same models, tests and
threads, alternating engines round by round (so machine noise hits all alike), and
prints median tokens/s per engine and the ratio Tessera / peer. Peers are existing
build directories given by --peer NAME=DIR (or TESSERA_PEERS="NAME=DIR,NAME=DIR");
--baseline NAME=TESSERA_BINARY adds another Tessera build (say, an older commit's)
as one more engine, to check a change for regressions the same way. Environment
variables such as TESSERA_ISA=avx2 apply to every Tessera binary. This script
never builds or downloads anything.

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
    ap.add_argument("--baseline", action="append", default=[],
                    help="NAME=TESSERA_BINARY of another Tessera build, run like tessera and compared as a peer")
    ap.add_argument("--roofline", action="store_true",
                    help="also report fractions of the measured roofline; every engine run is then bracketed by "
                    "read-bandwidth probes and its tg results judged against the larger of the two")
    args = ap.parse_args()

    peers = dict(p.split("=", 1) for p in args.peer)
    if os.environ.get("TESSERA_PEERS"):
        peers.update(p.split("=", 1) for p in os.environ["TESSERA_PEERS"].split(",") if p)
    extra = {k: shlex.split(v) for k, v in (p.split("=", 1) for p in args.peer_args)}
    engines = {"tessera": lambda m: [args.tessera, "bench"] + bench_args(m, args)}
    for name, exe in (b.split("=", 1) for b in args.baseline):
        if not os.access(exe, os.X_OK):
            sys.exit(f"compare_peers: --baseline {name}: {exe} is not an executable")
        engines[name] = lambda m, exe=exe: [exe, "bench"] + bench_args(m, args)
    for name, build in peers.items():
        exe = peer_tool(build, "llama-bench", "compare_peers")
        engines[name] = lambda m, exe=exe, name=name: [exe] + bench_args(m, args) + extra.get(name, [])

    # The read bandwidth of a shared host moves from minute to minute (one Zen 4
    # KVM guest: ~30 to ~55 GB/s), so a tg result is judged against probes taken
    # right before and right after its own run, not one from the end of the script.
    def read_probe():
        machine = run_json([args.tessera, "bench", "--roofline", "-p", "0", "-n", "0", "-t", str(args.t), "-o", "json"])
        return machine[0]["roofline_read_gbps"]

    # samples[(engine, model, test)] = per-call avg_ts values; bandwidth[...] = the read
    # bandwidth each call is judged against (tg tests, --roofline)
    samples = {}
    bandwidth = {}
    roof = {}
    last_probe = read_probe() if args.roofline else None
    for rnd in range(args.rounds):
        order = list(engines) if rnd % 2 == 0 else list(reversed(list(engines)))
        for model in args.model:
            for name in order:
                recs = run_json(engines[name](model))
                if args.roofline:
                    probe = read_probe()
                    run_gbps, last_probe = max(last_probe, probe), probe
                for rec in recs:
                    test = f"pp{rec['n_prompt']}" if rec["n_prompt"] else f"tg{rec['n_gen']}"
                    samples.setdefault((name, model, test), []).append(rec["avg_ts"])
                    beside = ""
                    if args.roofline:
                        bandwidth.setdefault((name, model, test), []).append(run_gbps)
                        beside = f", read bandwidth beside it {run_gbps:.1f} GB/s" if rec["n_gen"] else ""
                    # each run, so a noisy median can be judged pair by pair
                    print(f"round {rnd + 1}: {name} {os.path.basename(model)} {test} {rec['avg_ts']:.2f} t/s{beside}",
                          file=sys.stderr, flush=True)
    if args.roofline:
        for model in args.model:
            for rec in run_json([args.tessera, "bench", "--roofline"] + bench_args(model, args)):
                test = f"pp{rec['n_prompt']}" if rec["n_prompt"] else f"tg{rec['n_gen']}"
                # per token/s, the same for every engine: FLOPs against the compute peaks (pp),
                # GB streamed (tg, then divided by each run's own bandwidth)
                per_ts = rec["roofline_fraction"] / rec["median_ts"]
                roof[(model, test)] = per_ts * rec["roofline_read_gbps"] if rec["n_gen"] else per_ts

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
                for n in names:
                    if n not in med:
                        row.append("-")
                    elif test.startswith("tg"):  # the median of each run's GB/s over its own bandwidth
                        runs = zip(samples[(n, model, test)], bandwidth[(n, model, test)])
                        fractions = [roof[(model, test)] * ts / gbps for ts, gbps in runs]
                        row.append(f"{100 * statistics.median(fractions):.0f}%")
                    else:
                        row.append(f"{100 * roof[(model, test)] * med[n]:.0f}%")
            print("| " + " | ".join(row) + " |")
    print(f"\nmedians of {args.rounds} alternating rounds, each the mean of {args.r} runs; {args.t} threads", file=sys.stderr)
    if bandwidth:
        probes = sorted(g for v in bandwidth.values() for g in v)
        print(f"read bandwidth beside the runs: {probes[0]:.1f} to {probes[-1]:.1f} GB/s "
              "(tg roofline: each run against the larger probe of the two around it)", file=sys.stderr)


if __name__ == "__main__":
    main()
