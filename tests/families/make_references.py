#!/usr/bin/env python3
"""Reference outputs of a llama.cpp-family server on Tessera's tiny family models.

For each GGUF given, starts an existing `llama-server` build (this script never
builds or downloads anything) with an F32 KV cache (--cache-type) on one slot,
and records:
  - the server's token ids for a few texts (POST /tokenize), and
  - for each of those prompts (sent as token ids), the greedy continuation of
    N tokens with the top-K log-probabilities (log-softmax of the full logits,
    before sampling) at every generated position (POST /completion, n_probs).
The server reports a position only once its text is whole UTF-8, and stops at
any end-of-generation token whatever ignore_eos says, so tokens that are part of
a character (byte tokens >= 0x80) or are control tokens (text "<...>" or none),
both found with POST /detokenize, are banned from the greedy choice (logit_bias false); the
reported log-probabilities are of the raw logits all the same.
With --embedding (an embedding model such as BERT), the server runs with
--embedding and records instead, for each text, the token ids (POST /tokenize
with add_special) and the pooled, L2-normalised embedding of those ids
(POST /embedding {content: ids}).
Writes FILE.ref.json beside each model, with the peer's name, commit and command.

--allowed-probs (for ik_llama.cpp): its /completion reports the top tokens by text
only (no ids), and its OpenAI route /v1/completions, which has the ids, answers
HTTP 500 ("invalid UTF-8") whenever a reported token is a lone UTF-8
continuation byte (its check only trims a character cut off at the end; its
/detokenize fails on those tokens the same way, and they are banned). So the
request goes to /v1/completions asking for greedy sampling with probabilities
(temperature -1) and the probabilities after sampling (post_sampling_probs):
the softmax of the logits with the banned ids at -inf, i.e. log-probabilities
over the allowed ids only, among which no byte token can appear. The file then
says "logprobs_over": "allowed", and a test renormalises its own logits over
the same ids.

Examples:
  tests/families/make_references.py --server /scratch/llama.cpp/build/bin/llama-server \\
      --peer "llama.cpp c392e5094" tests/data/families/qwen2-tiny.gguf
  tests/families/make_references.py --server /scratch/ik_llama.cpp/build/bin/llama-server \\
      --peer "ik_llama.cpp 8337e4cd3" --cache-type f16 --server-args "-fa off" --allowed-probs \\
      tests/data/families/qwen3-tiny.gguf
"""
import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

