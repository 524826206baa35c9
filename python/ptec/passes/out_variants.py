"""Pass: choose the out variant of every operator (aten.add.Tensor -> aten::add.out).

Programs call kernels that write into memory-planned tensors, so each
functional overload is replaced by the overload of the same operator whose
schema has the same non-out arguments plus kwarg-only out argument(s), one per
result. The choice is recorded in node.meta["out_variant"] for the emitter
(the FX graph keeps the functional target, so it still runs and still has
FakeTensor metadata).

Some out variants exist only in ExecuTorch's kernel libraries, not in torch:
those of the quantize/dequantize ops of PT2E graphs. For them the variant
carries the schema alone (ptec.quant.qdq), which is all the emitter needs.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch._ops import OpOverload

from ..errors import CompileError
from ..quant import qdq
from ..tosa.delegate import is_delegate
from .control_flow import is_cond

#: Arguments that an out variant drops because its out tensor carries them
#: (torchgen's TensorOptions group): _to_copy(dtype=...) -> _to_copy.out.
TENSOR_OPTIONS = frozenset({"dtype", "layout", "device", "pin_memory"})

META_KEY = "out_variant"


@dataclass(frozen=True)
class OutVariant:
    """An out-variant overload and the names of its out arguments, in schema order.

    `op` is None for an out variant torch does not register; `declared` then
    holds its schema.
    """
    op: OpOverload | None
    out_args: tuple[str, ...]
    declared: torch.FunctionSchema | None = None

    @property
    def schema(self) -> torch.FunctionSchema:
        return self.declared if self.op is None else self.op._schema

    @property
    def name(self) -> str:
        """The operator's namespaced name, e.g. aten::add."""
        return self.schema.name

    @property
    def overload(self) -> str:
        """The overload name as a program stores it ("" for default)."""
        if self.op is None:
            return self.schema.overload_name
        return "" if self.op._overloadname == "default" else self.op._overloadname


def _signature(schema: torch.FunctionSchema, drop: frozenset[str]) -> list[tuple[str, str]]:
    return [(a.name, str(a.type)) for a in schema.arguments
            if not a.is_out and a.name not in drop]


def _outs_match_returns(functional: torch.FunctionSchema, outs: list) -> bool:
    returns = functional.returns
    return (len(returns) == len(outs)
            and all(str(r.type) == str(o.type) for r, o in zip(returns, outs)))


def find_out_variant(op: OpOverload) -> OutVariant | None:
    """The out variant of `op`, or None if its operator has none."""
    schema = op._schema
    own_outs = [a for a in schema.arguments if a.is_out]
    if own_outs:
        return OutVariant(op, tuple(a.name for a in own_outs))
    packet = op.overloadpacket
    candidates = [getattr(packet, name) for name in packet.overloads()]
    # An exact match first; dropping TensorOptions only if nothing else fits.
    for drop in (frozenset(), TENSOR_OPTIONS):
        wanted = _signature(schema, drop)
        for cand in candidates:
            outs = [a for a in cand._schema.arguments if a.is_out]
            if (outs and _signature(cand._schema, drop) == wanted
                    and _outs_match_returns(schema, outs)):
                return OutVariant(cand, tuple(a.name for a in outs))
    declared = qdq.out_schema(schema.name) if schema.overload_name == "" else None
    if declared is not None:
        return OutVariant(None, tuple(a.name for a in declared.arguments if a.is_out), declared)
    return None


def refusal(node: torch.fx.Node) -> str | None:
    """Why a call cannot run although its operator has a kernel, or None.

    native_dropout in training mode (train True or None, as F.dropout(...,
    training=True) traces) draws random numbers; no C generator reproduces
    PyTorch's, so the kernel runs eval mode only (out = input, mask all true)."""
    if node.target is torch.ops.aten.native_dropout.default:
        train = node.args[2] if len(node.args) > 2 else node.kwargs.get("train")
        if train is not False:
            return (f"{node.name}: training-mode dropout needs random numbers, and no "
                    "generator in C is bit-equal to PyTorch's; compile it with training=False")
    return None


def select_out_variants(gm: torch.fx.GraphModule) -> None:
    """Records each call's out variant; fails listing every operator without one."""
    missing: dict[str, list[str]] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is operator.getitem:
            continue
        reason = refusal(node)
        if reason is not None:
            raise CompileError(reason)
        if is_delegate(node) or is_cond(node):
            continue  # a lowered subgraph: no kernel, no out variant
        if not isinstance(node.target, OpOverload):
            missing.setdefault(str(node.target), []).append(node.name)
            continue
        variant = find_out_variant(node.target)
        if variant is None:
            missing.setdefault(str(node.target), []).append(node.name)
        else:
            node.meta[META_KEY] = variant
    if missing:
        lines = [f"  {op} (nodes: {', '.join(nodes)})" for op, nodes in sorted(missing.items())]
        raise CompileError("operators without an out variant (kernels write into planned "
                           "memory, so every operator needs one):\n" + "\n".join(lines))
