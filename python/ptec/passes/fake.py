"""Keeping node.meta["val"] (the FakeTensor of each node's result) true after a rewrite.

The emitter reads shapes, dtypes and strides (hence dim orders) from these
FakeTensors, so a pass that changes what a node computes must recompute it,
and one that changes a result's strides must recompute everything after it:
PyTorch derives the strides of an elementwise result from its inputs'.
"""
from __future__ import annotations

import operator
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

from ..dtypes import dim_order_from_strides, strides_from_dim_order

aten = torch.ops.aten

#: Copies whose result dimensions are the input's, unpermuted. PyTorch makes
#: their results contiguous; ptec gives them the input's dim order instead, as
#: the view they replace had it, so a channels-last tensor stays channels-last
#: through a slice or split and kernels see one dim order per call.
LAYOUT_KEEPING_COPIES = frozenset({
    aten.alias_copy.default, aten.detach_copy.default, aten.lift_fresh_copy.default,
    aten.slice_copy.Tensor, aten.split_copy.Tensor, aten.split_with_sizes_copy.default,
    aten.narrow_copy.default, aten.expand_copy.default,
})


def fake_mode_of(gm: torch.fx.GraphModule) -> FakeTensorMode:
    """The FakeTensorMode the graph's metadata was traced under."""
    for node in gm.graph.nodes:
        val = node.meta.get("val")
        if isinstance(val, FakeTensor):
            return val.fake_mode
    raise ValueError("graph has no FakeTensor metadata")


def fake_of(mode: FakeTensorMode, tensor: torch.Tensor) -> FakeTensor:
    """A FakeTensor with the shape, dtype and strides of a real tensor."""
    return mode.from_tensor(tensor, static_shapes=True)


def recompute_val(node: torch.fx.Node, mode: FakeTensorMode) -> None:
    """Re-runs `node.target` on its inputs' FakeTensors and stores the result."""
    if node.target is operator.getitem:
        producer, index = node.args
        node.meta["val"] = producer.meta["val"][index]
        return
    args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs), _val)
    with mode:
        val = node.target(*args, **kwargs)
        if node.target in LAYOUT_KEEPING_COPIES:
            val = _with_dim_order_of(args[0], val)
    node.meta["val"] = val


def _with_dim_order_of(source: torch.Tensor, val: Any) -> Any:
    """`val` (a tensor or a list of them) re-laid out in `source`'s dim order."""
    if isinstance(val, (list, tuple)):
        return type(val)(_with_dim_order_of(source, v) for v in val)
    order = dim_order_from_strides(source.stride())
    return torch.empty_strided(val.shape, strides_from_dim_order(val.shape, order),
                               dtype=val.dtype, device=val.device)


def repropagate(gm: torch.fx.GraphModule) -> None:
    """Recomputes the FakeTensor of every call in the graph, in order."""
    mode = fake_mode_of(gm)
    for node in gm.graph.nodes:
        if node.op == "call_function":
            recompute_val(node, mode)


def _val(n: torch.fx.Node) -> Any:
    return n.meta["val"]
