"""Pass: a 3-D average pool whose window is 1x1 in H and W becomes a 2-D one.

LocalResponseNorm (AlexNet's) decomposes into avg_pool3d over [N, 1, C, H, W]
with a (size, 1, 1) window: an average across channels only. Viewing the
input as [N, 1, C, H*W] and pooling with a (size, 1) window computes the same
numbers, with the 2-D pool TOSA has (so the pool can join a delegate). Pools
that also slide or pad over H or W are left alone: they run on the portable
3-D pooling kernels (kernels/portable/op_pool3d.c), on the CPU.
"""
from __future__ import annotations

import torch

from .fake import fake_mode_of, recompute_val

aten = torch.ops.aten


def _rewritable(node: torch.fx.Node) -> bool:
    if node.op != "call_function" or node.target is not aten.avg_pool3d.default:
        return False
    args = list(node.args) + [None] * (7 - len(node.args))
    x, kernel, stride, padding = args[:4]
    kernel = list(kernel)
    stride = list(stride) if stride else kernel
    padding = list(padding) if padding else [0, 0, 0]
    triple = lambda v: v * 3 if len(v) == 1 else v  # noqa: E731
    kernel, stride, padding = triple(kernel), triple(stride), triple(padding)
    return (x.meta["val"].dim() == 5 and kernel[1:] == [1, 1] and stride[1:] == [1, 1]
            and padding[1:] == [0, 0])


def avg_pool3d_as_2d(gm: torch.fx.GraphModule) -> None:
    mode = fake_mode_of(gm)
    changed = False
    for node in list(gm.graph.nodes):
        if not _rewritable(node):
            continue
        args = list(node.args) + [None] * (7 - len(node.args))
        x, kernel, stride, padding, ceil_mode, count_include_pad, divisor = args
        first = lambda v, d: [int(v[0])] if v else d  # noqa: E731
        k = first(kernel, None)[0]
        s = first(stride, [k])[0]
        p = first(padding, [0])[0]
        n, c, d, h, w = x.meta["val"].shape
        with gm.graph.inserting_before(node):
            flat = gm.graph.call_function(aten.view.default, (x, [n, c, d, h * w]))
            pooled = gm.graph.call_function(
                aten.avg_pool2d.default,
                (flat, [k, 1], [s, 1], [p, 0], bool(ceil_mode),
                 True if count_include_pad is None else bool(count_include_pad), divisor))
            out_d = node.meta["val"].shape[2]
            back = gm.graph.call_function(aten.view.default, (pooled, [n, c, out_d, h, w]))
        for new in (flat, pooled, back):
            recompute_val(new, mode)
        node.replace_all_uses_with(back)
        gm.graph.erase_node(node)
        changed = True
    if changed:
        gm.graph.lint()
        gm.recompile()
