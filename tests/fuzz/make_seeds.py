#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/)
and the GGUF dictionary (tests/fuzz/gguf.dict).

Seeds are tiny valid inputs, so mutations start from files that get past the
parsers into tokenizers and the forward pass. Deterministic: rerunning writes
the same bytes. Usage: tests/fuzz/make_seeds.py  (from anywhere)
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
          U64: "<Q", I64: "<q", F64: "<d"}
T_F32, T_F16, T_Q4_0, T_Q8_0 = 0, 1, 2, 8


def gguf_string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        etype, items = value
        out = struct.pack("<IQ", etype, len(items))
        return out + b"".join(gguf_value(etype, v) for v in items)
    return struct.pack(SCALAR[vtype], value)


def gguf_file(kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, dims, ggml type, data bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    offset = 0
    for name, dims, ttype, data in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ttype, offset)
        offset += -(-len(data) // alignment) * alignment
    if tensors:
        out += b"\0" * (-len(out) % alignment)
        for _, _, _, data in tensors:
            out += data + b"\0" * (-len(data) % alignment)
    return out


def f32_data(rng, n):
    return struct.pack(f"<{n}f", *[rng.uniform(-0.5, 0.5) for _ in range(n)])


def f16_data(rng, n):
    return struct.pack(f"<{n}e", *[rng.uniform(-0.5, 0.5) for _ in range(n)])


def q8_0_data(rng, n):
    blocks = []
    for _ in range(n // 32):
        blocks.append(struct.pack("<e32b", 0.01, *[rng.randint(-127, 127) for _ in range(32)]))
    return b"".join(blocks)


def q4_0_data(rng, n):
    return b"".join(struct.pack("<e", 0.02) + bytes(rng.randrange(256) for _ in range(16)) for _ in range(n // 32))


ENCODERS = {T_F32: f32_data, T_F16: f16_data, T_Q8_0: q8_0_data, T_Q4_0: q4_0_data}


def spm_vocab():
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in (0x0A, 0x20, 0xC3, 0xA9)]
    tokens += ["\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "<user>"]
    types = [2, 3, 3] + [6] * 4 + [1] * 6 + [4]
    scores = [0.0] * 7 + [-1.0, -2.0, -2.5, -1.5, -1.8, -0.5, 0.0]
    return [("tokenizer.ggml.model", STRING, "llama"),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
            ("tokenizer.ggml.scores", ARRAY, (F32, scores)),
            ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
            ("tokenizer.ggml.bos_token_id", U32, 1),
            ("tokenizer.ggml.eos_token_id", U32, 2),
            ("tokenizer.ggml.unknown_token_id", U32, 0),
            ("tokenizer.ggml.add_bos_token", BOOL, True)], len(tokens)


def byte_level_symbol(b):
    """GPT-2's printable stand-in for byte b."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    if b in printable:
        return chr(b)
    return chr(256 + [x for x in range(256) if x not in printable].index(b))


def gpt2_vocab(pre):
    tokens = [byte_level_symbol(b) for b in range(256)]
    merges = ["\u0120 t", "h e", "\u0120t he", "i n", "\u0120 a"]
    tokens += ["\u0120t", "he", "\u0120the", "in", "\u0120a", "<|endoftext|>"]
    types = [1] * (len(tokens) - 1) + [3]
    return [("tokenizer.ggml.model", STRING, "gpt2"),
            ("tokenizer.ggml.pre", STRING, pre),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
            ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
            ("tokenizer.ggml.merges", ARRAY, (STRING, merges)),
            ("tokenizer.ggml.bos_token_id", U32, len(tokens) - 1),
            ("tokenizer.ggml.eos_token_id", U32, len(tokens) - 1),
            ("tokenizer.ggml.add_bos_token", BOOL, False)], len(tokens)


def llama_model(vocab, n_vocab, dim, n_head, n_kv, ffn, mtype, tied, seed, extra=()):
    rng = random.Random(seed)
    head = dim // n_head
    kvs = [("general.architecture", STRING, "llama"), ("general.name", STRING, "fuzz seed"),
           ("llama.context_length", U32, 16), ("llama.embedding_length", U32, dim),
           ("llama.block_count", U32, 1), ("llama.feed_forward_length", U32, ffn),
           ("llama.attention.head_count", U32, n_head), ("llama.attention.head_count_kv", U32, n_kv),
           ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5), ("llama.rope.dimension_count", U32, head),
           ("llama.rope.freq_base", F32, 10000.0), *extra] + vocab

    def mat(name, cols, rows, ttype=mtype):
        return (name, [cols, rows], ttype, ENCODERS[ttype](rng, cols * rows))

    def vec(name, n):
        return (name, [n], T_F32, f32_data(rng, n))

    tensors = [mat("token_embd.weight", dim, n_vocab, T_F16 if mtype != T_F32 else T_F32), vec("output_norm.weight", dim)]
    if not tied:
        tensors.append(mat("output.weight", dim, n_vocab))
    tensors += [vec("blk.0.attn_norm.weight", dim), mat("blk.0.attn_q.weight", dim, dim),
                mat("blk.0.attn_k.weight", dim, head * n_kv), mat("blk.0.attn_v.weight", dim, head * n_kv),
                mat("blk.0.attn_output.weight", dim, dim), vec("blk.0.ffn_norm.weight", dim),
                mat("blk.0.ffn_gate.weight", dim, ffn), mat("blk.0.ffn_down.weight", ffn, dim),
                mat("blk.0.ffn_up.weight", dim, ffn)]
    return gguf_file(kvs, tensors)


def llama2c_checkpoint(seed):
    """dim 8, hidden 16, 1 layer, 2 heads, 2 kv heads, vocab 8 (shared classifier), seq_len 4."""
    rng = random.Random(seed)
    dim, hidden, layers, heads, kv, vocab, seq = 8, 16, 1, 2, 2, 8, 4
    floats = vocab * dim + layers * (dim + 4 * dim * dim + dim + 3 * hidden * dim) + dim + seq * (dim // heads)
    ckpt = struct.pack("<7i", dim, hidden, layers, heads, kv, vocab, seq) + f32_data(rng, floats)
    pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n", b"<0x41>", b" ", b"a", b"b", b" ab"]
    tok = struct.pack("<I", max(len(p) for p in pieces))
    tok += b"".join(struct.pack("<fi", -float(i), len(p)) + p for i, p in enumerate(pieces))
    return struct.pack("<H", len(ckpt)) + ckpt + tok


TEXTS = [b"", b"Hello world", b"  leading spaces\tand\ttabs\n\nnew lines ",
         "caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001F600 \u0420\u043e\u0441\u0441\u0438\u044f".encode(),
         b"<s>bos</s> <|endoftext|> <user>", b"int main() { return 0x1F; } // 3.14159 1234567",
         b"\xff\xfe invalid \xc3 utf-8 \xe2\x96", b"I've they're we'll DON'T"]


def sampler_seed(temp, top_k, top_p, min_p, penalty, last_n, seed, n_vocab, logits, recent):
    out = struct.pack("<fifffiQ", temp, top_k, top_p, min_p, penalty, last_n, seed)
    out += struct.pack("<H", n_vocab - 1) + struct.pack(f"<{len(logits)}f", *logits)
    return out + struct.pack(f"<{len(recent)}h", *recent)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


DICT_WORDS = """general.architecture general.alignment general.name general.file_type
llama.context_length llama.embedding_length llama.block_count llama.feed_forward_length
llama.attention.head_count llama.attention.head_count_kv llama.attention.key_length llama.attention.value_length
llama.attention.layer_norm_rms_epsilon llama.rope.dimension_count llama.rope.freq_base llama.rope.scale_linear
llama.rope.scaling.type llama.rope.scaling.factor llama.vocab_size
tokenizer.ggml.model tokenizer.ggml.pre tokenizer.ggml.tokens tokenizer.ggml.scores tokenizer.ggml.token_type
tokenizer.ggml.merges tokenizer.ggml.bos_token_id tokenizer.ggml.eos_token_id tokenizer.ggml.eot_token_id
tokenizer.ggml.unknown_token_id tokenizer.ggml.add_bos_token tokenizer.ggml.add_space_prefix
token_embd.weight output.weight output_norm.weight rope_freqs.weight blk.0.attn_q.weight blk.0.attn_k.weight
blk.0.attn_v.weight blk.0.attn_output.weight blk.0.attn_norm.weight blk.0.ffn_gate.weight blk.0.ffn_up.weight
blk.0.ffn_down.weight blk.0.ffn_norm.weight blk.1.attn_q.weight
llama gpt2 linear none gpt-2 llama-bpe llama3 deepseek-llm deepseek-coder falcon starcoder qwen2 smollm""".split()


def write_dict():
    """Keys and names bare and as GGUF strings (u64 length first), the magic, type ids, extreme counts."""
    def esc(b):
        return "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02X" % c for c in b)
    lines = ["# libFuzzer dictionary of tests/fuzz/gguf_fuzz.cpp, written by make_seeds.py.", 'magic="GGUF"']
    for i, k in enumerate(DICT_WORDS):
        b = k.encode()
        lines += [f'k{i}="{esc(b)}"', f'ks{i}="{esc(len(b).to_bytes(8, "little") + b)}"']
    lines += [f'u32_{v}="{esc(v.to_bytes(4, "little"))}"' for v in range(16)]
    lines += [f'u64_{i}="{esc(v.to_bytes(8, "little"))}"' for i, v in enumerate([2**64 - 1, 2**63, 2**32, 256])]
    lines += ['byte_token="<0x41>"', 'space_marker="\\xE2\\x96\\x81"']
    with open(os.path.join(HERE, "gguf.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    write_dict()
    spm, n_spm = spm_vocab()
    gpt2, n_gpt2 = gpt2_vocab("gpt-2")
    llama3, _ = gpt2_vocab("llama-bpe")
    write("gguf", "llama_f32_tied.gguf", llama_model(spm, n_spm, 8, 2, 1, 16, T_F32, True, 1))
    write("gguf", "llama_q8_0.gguf", llama_model(spm, n_spm, 32, 2, 1, 32, T_Q8_0, False, 2))
    write("gguf", "llama_q4_0_scaled.gguf",
          llama_model(spm, n_spm, 32, 4, 2, 32, T_Q4_0, False, 3,
                      [("llama.rope.scaling.type", STRING, "linear"), ("llama.rope.scaling.factor", F32, 2.0)]))
    write("gguf", "gpt2_vocab_only.gguf", gguf_file([("general.architecture", STRING, "gpt2")] + gpt2, []))
    write("gguf", "llama_bpe_f16.gguf", llama_model(llama3, n_gpt2, 8, 2, 2, 8, T_F16, True, 4))
    every_type = [(f"t.{k}", k, v) for k, v in [(U8, 255), (I8, -1), (U16, 65535), (I16, -2), (U32, 7), (I32, -3),
                                                 (F32, 1.5), (BOOL, True), (U64, 2**63), (I64, -4), (F64, 2.5)]]
    every_type += [("t.nested", ARRAY, (ARRAY, [(U8, [1, 2]), (STRING, ["x"])])), ("general.alignment", U32, 64)]
    write("gguf", "metadata_types.gguf", gguf_file(every_type + spm, [("v", [4], T_F32, f32_data(random.Random(5), 4))],
                                                   alignment=64))
    write("llama2c", "tiny.bin", llama2c_checkpoint(6))
    for i, t in enumerate(TEXTS):
        for target in ("spm_tokenizer", "bpe_tokenizer", "wpm_tokenizer"):
            write(target, f"text{i}", bytes([i % 5, i % 4]) + t)
    inf, nan = float("inf"), float("nan")
    write("sampler", "defaults", sampler_seed(0.8, 40, 0.95, 0.05, 1.1, 64, 1, 8, [0, 1, 2, 3, -1, 5, 5, 0.5], [1, 2, 9]))
    write("sampler", "greedy", sampler_seed(0, 0, 1, 0, 1, 0, 2, 4, [1, 3, 3, 2], []))
    write("sampler", "extremes", sampler_seed(1e-30, -1, 1e-7, 0.99, 1e30, -1, 3, 6, [inf, -inf, nan, 1e38, -1e38, 0], [0, 5, -3]))


if __name__ == "__main__":
    main()
