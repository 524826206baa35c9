"""OPT (Meta's decoder-only transformer) with a static KV cache, written for export.

The same math as transformers' `OPTForCausalLM` (modeling_opt.py) and the same
parameter names, so its state dict loads here: learned positions offset by 2,
pre-LayerNorm blocks (`do_layer_norm_before`), ReLU MLP, biases everywhere, queries
scaled by head_dim ** -0.5 before QK^T, the LM head tied to the token embedding.
transformers is not in ptec's pinned set, so the architecture lives here.

The cache is ExecuTorch's `KVCache` style: `k_cache_i`/`v_cache_i` registered
buffers `[1, heads, max_len, head_dim]` written at `cache_position` with
`index_copy_`, which ptec compiles to state (docs/llm.md). `forward(input_ids
[1, T], cache_position [T])` returns logits `[1, T, vocab]` (or the last row
only with `last_logits_only`, what generation needs from a prefill). The mask
is computed from `cache_position`: query t sees keys 0..cache_position[t].
Unwritten cache rows stay zero (finite), and their weights are exactly 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import cached_attention

#: OPT's learned positional embedding is offset by 2 (fairseq's padding idx + 1).
POSITION_OFFSET = 2


@dataclass(frozen=True)
class OPTConfig:
    """transformers' OPTConfig fields this model uses; the defaults are OPT-125M."""
    vocab_size: int = 50272
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    ffn_dim: int = 3072
    max_position_embeddings: int = 2048
    bos_token_id: int = 2
    eos_token_id: int = 2
    pad_token_id: int = 1

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


TINY = OPTConfig(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 ffn_dim=256, max_position_embeddings=128)


class OPTAttention(nn.Module):
    def __init__(self, cfg: OPTConfig, max_len: int, fused: bool = False):
        super().__init__()
        self.fused = fused
        h, d = cfg.num_attention_heads, cfg.head_dim
        self.heads, self.head_dim, self.scaling = h, d, d ** -0.5
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.out_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.register_buffer("k_cache", torch.zeros(1, h, max_len, d), persistent=False)
        self.register_buffer("v_cache", torch.zeros(1, h, max_len, d), persistent=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(1, -1, self.heads, self.head_dim).transpose(1, 2)  # [1, H, T, D]

    def forward(self, x: torch.Tensor, cache_position: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        q = self._heads(self.q_proj(x) * self.scaling)
        self.k_cache.index_copy_(2, cache_position, self._heads(self.k_proj(x)))
        self.v_cache.index_copy_(2, cache_position, self._heads(self.v_proj(x)))
        if self.fused:  # reads only the filled rows (attention.py)
            out = cached_attention(q, self.k_cache, self.v_cache, cache_position, 1.0)
        else:
            scores = q @ self.k_cache.transpose(2, 3) + mask  # [1, H, T, max_len]
            out = torch.softmax(scores, dim=-1) @ self.v_cache  # [1, H, T, D]
        return self.out_proj(out.transpose(1, 2).reshape(1, -1, self.heads * self.head_dim))


class OPTDecoderLayer(nn.Module):
    def __init__(self, cfg: OPTConfig, max_len: int, fused: bool = False):
        super().__init__()
        self.self_attn = OPTAttention(cfg, max_len, fused)
        self.self_attn_layer_norm = nn.LayerNorm(cfg.hidden_size)
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.ffn_dim)
        self.fc2 = nn.Linear(cfg.ffn_dim, cfg.hidden_size)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size)

    def forward(self, x, cache_position, mask):
        x = x + self.self_attn(self.self_attn_layer_norm(x), cache_position, mask)
        return x + self.fc2(torch.relu(self.fc1(self.final_layer_norm(x))))


class OPTDecoder(nn.Module):
    def __init__(self, cfg: OPTConfig, max_len: int, fused: bool = False):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size, cfg.pad_token_id)
        self.embed_positions = nn.Embedding(cfg.max_position_embeddings + POSITION_OFFSET,
                                            cfg.hidden_size)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size)
        self.layers = nn.ModuleList(OPTDecoderLayer(cfg, max_len, fused)
                                    for _ in range(cfg.num_hidden_layers))


class _Model(nn.Module):
    def __init__(self, cfg: OPTConfig, max_len: int, fused: bool = False):
        super().__init__()
        self.decoder = OPTDecoder(cfg, max_len, fused)


class OPTForCausalLM(nn.Module):
    """OPT with a static KV cache of `max_len` positions. With `fused_attention`,
    attention is ptec::cached_attention, which reads only the filled cache rows
    (ptec's runtime has the kernel; ExecuTorch's has not)."""

    def __init__(self, cfg: OPTConfig = TINY, max_len: int = 64,
                 last_logits_only: bool = False, fused_attention: bool = False):
        super().__init__()
        if max_len > cfg.max_position_embeddings:
            raise ValueError(f"max_len {max_len} exceeds the model's "
                             f"{cfg.max_position_embeddings} positions")
        self.config, self.max_len, self.last_logits_only = cfg, max_len, last_logits_only
        self.model = _Model(cfg, max_len, fused_attention)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.model.decoder.embed_tokens.weight  # tied, as OPT

    def forward(self, input_ids: torch.Tensor, cache_position: torch.Tensor) -> torch.Tensor:
        dec = self.model.decoder
        x = dec.embed_tokens(input_ids) + dec.embed_positions(cache_position + POSITION_OFFSET)
        # Query t sees keys 0..cache_position[t]: 0 where allowed, -inf elsewhere.
        keys = torch.arange(self.max_len, device=input_ids.device)
        allowed = keys[None, :] <= cache_position[:, None]  # [T, max_len]
        mask = torch.where(allowed, 0.0, float("-inf"))[None, None]
        for layer in dec.layers:
            x = layer(x, cache_position, mask)
        x = dec.final_layer_norm(x)
        if self.last_logits_only:
            x = x[:, -1:]
        return self.lm_head(x)

    def reset_cache(self) -> None:
        for layer in self.model.decoder.layers:
            layer.self_attn.k_cache.zero_()
            layer.self_attn.v_cache.zero_()
