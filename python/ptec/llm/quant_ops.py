"""ptec's weight-quantized operators for language models (docs/llm.md, "Weight quantization").

    linear_int8w(x [..., K] f32, weight [N, K] int8, scales [N] f32, bias [N]?) -> [..., N]
        int8 weight-only: fp32 activations, one scale per output channel.
    linear_8da4w(x [..., K] f32, weight [N, K/2] uint8, scales [N, K/32] f32, wsum [N] f32,
                 bias [N]?)
        ExecuTorch's "8da4w": each row of x quantized at run time to asymmetric int8,
        int4 weights symmetric per group of 32 input channels. wsum = weight_sums(weight,
        scales), stored with the weights: the kernels take the activations' zero point off
        once per output with it (llm_quant.h) instead of once per group.
    embedding_int8(weight [V, D] int8, scales [V] f32, indices) -> [..., D]
    embedding_4w(weight [V, D/2] uint8, scales [V, D/32] f32, indices) -> [..., D]
        the same tables, dequantized on gather (a tied LM head shares them).

int4 packing: in each group of 32 weights (16 bytes), byte j holds weight j + 8 in its low
nibble and weight j + 16 + 8 in its high nibble (values -8..7 stored as 0..15).

The eager forms are the fake-quantized reference: dequantize, then the float op. The C
kernels (runtime/src/kernels/llm/, kernels/x86/gemv_*_avx2.c) compute the same products
with integer dots (8da4w) or on the int8 values (int8w), so they differ from these by
float rounding only, plus a rare one-step flip of an activation's rounding where an
upstream op differs in its last bit.
"""
from __future__ import annotations

import torch

GROUP = 32

_ARGS = {
    "linear_int8w": "Tensor x, Tensor weight, Tensor scales, Tensor? bias",
    "linear_8da4w": "Tensor x, Tensor weight, Tensor scales, Tensor wsum, Tensor? bias",
    "embedding_int8": "Tensor weight, Tensor scales, Tensor indices",
    "embedding_4w": "Tensor weight, Tensor scales, Tensor indices",
}

#: The out variants' schemas, as the C kernels implement them (tests/python/test_op_list.py).
OUT_SCHEMAS = [f"ptec::{name}.out({args}, *, Tensor(a!) out) -> Tensor(a!)"
               for name, args in _ARGS.items()]

_lib = torch.library.Library("ptec", "FRAGMENT")
for _name, _args in _ARGS.items():
    _lib.define(f"{_name}({_args}) -> Tensor")
for _schema in OUT_SCHEMAS:
    _lib.define(_schema.removeprefix("ptec::"))


# ------------------------------------------------------------------ formats

def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """[..., K/2] uint8 -> [..., K] int8 in -8..7 (the packing above)."""
    b = packed.to(torch.int16).unflatten(-1, (-1, GROUP // 2))  # [..., G, 16]
    lo, hi = (b & 15) - 8, (b >> 4) - 8
    return torch.cat([lo, hi], dim=-1).flatten(-2).to(torch.int8)


def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """[..., K] integers in -8..7 (K a multiple of 32) -> [..., K/2] uint8."""
    u = (q.to(torch.int16) + 8).unflatten(-1, (-1, GROUP))  # [..., G, 32]
    return (u[..., : GROUP // 2] | (u[..., GROUP // 2:] << 4)).flatten(-2).to(torch.uint8)


def dequantize_4w(packed: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    return unpack_int4(packed).float() * scales.repeat_interleave(GROUP, dim=-1)


def weight_sums(packed: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """8da4w's wsum [N] f32: per output, acc = acc + scales[n, g] * (sum of group g's int4
    weights) over the groups in order, every step one float32 operation (the C kernels read
    it as it is: llm_quant.h)."""
    w = unpack_int4(packed).to(torch.int32).unflatten(-1, (-1, GROUP)).sum(-1).float()
    acc = torch.zeros(packed.shape[0], dtype=torch.float32)
    for g in range(w.shape[1]):
        acc = acc + scales[:, g].float() * w[:, g]
    return acc


def quantize_activations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-row asymmetric int8 of x [..., K]: (q, scale, zero_point), the kernels' steps in
    the same float32 operations (runtime/src/kernels/llm/llm_quant.h)."""
    x = x.float()
    lo = x.amin(-1, keepdim=True).clamp(max=0.0)
    hi = x.amax(-1, keepdim=True).clamp(min=0.0)
    scale = (hi - lo) / 255.0
    scale = torch.where((scale > 0) & torch.isfinite(scale), scale, torch.ones_like(scale))
    zp = torch.round(-128.0 - lo / scale).clamp(-128, 127)
    q = (torch.round(x / scale) + zp).clamp(-128, 127)
    return q, scale, zp


# ------------------------------------------------------------------ eager references

def _linear_int8w(x, weight, scales, bias):
    return torch.nn.functional.linear(x, weight.float() * scales[:, None], bias)


def _linear_8da4w(x, weight, scales, wsum, bias):
    q, scale, zp = quantize_activations(x)
    return torch.nn.functional.linear((q - zp) * scale, dequantize_4w(weight, scales), bias)


def _embedding_int8(weight, scales, indices):
    return weight[indices].float() * scales[indices][..., None]


def _embedding_4w(weight, scales, indices):
    return dequantize_4w(weight[indices], scales[indices])


def _register(name, fn, fake):
    torch.library.impl(_lib, name, "CompositeExplicitAutograd")(fn)

    def out_variant(*args, out):
        out.copy_(fn(*args))
        return out

    torch.library.impl(_lib, f"{name}.out", "CompositeExplicitAutograd")(out_variant)
    torch.library.register_fake(f"ptec::{name}")(fake)


def _fake_linear(x, weight, scales, bias):
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def _fake_linear_8da4w(x, weight, scales, wsum, bias):
    return _fake_linear(x, weight, scales, bias)


def _fake_embedding(width):
    def fake(weight, scales, indices):
        return weight.new_empty((*indices.shape, width(weight, scales)), dtype=torch.float32)
    return fake


_register("linear_int8w", _linear_int8w, _fake_linear)
_register("linear_8da4w", _linear_8da4w, _fake_linear_8da4w)
_register("embedding_int8", _embedding_int8, _fake_embedding(lambda w, s: w.shape[1]))
_register("embedding_4w", _embedding_4w, _fake_embedding(lambda w, s: s.shape[1] * GROUP))

linear_int8w = torch.ops.ptec.linear_int8w.default
linear_8da4w = torch.ops.ptec.linear_8da4w.default
embedding_int8 = torch.ops.ptec.embedding_int8.default
embedding_4w = torch.ops.ptec.embedding_4w.default
