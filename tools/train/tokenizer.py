"""The SentencePiece-style tokenizer as the inference engines run it, and its file format.

The encoder is the one in llama2.c's run.c and Tessera's `llama` tokenizer: prepend one
space to non-empty text, map each UTF-8 codepoint to its piece (or to byte tokens,
byte b -> id b + 3), then repeatedly merge the adjacent pair whose concatenated text is
in the vocabulary with the highest score, leftmost on ties. Training data is encoded with
this same code, so training and inference see identical token sequences.

Vocabulary layout: 0 <unk>, 1 BOS, 2 EOS, 3..258 byte tokens <0x00>..<0xFF>, then the
single-codepoint pieces (the alphabet), then merged pieces. Spaces are plain spaces here
(the GGUF conversion turns them into U+2581).
"""
import re
import struct

UNK, BOS, EOS = 0, 1, 2
# llama2.c's export writes BOS / EOS like this; Tessera's reader maps them to <s> / </s>.
SPECIALS = ["<unk>", "\n<s>\n", "\n</s>\n"]
BYTE_BASE = 3

# Chunks no merged piece can cross: an optional leading space plus a run of
# non-whitespace, or one whitespace character. The trainer only merges inside chunks,
# so every merged piece matches " ?\S+"; a concatenation across a chunk boundary always
# has whitespace after its first character, so it is never a piece and the exact
# encoder never merges across chunks. That makes per-chunk encoding (with a cache) exact.
CHUNK_RE = re.compile(r" ?\S+|\s")


def byte_piece(b):
    return f"<0x{b:02X}>"


class Tokenizer:
    def __init__(self, pieces, scores):
        assert len(pieces) == len(scores)
        assert pieces[:BYTE_BASE] == SPECIALS
        assert all(pieces[BYTE_BASE + b] == byte_piece(b) for b in range(256))
        self.pieces = list(pieces)
        self.scores = [float(s) for s in scores]
        self.ids = {}
        for i, p in enumerate(self.pieces):
            if p in self.ids:
                raise ValueError(f"duplicate piece {p!r} (ids {self.ids[p]} and {i})")
            self.ids[p] = i
        self._cache = {}
        # encode() is exact only for vocabularies whose merged pieces never cross a chunk
        # boundary (true for train_tokenizer.py's); others (e.g. Llama 2's, which has
        # runs of spaces) use the whole-text algorithm.
        first = BYTE_BASE + 256
        self._chunkable = all(len(p) == 1 or re.fullmatch(r" ?\S+", p) for p in self.pieces[first:])

    def __len__(self):
        return len(self.pieces)

    # --- llama2.c tokenizer.bin: u32 max_token_length, then per token f32 score, i32 len, bytes
    def save(self, path):
        blobs = [p.encode("utf-8") for p in self.pieces]
        with open(path, "wb") as f:
            f.write(struct.pack("<I", max(len(b) for b in blobs)))
            for blob, score in zip(blobs, self.scores):
                f.write(struct.pack("<fi", score, len(blob)))
                f.write(blob)

    @classmethod
    def load(cls, path, vocab_size):
        pieces, scores = [], []
        with open(path, "rb") as f:
            f.read(4)  # max_token_length
            for _ in range(vocab_size):
                score, n = struct.unpack("<fi", f.read(8))
                pieces.append(f.read(n).decode("utf-8"))
                scores.append(score)
            assert f.read(1) == b"", "tokenizer file longer than vocab_size tokens"
        return cls(pieces, scores)

    # --- encoding
    def _initial(self, text):
        ids = []
        for ch in text:
            i = self.ids.get(ch)
            if i is None:
                ids.extend(BYTE_BASE + b for b in ch.encode("utf-8"))
            else:
                ids.append(i)
        return ids

    def _merge(self, ids):
        """Greedy highest-score merging, exactly as llama2.c's encode() does it."""
        pieces, scores, lookup = self.pieces, self.scores, self.ids
        while True:
            best_score, best_at, best_id = -1e10, -1, -1
            for k in range(len(ids) - 1):
                m = lookup.get(pieces[ids[k]] + pieces[ids[k + 1]])
                if m is not None and scores[m] > best_score:  # strict: leftmost wins ties
                    best_score, best_at, best_id = scores[m], k, m
            if best_at < 0:
                return ids
            ids[best_at:best_at + 2] = [best_id]

    def encode_reference(self, text, bos=True):
        """The algorithm on the whole text at once (slow; used to check encode())."""
        ids = self._merge(self._initial(" " + text)) if text else []
        return [BOS] + ids if bos else ids

    def encode(self, text, bos=True):
        """Same result as encode_reference(), chunk by chunk with a cache."""
        if not self._chunkable:
            return self.encode_reference(text, bos)
        ids = [BOS] if bos else []
        if text:
            for chunk in CHUNK_RE.findall(" " + text):
                got = self._cache.get(chunk)
                if got is None:
                    got = self._cache[chunk] = self._merge(self._initial(chunk))
                ids.extend(got)
        return ids

    def decode(self, ids):
        """Lossless text of ids (specials dropped, byte tokens joined back into UTF-8)."""
        out = bytearray()
        for i in ids:
            if i < BYTE_BASE:
                continue
            if i < BYTE_BASE + 256:
                out.append(i - BYTE_BASE)
            else:
                out += self.pieces[i].encode("utf-8")
        text = out.decode("utf-8", errors="replace")
        return text[1:] if text.startswith(" ") else text  # the dummy prefix
