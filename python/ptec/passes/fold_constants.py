"""Pass: compute at compile time what depends only on constants.

After decomposition a linear layer is addmm(bias, x, permute(weight)): the
transpose of a weight would run on every inference and take arena space.
Calls whose tensor inputs are all constants are evaluated now and become
constants themselves, unless that would grow the constant data (an expand of a
bias to a whole activation is cheaper to run than to store) or the result is
a graph output. Constants that no longer have users are dropped.

In a quantized graph the weights arrive as int8 constants (or float ones
behind a quantize, which folds to int8), each read through a dequantize. The
dequantize is never folded: the program keeps the small integer weights and
their scales, and the dq -> op -> q patterns stay whole for the integer
kernels.
"""
from __future__ import annotations

import torch
from torch._ops import OpOverload

from ..quant import qdq
from .fake import fake_mode_of, fake_of

#: Results up to this size are folded even when their inputs are smaller
#: (scalar_tensor, full of a few elements).
SMALL_CONSTANT_BYTES = 64


def _constant_inputs(gm: torch.fx.GraphModule, node: torch.fx.Node) -> list[torch.Tensor] | None:
    """The real tensors of node's inputs if every input node is a constant."""
    inputs: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs), inputs.append)
    if any(n.op != "get_attr" for n in inputs):
        return None
    return [getattr(gm, n.target) for n in inputs]


def _runs_on_cpu(op: OpOverload) -> bool:
    """Whether PyTorch can evaluate op here. ptec's fused integer operators
    (ptec.quant.ops) have shape functions only: their arithmetic is the C
    kernels', so a call of one on constants (a relative-position projection
    of a constant table) stays a call instead of being evaluated."""
    return torch._C._dispatch_has_computed_kernel_for_dispatch_key(op.name(), "CPU")


def _foldable(node: torch.fx.Node) -> bool:
    # A graph output stays computed: outputs are planned tensors the caller reads.
    return (node.op == "call_function" and isinstance(node.target, OpOverload)
            and torch.Tag.nondeterministic_seeded not in node.target.tags
            and _runs_on_cpu(node.target)
            and isinstance(node.meta.get("val"), torch.Tensor)
            and not qdq.is_dequantize(node)
            and not any(user.op == "output" for user in node.users))


def fold_constants(gm: torch.fx.GraphModule) -> None:
    """Replaces constant-only calls by constants and drops unused constants."""
    mode = fake_mode_of(gm)
    for node in list(gm.graph.nodes):
        if not _foldable(node):
            continue
        inputs = _constant_inputs(gm, node)
        if inputs is None:
            continue
        value = node.meta["val"]
        nbytes = value.numel() * value.element_size()
        if nbytes > max(sum(t.numel() * t.element_size() for t in inputs), SMALL_CONSTANT_BYTES):
            continue
        args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs),
                                             lambda n: getattr(gm, n.target))
        result = node.target(*args, **kwargs)
        attr = f"_ptec_const_{node.name}"
        gm.register_buffer(attr, result)
        with gm.graph.inserting_before(node):
            constant = gm.graph.get_attr(attr)
        constant.meta.update(node.meta)
        constant.meta["val"] = fake_of(mode, result)
        node.replace_all_uses_with(constant)
        gm.graph.erase_node(node)
    drop_unused_constants(gm)
    gm.recompile()


def drop_unused_constants(gm: torch.fx.GraphModule) -> None:
    for node in list(gm.graph.nodes):
        if node.op == "get_attr" and not node.users:
            gm.graph.erase_node(node)
            delattr(gm, node.target)
