#!/usr/bin/env python3
"""Serving throughput, side by side: `tessera serve` and an existing llama.cpp
`llama-server` on the same GGUF file, threads and parallel sequences.

For each concurrency C (-np C on both servers), C clients each send their
requests to /v1/completions at once: a prompt of exactly --prompt-tokens token
ids (BOS and then the tokens of a text distinct per request, so no prefix cache
helps either engine; the same ids for both), greedy, streamed, and exactly
--gen-tokens generated (ignore_eos on both). Per request it measures the time to
the first generated text; per round the aggregate generated tokens/s (all
tokens over the round's wall time, prefills included). Every reply's usage must
show the prompt and generation lengths asked for, or the script stops.

Only one server runs at a time: each round starts a fresh server per engine,
alternating engines, so machine noise hits both alike. The table shows medians
over rounds. This script never builds or downloads anything (python3 stdlib).

Example:
  bench/compare_serve.py -m /work/bench-models/tinyllama-q4_0.gguf \\
      --llama-server /work/peers/llama.cpp/build/bin/llama-server -c 1,4,8,16 --rounds 3
"""
import argparse
import http.client
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time

from peer_tools import peer_tool

WORDS = ("river mountain village story king garden winter market music letter forest harbour journey "
         "candle mirror engine window bridge summer doctor castle meadow lantern ocean silver thunder "
         "orchard library island valley painter sailor meadow stone tower autumn desert echo").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_json(port, method, path, body=None, timeout=600):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None
    finally:
        conn.close()


class Server:
    """One engine's server process, from start to ready; stop() ends it."""

    def __init__(self, name, cmd, port, log_path):
        self.name, self.port = name, port
        print("+", " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"compare_serve: {name} exited while starting (see {log_path})")
            try:
                if request_json(port, "GET", "/health", timeout=5)[0] == 200:
                    return
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"compare_serve: {name} did not become ready (see {log_path})")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def prompt_text(index):
    rng = random.Random(index)
    return f"Request {index}: " + " ".join(rng.choice(WORDS) for _ in range(400))


def tokenize(port, text, add_special):
    status, body = request_json(port, "POST", "/tokenize", {"content": text, "add_special": add_special})
    if status != 200:
        sys.exit(f"compare_serve: /tokenize answered {status}: {body}")
    return [t if isinstance(t, int) else t["id"] for t in body["tokens"]]


def make_prompts(port, count, n_tokens):
    """`count` distinct prompts of exactly n_tokens ids (BOS, then a text's
    tokens), and a short warm-up prompt unlike any of them."""
    bos = tokenize(port, "", True)
    if len(bos) != 1:
        sys.exit(f"compare_serve: the model adds {bos} for an empty text; expected one BOS token")
    prompts = []
    for i in range(count):
        ids = tokenize(port, prompt_text(i), False)
        if len(ids) < n_tokens - 1:
            sys.exit(f"compare_serve: prompt text {i} has only {len(ids)} tokens")
        prompts.append(bos + ids[:n_tokens - 1])
    warmup = bos + tokenize(port, "Warm-up: " + prompt_text(-1), False)[:15]
    return prompts, warmup


def one_request(port, prompt, n_gen, out):
    """Streams one completion; appends (ttft seconds, completion tokens, prompt tokens)."""
    body = {"prompt": prompt, "max_tokens": n_gen, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}, "ignore_eos": True, "cache_prompt": False}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"status {resp.status}: {resp.read()[:300]!r}")
    ttft, usage = None, None
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            break
        chunk = json.loads(data)
        if chunk.get("usage"):
            usage = chunk["usage"]
        if ttft is None and any(c.get("text") for c in chunk.get("choices", [])):
            ttft = time.perf_counter() - t0
    conn.close()
    if usage is None:
        raise RuntimeError("no usage in the stream")
    out.append((ttft if ttft is not None else float("nan"), usage["completion_tokens"], usage["prompt_tokens"]))


