"""ptec::cached_attention: attention of new queries over the filled part of a KV cache.

    cached_attention(q [B, H, T, D], k_cache [B, H, L, D], v_cache [B, H, L, D],
                     cache_position [T], float scale) -> [B, H, T, D]

Query t attends to cache rows 0..cache_position[t] only: softmax(q k^T * scale) v
over that prefix. The masked form (scores over all L rows, -inf past the position)
gives the same result but reads the whole cache; the C kernel
(runtime/src/kernels/portable/op_cached_attention.c) reads cache_position[t] + 1 rows
per query, in one pass (running maximum and sum: no score buffer). ExecuTorch's
llama::custom_sdpa does the same for its Llama models.
"""
from __future__ import annotations

import torch

SCHEMA = "Tensor q, Tensor k_cache, Tensor v_cache, Tensor cache_position, float scale"

#: The out variant's schema, as the C kernel implements it (tests/python/test_op_list.py).
OUT_SCHEMA = f"ptec::cached_attention.out({SCHEMA}, *, Tensor(a!) out) -> Tensor(a!)"

_lib = torch.library.Library("ptec", "FRAGMENT")
_lib.define(f"cached_attention({SCHEMA}) -> Tensor")
_lib.define(OUT_SCHEMA.removeprefix("ptec::"))


def _reference(q, k_cache, v_cache, cache_position, scale):
    keys = torch.arange(k_cache.shape[2], device=q.device)
    allowed = keys[None, :] <= cache_position[:, None]  # [T, L]
    scores = (q @ k_cache.transpose(2, 3)) * scale
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v_cache


@torch.library.impl(_lib, "cached_attention", "CompositeExplicitAutograd")
def _cached_attention(q, k_cache, v_cache, cache_position, scale):
    return _reference(q, k_cache, v_cache, cache_position, scale)


@torch.library.impl(_lib, "cached_attention.out", "CompositeExplicitAutograd")
def _cached_attention_out(q, k_cache, v_cache, cache_position, scale, *, out):
    out.copy_(_reference(q, k_cache, v_cache, cache_position, scale))
    return out


@torch.library.register_fake("ptec::cached_attention")
def _fake(q, k_cache, v_cache, cache_position, scale):
    return torch.empty_like(q)


cached_attention = torch.ops.ptec.cached_attention.default
