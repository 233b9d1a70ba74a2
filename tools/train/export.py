"""Write (and read back) llama2.c's legacy checkpoint format, version 0.

Usage: export.py CKPT_PT MODEL_BIN

Layout (little-endian): 7 int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads,
vocab_size (positive: classifier shared with the embedding), seq_len; then float32
token_embedding_table [vocab][dim]; rms_att_weight [L][dim]; wq [L][dim][dim];
wk, wv [L][kv_dim][dim]; wo [L][dim][dim]; rms_ffn_weight [L][dim]; w1 [L][hidden][dim];
w2 [L][dim][hidden]; w3 [L][hidden][dim]; rms_final_weight [dim]; then the legacy
freq_cis_real, freq_cis_imag [seq_len][head_size/2] (unused by run.c, written anyway).
Matrices are row-major [out][in], which is how nn.Linear stores them.
"""
import struct
import sys

import numpy as np
import torch

from model import Config, Transformer, rope_tables

HEADER = ("dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len")
# (name in the file, parameter name inside one layer) in file order, per-layer tensors.
LAYER_TENSORS = [("rms_att_weight", "attention_norm.weight"), ("wq", "attention.wq.weight"),
                 ("wk", "attention.wk.weight"), ("wv", "attention.wv.weight"),
                 ("wo", "attention.wo.weight"), ("rms_ffn_weight", "ffn_norm.weight"),
                 ("w1", "feed_forward.w1.weight"), ("w2", "feed_forward.w2.weight"),
                 ("w3", "feed_forward.w3.weight")]


def write_llama2c(model, path):
    cfg, sd = model.cfg, model.state_dict()
    parts = [sd["tok_embeddings.weight"]]
    for _, name in LAYER_TENSORS:  # each tensor for all layers, then the next tensor
        parts += [sd[f"layers.{i}.{name}"] for i in range(cfg.n_layers)]
    cos, sin = rope_tables(cfg)
    parts += [sd["norm.weight"], cos, sin]
    with open(path, "wb") as f:
        f.write(struct.pack("<7i", *(getattr(cfg, k) for k in HEADER)))
        for t in parts:
            f.write(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())


def read_llama2c(path):
    """The checkpoint back as a Transformer (checks the size, as the engines do)."""
    raw = open(path, "rb").read()
    values = struct.unpack_from("<7i", raw)
    if values[5] <= 0:
        raise ValueError("only shared-classifier checkpoints (vocab_size > 0) are written here")
    cfg = Config(**dict(zip(HEADER, values)))
    model = Transformer(cfg)
    data = np.frombuffer(raw, dtype="<f4", offset=28)
    at = 0

    def take(shape):
        nonlocal at
        n = int(np.prod(shape))
        out = torch.from_numpy(data[at:at + n].copy()).view(*shape)
        at += n
        return out

    sd = {"tok_embeddings.weight": take((cfg.vocab_size, cfg.dim))}
    for _, name in LAYER_TENSORS:
        shape = model.state_dict()[f"layers.0.{name}"].shape
        for i in range(cfg.n_layers):
            sd[f"layers.{i}.{name}"] = take(shape)
    sd["norm.weight"] = take((cfg.dim,))
    at += 2 * cfg.seq_len * (cfg.head_size // 2)  # legacy freq_cis tables
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} floats left over; wrong header?")
    model.load_state_dict(sd)
    return model


def main():
    ckpt = torch.load(sys.argv[1], map_location="cpu")
    model = Transformer(Config(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    write_llama2c(model, sys.argv[2])
    back = read_llama2c(sys.argv[2])  # round trip: every tensor must come back bit-exact
    for k, v in model.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
