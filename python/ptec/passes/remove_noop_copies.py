"""Pass: remove copies whose result is their input, byte for byte.

Eval-mode dropout becomes clone(x), x.contiguous() of a tensor that (after
views became copies) is already contiguous becomes clone(x), reshape to the
same shape becomes view_copy(x, x.shape)... Each would cost a kernel call and
an extra planned tensor. A copy is removed when its result has the input's
shape, dtype and memory layout, and when it is not a graph output (there it
keeps the output distinct from an input or another output).
"""
from __future__ import annotations

import torch

aten = torch.ops.aten

#: Operators that copy their first argument, possibly changing shape or dtype.
COPY_OPS = frozenset({
    aten.clone.default, aten.alias_copy.default, aten.detach_copy.default,
    aten.lift_fresh_copy.default, aten.view_copy.default, aten.expand_copy.default,
    aten.slice_copy.Tensor, aten.squeeze_copy.default, aten.squeeze_copy.dim,
    aten.squeeze_copy.dims, aten._to_copy.default,
})


def same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, dtype and layout: strides agree on every dimension longer than 1."""
    return (a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
            and all(sa == sb for n, sa, sb in zip(a.shape, a.stride(), b.stride()) if n > 1))


def is_noop_copy(node: torch.fx.Node) -> bool:
    if node.op != "call_function" or node.target not in COPY_OPS:
        return False
    source = node.args[0]
    if not isinstance(source, torch.fx.Node) or any(u.op == "output" for u in node.users):
        return False
    src, out = source.meta.get("val"), node.meta.get("val")
    return isinstance(src, torch.Tensor) and isinstance(out, torch.Tensor) and same_bytes(src, out)


def remove_noop_copies(gm: torch.fx.GraphModule) -> None:
    """Replaces each no-op copy by its input."""
    for node in list(gm.graph.nodes):
        if is_noop_copy(node):
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
    gm.recompile()