TEXTS = ["Once upon a time there was a cat", "hello world", "the quick brown fox jumps over the lazy dog"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def piece(port, token):
    """The token's text, or None when the server cannot send it as JSON (ik_llama.cpp: a
    lone UTF-8 continuation byte, HTTP 500)."""
    try:
        return post(port, "/detokenize", {"tokens": [token]})["content"]
    except urllib.error.HTTPError as e:
        if e.code != 500:
            raise
        return None


def wait_ready(port, proc):
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"llama-server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    sys.exit("llama-server did not become ready")


def generation_cases(port, model, args):
    """Greedy ids and top log-probabilities per text; returns (banned ids, cases, the requests made)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=10) as r:
        n_vocab = json.loads(r.read())["data"][0]["meta"]["n_vocab"]
    pieces = [piece(port, i) for i in range(n_vocab)]
    banned = [i for i, p in enumerate(pieces)
              if not p or "\ufffd" in p or (len(p) > 2 and p[0] == "<" and p[-1] == ">")]
    request = {"n_predict": args.n, "temperature": 0, "n_probs": args.top, "ignore_eos": True,
               "cache_prompt": False, "logit_bias": [[i, False] for i in banned]}
    endpoint, top_key, top_logprob = "/completion", "top_logprobs", lambda t: t["logprob"]
    if args.allowed_probs:  # ik_llama.cpp's /completion names tokens by text only: its OpenAI route has ids
        request.update(temperature=-1, post_sampling_probs=True, logprobs=args.top)
        endpoint, top_key, top_logprob = "/v1/completions", "top_probs", lambda t: math.log(t["prob"])
    cases = []
    for text in TEXTS:
        ids = post(port, "/tokenize", {"content": text, "add_special": True})["tokens"]
        out = post(port, endpoint, dict(request, prompt=ids))
        positions = out["choices"][0]["logprobs"]["content"] if args.allowed_probs else out["completion_probabilities"]
        if len(positions) != args.n:
            sys.exit(f"{model}: the server reported {len(positions)} of {args.n} positions")
        cases.append({
            "text": text,
            "prompt_ids": ids,
            "greedy_ids": [p["id"] for p in positions],
            "top_logprobs": [[[t["id"], top_logprob(t)] for t in p[top_key]] for p in positions],
        })
    requests = ("POST /tokenize {content, add_special: true}; POST %s {prompt: ids, %s}"
                % (endpoint, ", ".join("%s: %s" % (k, json.dumps(v)) for k, v in request.items() if k != "logit_bias"))
                + " with logit_bias: banned_ids x false")
    return banned, cases, requests


def embedding_cases(port):
    """Token ids and the pooled embedding per text; returns ([], cases, the requests made)."""
    cases = []
    for text in TEXTS:
        ids = post(port, "/tokenize", {"content": text, "add_special": True})["tokens"]
        out = post(port, "/embedding", {"content": ids})
        embedding = out[0]["embedding"] if isinstance(out, list) else out["embedding"]
        if embedding and isinstance(embedding[0], list):  # one pooled vector, as a list of one
            embedding = embedding[0]
        cases.append({"text": text, "prompt_ids": ids, "embedding": embedding})
    requests = ("POST /tokenize {content, add_special: true}; POST /embedding {content: ids} "
                "(pooled by the model's pooling_type, L2-normalised)")
    return [], cases, requests


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--server", required=True, help="path of an existing llama-server binary")
    ap.add_argument("--peer", required=True, help='peer name and commit, e.g. "llama.cpp c392e5094"')
    ap.add_argument("--cache-type", default="f32", help="KV cache type of both engines (ik_llama.cpp needs f16 without flash attention)")
    ap.add_argument("--server-args", default="", help='extra server flags, e.g. "-fa off" for ik_llama.cpp')
    ap.add_argument("-n", type=int, default=16, help="tokens generated per prompt")
    ap.add_argument("--top", type=int, default=5, help="log-probabilities kept per position")
    ap.add_argument("--allowed-probs", action="store_true",
                    help="log-probabilities over the allowed ids only (post-sampling), for ik_llama.cpp's server")
    ap.add_argument("--embedding", action="store_true", help="an embedding model: record pooled embeddings")
    args = ap.parse_args()

    for model in args.models:
        port = free_port()
        cmd = [args.server, "-m", model, "--port", str(port), "-t", "2", "-c", "256", "-np", "1",
               "-ctk", args.cache_type, "-ctv", args.cache_type, "--no-warmup"] + args.server_args.split()
        if args.embedding:
            cmd.append("--embedding")
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(port, proc)
            banned, cases, requests = embedding_cases(port) if args.embedding else generation_cases(port, model, args)
        finally:
            proc.terminate()
            proc.wait()
        ref = {
            "model": os.path.basename(model),
            "peer": args.peer,
            "command": "llama-server -m %s --port PORT %s" % (os.path.basename(model), " ".join(cmd[5:])),
            "requests": requests,
            "cache_type": args.cache_type,
            "logprobs_over": "allowed" if args.allowed_probs else "all",
            "banned_ids": banned,
            "cases": cases,
        }
        with open(model + ".ref.json", "w") as f:  # one line per case: small diffs, readable
            head = {k: v for k, v in ref.items() if k != "cases"}
            f.write(json.dumps(head, indent=1)[:-2] + ',\n "cases": [\n')
            f.write(",\n".join("  " + json.dumps(c) for c in cases))
            f.write("\n ]\n}\n")
        print(f"wrote {model}.ref.json")


if __name__ == "__main__":
    main()
