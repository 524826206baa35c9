"""TOSA 1.0's flatbuffer schema (tosa_1.0.fbs, file identifier "TOSA") as dataclasses.

The same descriptors as the .pte schema (`ptec.pte.fbtypes`), so the generic
codec in `ptec.pte.flatbuffer` writes and reads TOSA too. Field order is the
.fbs declaration order (it fixes the vtable slots); the C reader's slot
numbers are in runtime/src/format/tosa_schema.h. Keep the three in sync.

The attribute tables are declared from `_ATTRIBUTES` below, in the order of
the `Op` enum: the `Attribute` union's tag of an attribute equals the value
of its op (NONE = 0), as the schema declares them.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from ptec.pte.fbtypes import blob, scalar, string, table, union, vector

FILE_IDENTIFIER = b"TOSA"
#: The TOSA specification version ptec writes (Version table).
VERSION = (1, 0, 0)


class DType(enum.IntEnum):
    UNKNOWN = 0
    BOOL = 1
    INT4 = 2
    INT8 = 3
    INT16 = 4
    INT32 = 5
    INT48 = 6
    FP32 = 7
    FP16 = 8
    BF16 = 9
    SHAPE = 10
    FP8E4M3 = 11
    FP8E5M2 = 12


class ResizeMode(enum.IntEnum):
    UNKNOWN = 0
    NEAREST = 1
    BILINEAR = 2


class NanPropagationMode(enum.IntEnum):
    UNKNOWN = 0
    PROPAGATE = 1
    IGNORE = 2


class RoundingMode(enum.IntEnum):
    UNKNOWN = 0
    SINGLE_ROUND = 1
    INEXACT_ROUND = 2
    DOUBLE_ROUND = 3


_OP_NAMES = """UNKNOWN ARGMAX AVG_POOL2D CONV2D CONV3D DEPTHWISE_CONV2D FFT2D MATMUL MAX_POOL2D
RFFT2D TRANSPOSE_CONV2D CLAMP ERF SIGMOID TANH ADD ARITHMETIC_RIGHT_SHIFT BITWISE_AND BITWISE_OR
BITWISE_XOR INTDIV LOGICAL_AND LOGICAL_LEFT_SHIFT LOGICAL_RIGHT_SHIFT LOGICAL_OR LOGICAL_XOR MAXIMUM
MINIMUM MUL POW SUB TABLE ABS BITWISE_NOT CEIL CLZ COS EXP FLOOR LOG LOGICAL_NOT NEGATE RECIPROCAL
RSQRT SIN SELECT EQUAL GREATER GREATER_EQUAL REDUCE_ALL REDUCE_ANY REDUCE_MAX REDUCE_MIN
REDUCE_PRODUCT REDUCE_SUM CONCAT PAD RESHAPE REVERSE SLICE TILE TRANSPOSE GATHER SCATTER RESIZE CAST
RESCALE CONST IDENTITY CUSTOM COND_IF WHILE_LOOP VARIABLE VARIABLE_WRITE VARIABLE_READ
CONST_SHAPE""".split()

Op = enum.IntEnum("Op", [(n, i) for i, n in enumerate(_OP_NAMES)])
Op.__doc__ = "TOSA operators, numbered as in the schema's `Op` enum."


def _i32s():
    return vector("int")


def _nan():
    return scalar("uint", 0, NanPropagationMode)


def _dtype():
    return scalar("uint", 0, DType)


#: Attribute table per op (Op order), as (class name, [(field, descriptor factory)]).
_ATTRIBUTES: list[tuple[str, list[tuple[str, object]]]] = [
    ("ArgMaxAttribute", [("axis", lambda: scalar("int")), ("nan_mode", _nan)]),
    ("AvgPool2dAttribute", [("kernel", _i32s), ("stride", _i32s), ("pad", _i32s),
                            ("acc_type", _dtype)]),
    ("Conv2dAttribute", [("pad", _i32s), ("stride", _i32s), ("dilation", _i32s),
                         ("local_bound", lambda: scalar("bool")), ("acc_type", _dtype)]),
    ("Conv3dAttribute", [("pad", _i32s), ("stride", _i32s), ("dilation", _i32s),
                         ("local_bound", lambda: scalar("bool")), ("acc_type", _dtype)]),
    ("DepthwiseConv2dAttribute", [("pad", _i32s), ("stride", _i32s), ("dilation", _i32s),
                                  ("local_bound", lambda: scalar("bool")), ("acc_type", _dtype)]),
    ("FFT2dAttribute", [("inverse", lambda: scalar("bool")),
                        ("local_bound", lambda: scalar("bool"))]),
    ("MatMulAttribute", []),
    ("MaxPool2dAttribute", [("kernel", _i32s), ("stride", _i32s), ("pad", _i32s),
                            ("nan_mode", _nan)]),
    ("RFFT2dAttribute", [("local_bound", lambda: scalar("bool"))]),
    ("TransposeConv2dAttribute", [("out_pad", _i32s), ("stride", _i32s),
                                  ("local_bound", lambda: scalar("bool")), ("acc_type", _dtype)]),
    ("ClampAttribute", [("min_val", lambda: blob(8)), ("max_val", lambda: blob(8)),
                        ("nan_mode", _nan)]),
    ("ErfAttribute", []), ("SigmoidAttribute", []), ("TanhAttribute", []), ("AddAttribute", []),
    ("ArithmeticRightShiftAttribute", [("round", lambda: scalar("bool"))]),
    ("BitwiseAndAttribute", []), ("BitwiseOrAttribute", []), ("BitwiseXorAttribute", []),
    ("IntDivAttribute", []), ("LogicalAndAttribute", []), ("LogicalLeftShiftAttribute", []),
    ("LogicalRightShiftAttribute", []), ("LogicalOrAttribute", []), ("LogicalXorAttribute", []),
    ("MaximumAttribute", [("nan_mode", _nan)]), ("MinimumAttribute", [("nan_mode", _nan)]),
    ("MulAttribute", []), ("PowAttribute", []), ("SubAttribute", []), ("TableAttribute", []),
    ("AbsAttribute", []), ("BitwiseNotAttribute", []), ("CeilAttribute", []),
    ("ClzAttribute", []), ("CosAttribute", []), ("ExpAttribute", []), ("FloorAttribute", []),
    ("LogAttribute", []), ("LogicalNotAttribute", []), ("NegateAttribute", []),
    ("ReciprocalAttribute", []), ("RsqrtAttribute", []), ("SinAttribute", []),
    ("SelectAttribute", []), ("EqualAttribute", []), ("GreaterAttribute", []),
    ("GreaterEqualAttribute", []),
    ("ReduceAllAttribute", [("axis", lambda: scalar("int"))]),
    ("ReduceAnyAttribute", [("axis", lambda: scalar("int"))]),
    ("ReduceMaxAttribute", [("axis", lambda: scalar("int")), ("nan_mode", _nan)]),
    ("ReduceMinAttribute", [("axis", lambda: scalar("int")), ("nan_mode", _nan)]),
    ("ReduceProductAttribute", [("axis", lambda: scalar("int"))]),
    ("ReduceSumAttribute", [("axis", lambda: scalar("int"))]),
    ("ConcatAttribute", [("axis", lambda: scalar("int"))]),
    ("PadAttribute", []), ("ReshapeAttribute", []),
    ("ReverseAttribute", [("axis", lambda: scalar("int"))]),
    ("SliceAttribute", []), ("TileAttribute", []),
    ("TransposeAttribute", [("perms", _i32s)]),
    ("GatherAttribute", []), ("ScatterAttribute", []),
    ("ResizeAttribute", [("mode", lambda: scalar("uint", 0, ResizeMode))]),
    ("CastAttribute", []),
    ("RescaleAttribute", [("scale32", lambda: scalar("bool")),
                          ("rounding_mode", lambda: scalar("uint", 0, RoundingMode)),
                          ("per_channel", lambda: scalar("bool")),
                          ("input_unsigned", lambda: scalar("bool")),
                          ("output_unsigned", lambda: scalar("bool"))]),
    ("ConstAttribute", []), ("IdentityAttribute", []),
    ("CustomAttribute", [("operator_name", string), ("domain_name", string),
                         ("implementation_attrs", lambda: blob(1))]),
    ("CondIfAttribute", [("then_graph", string), ("else_graph", string)]),
    ("WhileLoopAttribute", [("cond_graph", string), ("body_graph", string)]),
    ("VariableAttribute", []), ("VariableWriteAttribute", []), ("VariableReadAttribute", []),
    ("ConstShapeAttribute", []),
]


def _make_attribute(name: str, fields: list[tuple[str, object]]) -> type:
    specs = [(f, object, factory()) for f, factory in fields]
    cls = dataclasses.make_dataclass(name, specs)
    cls.__module__ = __name__
    return cls


ATTRIBUTES: tuple[type, ...] = tuple(_make_attribute(n, f) for n, f in _ATTRIBUTES)
globals().update({cls.__name__: cls for cls in ATTRIBUTES})
assert len(ATTRIBUTES) == len(Op) - 1, "one attribute table per op"

#: The attribute class of each op.
ATTRIBUTE_OF: dict[Op, type] = {Op(i + 1): cls for i, cls in enumerate(ATTRIBUTES)}


@dataclass
class Version:
    _major: int = scalar("int", -1)
    _minor: int = scalar("int", -1)
    _patch: int = scalar("int", -1)
    _draft: bool = scalar("bool", True)


@dataclass
class TosaTensor:
    name: str | None = string()
    shape: list[int] | None = vector("int")
    type: int = scalar("uint", 0, DType)
    data: bytes | None = blob(8)
    variable: bool = scalar("bool")
    is_unranked: bool = scalar("bool")
    variable_name: str | None = string()
    offset: int = scalar("ulong")
    size: int = scalar("ulong")


@dataclass
class TosaShape:
    name: str | None = string()
    rank: int = scalar("uint")
    data: bytes | None = blob(8)


@dataclass
class OpLocation:
    text: str | None = string()


@dataclass
class TosaOperator:
    op: int = scalar("uint", 0, Op)
    attribute: object | None = union(*ATTRIBUTES)
    inputs: list[str] | None = vector(str)
    outputs: list[str] | None = vector(str)
    location: OpLocation | None = table(OpLocation)


@dataclass
class TosaBasicBlock:
    name: str | None = string()
    operators: list[TosaOperator] | None = vector(TosaOperator)
    tensors: list[TosaTensor] | None = vector(TosaTensor)
    inputs: list[str] | None = vector(str)
    outputs: list[str] | None = vector(str)
    shapes: list[TosaShape] | None = vector(TosaShape)


@dataclass
class TosaRegion:
    name: str | None = string()
    blocks: list[TosaBasicBlock] | None = vector(TosaBasicBlock)


@dataclass
class TosaGraph:
    version: Version | None = table(Version)
    regions: list[TosaRegion] | None = vector(TosaRegion)
