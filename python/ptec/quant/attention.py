"""Attention as the ops the quantizer annotates.

torch.export keeps `scaled_dot_product_attention` as one operator (it is what
nn.MultiheadAttention and most transformer code call), and PT2E has no
annotation for it, so attention would stay float. Before annotation, ptec
rewrites each call without a mask, dropout or causal flag into

    softmax((q @ k^T) * scale, dim=-1) @ v

two matmuls, a multiply by a positive constant and a softmax, all of which
have integer kernels. Calls it cannot rewrite stay as they are (float).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

aten = torch.ops.aten


def _rewritable(node: torch.fx.Node) -> bool:
    args = list(node.args) + [None] * (7 - len(node.args))
    _, _, _, mask, dropout, causal, scale = args[:7]
    mask = node.kwargs.get("attn_mask", mask)
    dropout = node.kwargs.get("dropout_p", dropout) or 0.0
    causal = node.kwargs.get("is_causal", causal) or False
    return mask is None and dropout == 0.0 and not causal and not node.kwargs.get("enable_gqa")


def decompose_attention(gm: torch.fx.GraphModule) -> int:
    """Rewrites the graph's attention calls in place; returns how many."""
    from .decompose import inherit_module
    count = 0
    original = set(gm.graph.nodes)
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not aten.scaled_dot_product_attention.default:
            continue
        if not _rewritable(node):
            continue
        q, k, v = node.args[:3]
        scale = node.kwargs.get("scale", node.args[6] if len(node.args) > 6 else None)
        if scale is None:
            scale = 1.0 / math.sqrt(q.meta["val"].shape[-1])
        graph = gm.graph
        with graph.inserting_before(node):
            kt = graph.call_function(aten.transpose.int, (k, -2, -1))
            scores = graph.call_function(aten.matmul.default, (q, kt))
            scaled = graph.call_function(aten.mul.Tensor, (scores, float(scale)))
            weights = graph.call_function(aten.softmax.int, (scaled, -1))
            out = graph.call_function(aten.matmul.default, (weights, v))
        inherit_module(node, original)
        node.replace_all_uses_with(out)
        graph.erase_node(node)
        count += 1
    if count:
        gm.graph.lint()
        gm.recompile()
    return count


def _export(model: torch.nn.Module, args: tuple) -> torch.fx.GraphModule:
    """Non-strict torch.export, else strict: Dynamo traces some data-dependent
    code non-strict export cannot (torchaudio's padding mask takes
    int(lengths.max().item())), as ExecuTorch's flows export strict. The
    strict graph's shape guards are not checked when it runs (they are the
    example's shapes, which calibration repeats)."""
    try:
        return torch.export.export(model, args).module()
    except Exception as non_strict:  # torch.export raises many types
        try:
            exported = torch.export.export(model, args, strict=True)
        except Exception:
            raise non_strict from None
        try:
            return exported.module(check_guards=False)
        except TypeError:  # a torch without check_guards
            return exported.module()


def export_for_quantization(model: torch.nn.Module, example_inputs: Sequence,
                            tosa_friendly: bool = False) -> torch.fx.GraphModule:
    """torch.export, then attention and 1-D convolutions rewritten (and, with
    tosa_friendly, softmax, layer norm and GLU: ptec.quant.decompose),
    re-exported for fresh metadata."""
    gm = _export(model, tuple(example_inputs))
    from .decompose import conv1d_as_2d, decompose_for_tosa
    changed = decompose_attention(gm) + conv1d_as_2d(gm)
    if tosa_friendly:
        changed += decompose_for_tosa(gm)
    if changed:
        gm = torch.export.export(gm, tuple(example_inputs)).module()
    return gm
