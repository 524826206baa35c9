"""Moving quantize and dequantize calls across data-movement ops.

Decomposition can put a view between a dequantize and the op that reads it
(a linear layer on a 3-d input becomes view -> addmm -> view), which hides
the dq -> op -> q pattern. Views, permutes and the like commute with
per-tensor (de)quantization, so

  view(dequantize(x))  ->  dequantize(view(x))     (the view runs on int8)
  quantize(view(y))    ->  view(quantize(y))        (when the view feeds only q)
  clamp(view(y))       ->  view(clamp(y))           (a fused activation after the view)

change no value and leave the patterns whole: addmm -> view -> relu -> q
becomes addmm -> relu -> q -> view, a fused linear and an int8 view.
"""
from __future__ import annotations

import torch

from .data_movement import SINGLE_INPUT_OPS
from .match import INTEGER, META_KEY, is_dq_per_tensor, is_q_per_tensor

aten = torch.ops.aten

#: Data movement that commutes with per-tensor (de)quantization (pad does
#: not: its value would need quantizing).
COMMUTING = SINGLE_INPUT_OPS - {aten.constant_pad_nd.default, aten._to_copy.default}


def _retarget(gm, node: torch.fx.Node, new_input: torch.fx.Node) -> torch.fx.Node:
    with gm.graph.inserting_before(node):
        moved = gm.graph.call_function(node.target, (new_input, *node.args[1:]),
                                       dict(node.kwargs))
    moved.meta[META_KEY] = INTEGER  # it now moves integer codes
    return moved


def sink_dequantize(gm: torch.fx.GraphModule) -> None:
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in COMMUTING:
            continue
        dq = node.args[0]
        if not is_dq_per_tensor(dq) or all(is_q_per_tensor(u) for u in node.users):
            continue  # dq -> view -> q is lowered as a whole
        moved = _retarget(gm, node, dq.args[0])
        with gm.graph.inserting_before(node):
            new_dq = gm.graph.call_function(dq.target, (moved, *dq.args[1:]), dict(dq.kwargs))
        node.replace_all_uses_with(new_dq)
        gm.graph.erase_node(node)
        if not dq.users:
            gm.graph.erase_node(dq)


#: Elementwise clamps that commute with any data movement.
CLAMPS = frozenset({aten.relu.default, aten.hardtanh.default, aten.clamp.default})


def _movable_view(view) -> bool:
    """A COMMUTING view with no other user whose input is not a dequantize:
    it can change places with the clamp or quantize that uses it."""
    return (isinstance(view, torch.fx.Node) and view.op == "call_function"
            and view.target in COMMUTING and len(view.users) == 1
            and not is_dq_per_tensor(view.args[0]))


def sink_views_below_clamps(gm: torch.fx.GraphModule) -> None:
    for clamp in list(gm.graph.nodes):
        if clamp.op != "call_function" or clamp.target not in CLAMPS:
            continue
        view = clamp.args[0]
        if not _movable_view(view):
            continue
        with gm.graph.inserting_before(clamp):
            new_clamp = gm.graph.call_function(clamp.target, (view.args[0], *clamp.args[1:]),
                                               dict(clamp.kwargs))
            new_view = gm.graph.call_function(view.target, (new_clamp, *view.args[1:]),
                                              dict(view.kwargs))
        clamp.replace_all_uses_with(new_view)
        gm.graph.erase_node(clamp)
        gm.graph.erase_node(view)


def hoist_quantize(gm: torch.fx.GraphModule) -> None:
    for q in list(gm.graph.nodes):
        if not is_q_per_tensor(q):
            continue
        view = q.args[0]
        if not _movable_view(view):
            continue
        with gm.graph.inserting_before(view):
            new_q = gm.graph.call_function(q.target, (view.args[0], *q.args[1:]), dict(q.kwargs))
        moved = _retarget(gm, view, new_q)
        q.replace_all_uses_with(moved)
        gm.graph.erase_node(q)
        gm.graph.erase_node(view)
