"""A Llama-architecture decoder in PyTorch, matching llama2.c's run.c / GGUF `llama` exactly.

RMSNorm (eps 1e-5), RoPE on adjacent pairs (2i, 2i+1) with theta 10000, grouped-query
attention where query head h reads KV head h // (n_heads / n_kv_heads), causal softmax,
SwiGLU FFN w2(silu(w1 x) * w3 x), final RMSNorm, classifier tied to the token embedding.
All linear layers are bias-free; nn.Linear keeps weights as [out][in], the llama2.c order.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    dim: int = 256
    hidden_dim: int = 768
    n_layers: int = 4
    n_heads: int = 8
    n_kv_heads: int = 4
    vocab_size: int = 4096
    seq_len: int = 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    @property
    def head_size(self):
        return self.dim // self.n_heads


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(cfg):
    """cos / sin [seq_len][head_size/2]; pair i rotates at theta^(-2i/head_size)."""
    hs = cfg.head_size
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    angles = torch.outer(torch.arange(cfg.seq_len, dtype=torch.float64), inv_freq)
    return torch.cos(angles).float(), torch.sin(angles).float()


def apply_rope(x, cos, sin):
    """x [B, T, H, hs]: rotate each adjacent pair (x[2i], x[2i+1]) by its angle."""
    B, T, H, hs = x.shape
    pairs = x.view(B, T, H, hs // 2, 2)
    x0, x1 = pairs[..., 0], pairs[..., 1]
    c, s = cos[:T].view(1, T, 1, hs // 2), sin[:T].view(1, T, 1, hs // 2)
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).view(B, T, H, hs)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        kv_dim = cfg.n_kv_heads * cfg.head_size
        self.wq = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.wk = nn.Linear(cfg.dim, kv_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, kv_dim, bias=False)
        self.wo = nn.Linear(cfg.dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin, mask):
        cfg, (B, T, _) = self.cfg, x.shape
        q = apply_rope(self.wq(x).view(B, T, cfg.n_heads, cfg.head_size), cos, sin)
        k = apply_rope(self.wk(x).view(B, T, cfg.n_kv_heads, cfg.head_size), cos, sin)
        v = self.wv(x).view(B, T, cfg.n_kv_heads, cfg.head_size)
        # repeat_interleave: heads 2j and 2j+1 share KV head j, as llama2.c's h / kv_mul.
        rep = cfg.n_heads // cfg.n_kv_heads
        q, k, v = q.transpose(1, 2), k.repeat_interleave(rep, 2).transpose(1, 2), v.repeat_interleave(rep, 2).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(cfg.head_size)) + mask[:T, :T]
        y = F.softmax(att, dim=-1) @ v
        return self.wo(y.transpose(1, 2).reshape(B, T, cfg.dim))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        cos, sin = rope_tables(cfg)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        mask = torch.full((cfg.seq_len, cfg.seq_len), float("-inf")).triu(1)
        self.register_buffer("mask", mask, persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        # GPT-2 style: N(0, 0.02), residual-output projections scaled by 1/sqrt(2 * layers)
        # so the residual stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * self.cfg.n_layers) if name.endswith(("wo.weight", "w2.weight")) else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, tokens):
        """tokens [B, T] -> logits [B, T, vocab]."""
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h, self.cos, self.sin, self.mask)
        return self.norm(h) @ self.tok_embeddings.weight.t()  # tied classifier

    def n_params(self):
        return sum(p.numel() for p in self.parameters())
