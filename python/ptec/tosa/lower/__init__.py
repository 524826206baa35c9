"""FX nodes -> TOSA 1.0 operators, by profile.

`SUPPORT[profile]` is the support table of a TOSA profile: FX operator ->
converter. A node is supported when its profile has a converter and the
converter succeeds on it (it raises `Unsupported` with the reason otherwise),
so "supported" and "converted" can never disagree. `build_graph` converts one
partition (python/ptec/tosa/partition.py) into one TOSA graph.
"""
from __future__ import annotations

import operator
from typing import Sequence

import torch

from ..graph import GraphBuilder
from ..schema import Op
from . import data, floating, integer, transformer
from .context import Lowering, Unsupported

INT = "INT"
FP = "FP"

#: Profile -> {FX target: converter}. PRO-INT: the ptec:: integer kernels and
#: data movement of integer tensors; PRO-FP: fp32 core ATen and data movement.
SUPPORT = {
    INT: {**integer.CONVERTERS, **transformer.CONVERTERS, **data.CONVERTERS},
    FP: {**floating.CONVERTERS, **data.CONVERTERS},
}

__all__ = ["INT", "FP", "SUPPORT", "Unsupported", "build_graph", "check_node"]


def _tensor_inputs(node: torch.fx.Node) -> list[torch.fx.Node]:
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs), found.append)
    return [n for n in dict.fromkeys(found) if n.op != "get_attr"]


def check_node(gm: torch.fx.GraphModule, node: torch.fx.Node, profile: str,
               refusal=None) -> str | None:
    """None if `node` converts in `profile`, else the reason it does not. With
    `refusal` (GraphBuilder -> reason or None), the node's TOSA operators must
    also pass the delegate target's own rules (an NPU's, say)."""
    converter = SUPPORT[profile].get(node.target)
    if converter is None:
        val = node.meta.get("val")
        if profile == INT and isinstance(val, torch.Tensor) and val.dtype.is_floating_point:
            return f"{node.target} computes in float; TOSA INT has integer operators only"
        return f"no TOSA {profile} conversion for {node.target}"
    lw = Lowering(gm, profile)
    try:
        for arg in _tensor_inputs(node):
            lw.add_input(arg)
        converter(lw, node)
        _result_keys(node, lw)
    except Unsupported as why:
        return str(why)
    return refusal(lw.g) if refusal is not None else None


def _result_keys(node: torch.fx.Node, lw: Lowering) -> list:
    """The keys under which node's results were stored (one, or (node, i) each)."""
    if node in lw.stored:
        return [node]
    keys = [k for k in lw.stored if isinstance(k, tuple) and k[0] is node
            and isinstance(k[1], int)]
    if not keys:
        raise Unsupported("the converter produced no result")
    return keys


def build_graph(gm: torch.fx.GraphModule, nodes: Sequence[torch.fx.Node],
                inputs: Sequence[torch.fx.Node], outputs: Sequence[torch.fx.Node],
                profile: str) -> GraphBuilder:
    """The TOSA graph of `nodes` (in order): graph inputs are `inputs`, graph outputs
    are `outputs` (FX nodes, getitems included), all in logical layout."""
    lw = Lowering(gm, profile)
    for node in inputs:
        lw.add_input(node)
    for node in nodes:
        if node.target is operator.getitem:
            continue  # results are stored by their producer
        SUPPORT[profile][node.target](lw, node)
    # For the numerical debugger: the TOSA tensor holding each node's result and its
    # layout (a permutation of the node's logical dims).
    lw.g.node_tensors = {node.name: (lw.stored[node].tensor.name, tuple(lw.stored[node].perm))
                         for node in nodes if node in lw.stored}
    used: set[str] = set(lw.g.inputs)
    for node in outputs:
        t = lw.value(node)
        if t.name in used:  # an input or a repeated tensor: outputs must be distinct
            copy = lw.tensor(f"out_{node.name}", t.shape, t.dtype)
            lw.g.op(Op.IDENTITY, [t], [copy])
            t = copy
        used.add(t.name)
        lw.g.output(t)
    return lw.g

