"""Weight quantization for language models as a source transform (docs/llm.md).

    ptec.llm.quantize_weights(model, "int8")   # int8 weight-only, per output channel
    ptec.llm.quantize_weights(model, "8da4w")  # int4 groups of 32 + dynamic int8 activations

replaces, in place, every nn.Linear by a module calling ptec::linear_int8w or
ptec::linear_8da4w and every nn.Embedding by one calling ptec::embedding_int8 or
ptec::embedding_4w (python/ptec/llm/quant_ops.py: the ops, their packing and their eager
fake-quantized reference). The compiler emits the ops' out variants as they are; the C
runtime has their kernels (runtime/src/kernels/llm/, x86/gemv_*_avx2.c).

Modules sharing one weight (OPT's LM head tied to its token embedding) share the quantized
tensors too, so the program stores them once: the embedding's rows are the head's output
channels, so per-row (int8) or per-row-and-group (int4) scales serve both.

8da4w needs the input size (the embedding width) to be a multiple of 32; a layer where it is
not keeps its fp32 weights (`skipped` lists them).
"""
from __future__ import annotations

import torch
from torch import nn

from . import quant_ops
from .quant_ops import GROUP

SCHEMES = ("int8", "8da4w")


def quantize_int8_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row: (q [R, C] int8 in -127..127, scales [R] f32)."""
    w = w.detach().float()
    scales = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
    q = torch.round(w / scales[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scales


def quantize_int4_groups(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int4 per row and group of 32 (torchao's 8da4w weights: scale = max|w| / 7.5,
    values -8..7): (packed [R, C/2] uint8, scales [R, C/32] f32)."""
    w = w.detach().float()
    g = w.unflatten(1, (-1, GROUP))
    scales = (g.abs().amax(dim=2) / 7.5).clamp(min=1e-12)
    q = torch.round(g / scales[..., None]).clamp(-8, 7).flatten(1)
    return quant_ops.pack_int4(q), scales


class Int8WeightLinear(nn.Module):
    """fp32 x, int8 weights, one scale per output channel (ptec::linear_int8w)."""

    def __init__(self, weight: torch.Tensor, scales: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("scales", scales)
        self.bias = None if bias is None else nn.Parameter(bias.detach().float(), False)

    def forward(self, x):
        return quant_ops.linear_int8w(x, self.weight, self.scales, self.bias)


class Int4WeightLinear(Int8WeightLinear):
    """8da4w: int8 dynamic per-token activations, int4 weights per group of 32, and the
    weights' scaled sums per output (quant_ops.weight_sums: the kernels' zero-point term)."""

    def __init__(self, weight: torch.Tensor, scales: torch.Tensor, wsum: torch.Tensor,
                 bias: torch.Tensor | None):
        super().__init__(weight, scales, bias)
        self.register_buffer("wsum", wsum)

    def forward(self, x):
        return quant_ops.linear_8da4w(x, self.weight, self.scales, self.wsum, self.bias)


class Int8Embedding(nn.Module):
    """Rows of an int8 table, one scale per row (ptec::embedding_int8)."""

    def __init__(self, weight: torch.Tensor, scales: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("scales", scales)

    def forward(self, indices):
        return quant_ops.embedding_int8(self.weight, self.scales, indices)


class Int4Embedding(Int8Embedding):
    """Rows of an int4 table, a scale per row and group of 32 (ptec::embedding_4w)."""

    def forward(self, indices):
        return quant_ops.embedding_4w(self.weight, self.scales, indices)


def quantize_weights(model: nn.Module, scheme: str) -> nn.Module:
    """Swaps model's nn.Linear and nn.Embedding for quantized ones, in place; returns model.
    Sets `model.quantization_skipped` to the names of layers left in fp32."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {SCHEMES}")
    shared: dict[int, tuple[torch.Tensor, ...]] = {}  # id(weight) -> quantized
    skipped = []

    def quantized(w: torch.Tensor):
        if id(w) not in shared:
            if scheme == "int8":
                shared[id(w)] = quantize_int8_rows(w)
            else:
                q, scales = quantize_int4_groups(w)
                shared[id(w)] = (q, scales, quant_ops.weight_sums(q, scales))
        return shared[id(w)]

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if not isinstance(child, (nn.Linear, nn.Embedding)):
                continue
            if scheme == "8da4w" and child.weight.shape[1] % GROUP:
                skipped.append(full)
                continue
            q, scales, *wsum = quantized(child.weight)
            if isinstance(child, nn.Linear):
                new = (Int8WeightLinear(q, scales, child.bias) if scheme == "int8"
                       else Int4WeightLinear(q, scales, wsum[0], child.bias))
            else:
                new = (Int8Embedding if scheme == "int8" else Int4Embedding)(q, scales)
            setattr(module, child_name, new)
    model.quantization_skipped = skipped
    return model


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's parameters and constant buffers, each tensor counted once (tied
    weights once), caches excluded: what a decode step reads at most."""
    seen, total = set(), 0
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if id(t) in seen or name.endswith("_cache"):
            continue
        seen.add(id(t))
        total += t.numel() * t.element_size()
    return total