def run_round(port, prompts, n_gen):
    """All prompts at once, one client each: aggregate t/s and per-request TTFTs."""
    results, errors = [], []

    def client(p):
        try:
            one_request(port, p, n_gen, results)
        except Exception as e:  # reported below, with the engine's name
            errors.append(str(e))

    threads = [threading.Thread(target=client, args=(p,)) for p in prompts]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return results, errors, wall


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q / 100 * (len(v) - 1)))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, help="GGUF file")
    ap.add_argument("--llama-server", required=True, help="llama-server executable, or the build directory holding it")
    ap.add_argument("-c", "--concurrency", default="1,4,8,16", help="clients at once (and -np), comma-separated")
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--requests", type=int, default=1, help="requests per client per round")
    ap.add_argument("-t", type=int, default=2, help="threads")
    ap.add_argument("-b", type=int, default=512, help="tokens per forward pass (llama.cpp: -b and -ub)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds over both engines")
    ap.add_argument("--tessera", default=os.path.join(os.path.dirname(__file__), "..", "build", "release", "tools", "tessera"))
    ap.add_argument("--log-dir", default="/tmp", help="where the servers' logs go")
    args = ap.parse_args()

    llama = args.llama_server
    if os.path.isdir(llama):
        llama = peer_tool(llama, "llama-server", "compare_serve")
    levels = [int(x) for x in args.concurrency.split(",")]
    n_ctx = args.prompt_tokens + args.gen_tokens + 64

    def command(engine, conc, port):
        if engine == "tessera":
            return [args.tessera, "serve", "-m", args.model, "--host", "127.0.0.1", "--port", str(port),
                    "--parallel", str(conc), "-t", str(args.t), "-b", str(args.b),
                    "--ctx-size-seq", str(n_ctx), "-c", str(n_ctx * conc)]
        # llama-server splits -c among its -np slots.
        return [llama, "-m", args.model, "--host", "127.0.0.1", "--port", str(port), "-np", str(conc),
                "-t", str(args.t), "-b", str(args.b), "-ub", str(args.b), "-c", str(n_ctx * conc), "-fa"]

    engines = ["tessera", "llama.cpp"]
    prompts = {}   # concurrency -> prompts (the same ids for both engines)
    samples = {}   # (engine, conc) -> {"tps": [...], "p50": [...], "p99": [...]}
    load = [os.getloadavg()[0]]
    for conc in levels:
        for rnd in range(args.rounds):
            for engine in engines:
                port = free_port()
                server = Server(engine, command(engine, conc, port), port,
                                os.path.join(args.log_dir, f"compare_serve_{engine}_{conc}.log"))
                try:
                    if conc not in prompts:
                        # Every round runs on a fresh server, so repeating the prompts caches nothing.
                        prompts[conc], warmup = make_prompts(port, conc * args.requests, args.prompt_tokens)
                    elif engine == "llama.cpp" and rnd == 0:
                        # Both tokenizers agree on the first prompt (they read the same GGUF).
                        theirs = tokenize(port, prompt_text(0), False)[:args.prompt_tokens - 1]
                        if theirs != prompts[conc][0][1:]:
                            print("compare_serve: note: the tokenizers differ on prompt 0; both get the same ids",
                                  file=sys.stderr)
                    one_request(port, warmup, 4, [])
                    results, errors, wall = run_round(port, prompts[conc], args.gen_tokens)
                finally:
                    server.stop()
                if errors:
                    sys.exit(f"compare_serve: {engine} at concurrency {conc}: {errors[0]}")
                for ttft, n_gen, n_prompt in results:
                    if n_gen != args.gen_tokens or n_prompt != args.prompt_tokens:
                        sys.exit(f"compare_serve: {engine} reported {n_prompt} prompt and {n_gen} generated tokens; "
                                 f"asked for {args.prompt_tokens} and {args.gen_tokens}")
                ttfts = [r[0] for r in results]
                s = samples.setdefault((engine, conc), {"tps": [], "p50": [], "p99": []})
                s["tps"].append(sum(r[1] for r in results) / wall)
                s["p50"].append(percentile(ttfts, 50))
                s["p99"].append(percentile(ttfts, 99))
                load.append(os.getloadavg()[0])
                print(f"{engine} C={conc} round {rnd + 1}: {s['tps'][-1]:.1f} t/s, TTFT p50 {s['p50'][-1]:.2f} s, "
                      f"p99 {s['p99'][-1]:.2f} s", file=sys.stderr, flush=True)

    def med(engine, conc, key):
        return statistics.median(samples[(engine, conc)][key])

    print(f"\n{args.model}: prompts of {args.prompt_tokens} tokens, {args.gen_tokens} generated, greedy, streamed; "
          f"{args.t} threads; {args.requests} request(s) per client; medians of {args.rounds} round(s); "
          f"load average (1 min) {min(load):.1f}-{max(load):.1f}\n")
    print("| clients | tessera t/s | llama.cpp t/s | ratio | tessera TTFT p50 | llama.cpp TTFT p50 | ratio "
          "| tessera TTFT p99 | llama.cpp TTFT p99 | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for conc in levels:
        t, l = med("tessera", conc, "tps"), med("llama.cpp", conc, "tps")
        row = [str(conc), f"{t:.1f}", f"{l:.1f}", f"{t / l:.2f}x"]
        for key in ("p50", "p99"):
            a, b = med("tessera", conc, key), med("llama.cpp", conc, key)
            row += [f"{a:.2f} s", f"{b:.2f} s", f"{a / b:.2f}x"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
