"""The program's instructions and tensors, in execution order, with lifetimes.

Instructions are the graph's calls in graph order; operator.getitem is not an
instruction, it names one result of a multi-result call. Planned tensors are
every tensor that is not a constant: the user inputs, every result of every
call (unused ones too, such as max-pool indices: the kernel writes them) and
so the graph outputs. Their lifetimes feed the memory planner.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import torch

from .dtypes import element_size
from .dynamic_shapes import bound_dynamic_sizes, bound_numel
from .errors import CompileError
from .memory import Lifetime
from .passes.control_flow import has_control_flow
from .state import is_state, write_target

#: A tensor produced by the graph: (node, result index or None for a single result).
TensorKey = tuple[torch.fx.Node, "int | None"]


@dataclass(frozen=True)
class PlannedTensor:
    key: TensorKey
    val: torch.Tensor  # the FakeTensor: shape, dtype, strides
    lifetime: Lifetime
    #: Tensors at the same offset: a cond's branch outputs share its result's
    #: memory (control_flow_schedule).
    aliases: tuple[TensorKey, ...] = ()


@dataclass
class Schedule:
    instructions: list[torch.fx.Node]
    planned: list[PlannedTensor]


def tensor_key(node: torch.fx.Node) -> TensorKey:
    """The produced tensor a node stands for (getitem names a producer's result)."""
    if node.op == "call_function" and node.target is operator.getitem:
        producer, index = node.args
        return (producer, index)
    return (node, None)


def results(node: torch.fx.Node) -> list[tuple[TensorKey, torch.Tensor]]:
    """Every tensor a call writes: one, or one per element of a tuple/list result."""
    val = node.meta["val"]
    if isinstance(val, torch.Tensor):
        return [((node, None), val)]
    if isinstance(val, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in val):
        return [((node, i), v) for i, v in enumerate(val)]
    raise CompileError(f"{node.name} ({node.target}) produces {type(val).__name__}, "
                       "not tensors; ptec handles tensor results only")


def nbytes(val: torch.Tensor) -> int:
    """Bytes planned for a tensor: at its upper bound when its size depends on
    the data (dynamic_shapes.py)."""
    return bound_numel(val) * element_size(val.dtype)


def build_schedule(gm: torch.fx.GraphModule) -> Schedule:
    """Instruction order and the lifetime of every planned tensor."""
    bound_dynamic_sizes(gm)  # data-dependent sizes planned at their bound
    if has_control_flow(gm):
        from .cond_schedule import control_flow_schedule
        return control_flow_schedule(gm)
    nodes = list(gm.graph.nodes)
    instructions = [n for n in nodes if n.op == "call_function" and n.target is not operator.getitem]
    # Scalar inputs (specialised int/float/bool) are values, not planned tensors;
    # state (mutable buffers) lives in its own memory (state.py), as do the
    # results of the calls that write it.
    inputs = [n for n in nodes if n.op == "placeholder"
              and isinstance(n.meta.get("val"), torch.Tensor) and not is_state(n)]
    last_step = max(len(instructions) - 1, 0)
    step = {n: i for i, n in enumerate(instructions)}

    start: dict[TensorKey, int] = {}
    vals: dict[TensorKey, torch.Tensor] = {}
    for node in inputs:
        start[(node, None)], vals[(node, None)] = 0, node.meta["val"]
    for node in instructions:
        if write_target(node) is not None:
            continue
        for key, val in results(node):
            start[key], vals[key] = step[node], val
    end = dict(start)

    for node in nodes:
        if node.op not in ("call_function", "output") or node.target is operator.getitem:
            continue
        used_at = last_step if node.op == "output" else step[node]
        used: list[torch.fx.Node] = []
        torch.fx.node.map_arg((node.args, node.kwargs), used.append)
        for arg in used:
            key = tensor_key(arg)
            if key in end:
                end[key] = max(end[key], used_at)

    planned = [PlannedTensor(key, vals[key], Lifetime(start[key], end[key], nbytes(vals[key])))
               for key in start]
    return Schedule(instructions, planned)
