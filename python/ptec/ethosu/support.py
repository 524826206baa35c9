"""What each Ethos-U family accepts, checked on the TOSA operators of a node.

Vela has no CPU fallback for TOSA: an operator or configuration it does not
support is a compile error for the whole graph. So before a node joins an NPU
partition, the TOSA operators it converts to are checked against the rules
below, taken from Vela 5.2's own supported-operators report (`vela
--supported-ops-report`, "TOSA Specific Operator Constraints"). Only the rules
Vela holds to are here: the report's kernel-size and stride limits for
convolutions and pools are not, because Vela 5.2 rewrites such layers (a
stride-4 convolution, a padded 9x9 average pool, a 65-tall kernel all compile
for the U55). Whatever these rules miss, Vela itself catches: the partitioner
compiles every partition and keeps a refused node on the CPU with Vela's
reason (ptec/tosa/partition.py).
"""
from __future__ import annotations

from typing import Callable

from ..tosa.graph import GraphBuilder
from ..tosa.schema import DType, Op, TosaOperator

Rule = Callable[[GraphBuilder, TosaOperator], "str | None"]

#: TOSA operators Ethos-U55 and U65 do not have ("Not Supported Operators").
U55_UNSUPPORTED = frozenset({
    Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR, Op.BITWISE_NOT, Op.INTDIV, Op.LOGICAL_AND,
    Op.LOGICAL_RIGHT_SHIFT, Op.LOGICAL_OR, Op.LOGICAL_XOR, Op.LOGICAL_NOT, Op.SELECT, Op.EQUAL,
    Op.GREATER, Op.GREATER_EQUAL, Op.REDUCE_ALL, Op.REDUCE_ANY, Op.GATHER, Op.SCATTER,
})

#: Operators Vela maps for every family (PRO-INT baseline, "Summary Table").
KNOWN = frozenset({
    Op.ABS, Op.ADD, Op.ARGMAX, Op.ARITHMETIC_RIGHT_SHIFT, Op.AVG_POOL2D, Op.CAST, Op.CLAMP,
    Op.CLZ, Op.CONCAT, Op.CONST, Op.CONST_SHAPE, Op.CONV2D, Op.CONV3D, Op.DEPTHWISE_CONV2D,
    Op.IDENTITY, Op.LOGICAL_LEFT_SHIFT, Op.MATMUL, Op.MAXIMUM, Op.MAX_POOL2D, Op.MINIMUM,
    Op.MUL, Op.NEGATE, Op.PAD, Op.REDUCE_MAX, Op.REDUCE_MIN, Op.REDUCE_SUM, Op.RESCALE,
    Op.RESHAPE, Op.RESIZE, Op.REVERSE, Op.SLICE, Op.SUB, Op.TABLE, Op.TILE, Op.TRANSPOSE,
    Op.TRANSPOSE_CONV2D,
}) | U55_UNSUPPORTED


def _dtype(g: GraphBuilder, name: str) -> DType:
    return g.tensors[name].dtype


def _int8_only(what: str) -> Rule:
    def rule(g: GraphBuilder, op: TosaOperator) -> str | None:
        if _dtype(g, op.inputs[0]) != DType.INT8:
            return f"{what} of {_dtype(g, op.inputs[0]).name}: int8 only"
        return None
    return rule


def _no_bool(g: GraphBuilder, op: TosaOperator) -> str | None:
    if _dtype(g, op.inputs[0]) == DType.BOOL:
        return "a bool tensor: the NPU has no bool data movement"
    return None


def _u55_transpose(g: GraphBuilder, op: TosaOperator) -> str | None:
    t = g.tensors[op.inputs[0]]
    if t.dtype == DType.BOOL:
        return "a bool tensor: the NPU has no bool data movement"
    if t.dtype == DType.INT32 and len(t.shape) > 4:
        return f"an int32 transpose of rank {len(t.shape)}: at most 4"
    return None


def _u55_reduce_minmax(g: GraphBuilder, op: TosaOperator) -> str | None:
    if _dtype(g, op.inputs[0]) not in (DType.INT8, DType.INT16):
        return f"{Op(op.op).name} of {_dtype(g, op.inputs[0]).name}: int8 and int16 only"
    return None


#: family -> {TOSA op: rule}. Ops not in KNOWN are refused for every family.
RULES: dict[str, dict[Op, Rule]] = {
    "u55": {
        Op.TABLE: _int8_only("TABLE"),
        Op.MATMUL: _int8_only("MATMUL"),
        Op.TRANSPOSE: _u55_transpose,
        Op.REDUCE_MAX: _u55_reduce_minmax,
        Op.REDUCE_MIN: _u55_reduce_minmax,
        Op.PAD: _no_bool,
        Op.CONCAT: _no_bool,
        Op.RESHAPE: _no_bool,
        Op.SLICE: _no_bool,
        Op.TILE: _no_bool,
    },
    "u85": {},
}
RULES["u65"] = RULES["u55"]  # Vela states one table for both


def npu_refusal(family: str, graph: GraphBuilder) -> str | None:
    """Why the NPU family cannot run one of `graph`'s operators, or None."""
    rules = RULES[family]
    for op in graph.operators:
        name = Op(op.op).name
        if op.op not in KNOWN:
            return f"Vela has no Ethos-{family.upper()} mapping for TOSA {name}"
        if family in ("u55", "u65") and op.op in U55_UNSUPPORTED:
            return f"Ethos-{family.upper()} has no TOSA {name}"
        rule = rules.get(Op(op.op))
        if rule is not None and (why := rule(graph, op)) is not None:
            return f"Ethos-{family.upper()} {name}: {why}"
    return None
