"""Building a TOSA 1.0 graph: the API a lowering pass uses.

    g = GraphBuilder()
    x = g.input("x", [1, 8, 8, 4], DType.INT8)
    w = g.const("w", weights)                      # a CONST op + tensor with data
    zp = g.const("x_zp", np.array([-3], np.int8))
    shape = g.const_shape("shape", [1, 256])       # a CONST_SHAPE op (DType.SHAPE)
    y = g.tensor("y", [1, 8, 8, 16], DType.INT32)
    g.op(Op.CONV2D, [x, w, b, zp, wzp], [y], pad=[1, 1, 1, 1], stride=[1, 1],
         dilation=[1, 1], acc_type=DType.INT32)
    g.output(y)
    data = g.serialize()                           # TOSA flatbuffer bytes

Tensors are referred to by name, as in the flatbuffer. Operators are kept in
the order added, which must be a topological order (the C executor refuses a
graph that uses a tensor before it is produced). Attribute fields are given as
keywords of the op's attribute table (`schema.ATTRIBUTE_OF`); CLAMP's
min_val/max_val may be given as numbers and are encoded in the input dtype.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import schema as s
from .serialize import TOSA_DTYPE, decode_graph, encode_graph, pack_data, unpack_data

_CLAMP_NUMPY = {s.DType.INT8: np.int8, s.DType.INT16: np.int16, s.DType.INT32: np.int32,
                s.DType.FP32: np.float32, s.DType.FP16: np.float16, s.DType.BF16: "bf16"}


@dataclass
class Tensor:
    """A tensor of the graph being built: name, shape, dtype (and data for constants)."""
    name: str
    shape: list[int]
    dtype: s.DType
    data: np.ndarray | None = None


@dataclass
class GraphBuilder:
    """One region ("main") with one basic block ("main"), as TOSA 1.0 programs have."""
    tensors: dict[str, Tensor] = field(default_factory=dict)
    operators: list[s.TosaOperator] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    block_name: str = "main"
    #: FX node name -> (its result's tensor, that tensor's layout as a permutation of the
    #: node's dims), filled by the lowering for the numerical debugger.
    node_tensors: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)

    # --------------------------------------------------------------- tensors
    def tensor(self, name: str, shape, dtype) -> Tensor:
        if name in self.tensors:
            raise ValueError(f"tensor {name!r} already exists")
        t = Tensor(name, [int(d) for d in shape], s.DType(dtype))
        self.tensors[name] = t
        return t

    def input(self, name: str, shape, dtype) -> Tensor:
        t = self.tensor(name, shape, dtype)
        self.inputs.append(name)
        return t

    def output(self, t: Tensor | str) -> None:
        self.outputs.append(t if isinstance(t, str) else t.name)

    def const(self, name: str, values, dtype=None) -> Tensor:
        """A constant tensor and the CONST operator that produces it."""
        values = np.asarray(values)
        dtype = s.DType(dtype) if dtype is not None else TOSA_DTYPE[values.dtype]
        t = self.tensor(name, list(values.shape), dtype)
        t.data = values
        self.operators.append(s.TosaOperator(op=s.Op.CONST, attribute=s.ConstAttribute(),
                                              inputs=[], outputs=[name]))
        return t

    def const_shape(self, name: str, values) -> Tensor:
        """A shape operand (DType.SHAPE, rank 1) and its CONST_SHAPE operator."""
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        t = self.tensor(name, [len(values)], s.DType.SHAPE)
        t.data = values
        self.operators.append(s.TosaOperator(op=s.Op.CONST_SHAPE,
                                              attribute=s.ConstShapeAttribute(),
                                              inputs=[], outputs=[name]))
        return t

    # ------------------------------------------------------------- operators
    def op(self, op: s.Op, inputs, outputs, **attrs) -> s.TosaOperator:
        op = s.Op(op)
        cls = s.ATTRIBUTE_OF[op]
        names_in = [t if isinstance(t, str) else t.name for t in inputs]
        names_out = [t if isinstance(t, str) else t.name for t in outputs]
        for n in names_in + names_out:
            if n not in self.tensors:
                raise ValueError(f"{op.name}: unknown tensor {n!r}")
        if op == s.Op.CLAMP:
            np_type = _CLAMP_NUMPY[self.tensors[names_in[0]].dtype]
            for key in ("min_val", "max_val"):
                if key in attrs and not isinstance(attrs[key], (bytes, bytearray)):
                    attrs[key] = (pack_data(np.array([attrs[key]], np.float32), s.DType.BF16)
                                  if np_type == "bf16" else np.array([attrs[key]], np_type).tobytes())
        operator = s.TosaOperator(op=op, attribute=cls(**attrs), inputs=names_in,
                                  outputs=names_out)
        self.operators.append(operator)
        return operator

    # ----------------------------------------------------- lowering helpers
    def unique_name(self, base: str) -> str:
        """`base`, or `base_1`, `base_2`, ... if taken."""
        name, k = base, 0
        while name in self.tensors:
            k += 1
            name = f"{base}_{k}"
        return name

    def zero_point(self, value: int, dtype) -> Tensor:
        """A [1] constant zero point of `dtype` (shared between operators)."""
        dtype = s.DType(dtype)
        name = f"zp_{dtype.name.lower()}_{value}".replace("-", "m")
        if name in self.tensors:
            return self.tensors[name]
        np_type = {s.DType.INT8: np.int8, s.DType.INT16: np.int16, s.DType.INT32: np.int32,
                   s.DType.FP32: np.float32, s.DType.FP16: np.float16,
                   s.DType.BF16: np.float32}[dtype]  # BF16 held as float32 (serialize.py)
        return self.const(name, np.array([value], np_type), dtype)

    def rescale(self, x: Tensor | str, scale, out_dtype, *, input_zp: int = 0,
                output_zp: int = 0, name: str | None = None) -> Tensor:
        """RESCALE x by `scale` (one float, or one per channel of the last dim) into a new
        tensor of `out_dtype`: multipliers and shifts as ExecuTorch computes them
        (ptec.quant.tosa_math), scale32 unless the input is INT48, SINGLE_ROUND, the zero
        points as [1] constants. This is the requantization every integer op ends with."""
        from ptec.quant.tosa_math import compute_multipliers_and_shifts
        x = self.tensors[x] if isinstance(x, str) else x
        scales = np.atleast_1d(np.asarray(scale, dtype=np.float64))
        scale32 = x.dtype != s.DType.INT48
        m, sh = compute_multipliers_and_shifts(scales, offset=31 if scale32 else 15)
        base = name or self.unique_name(f"{x.name}_rescaled")
        mult = self.const(self.unique_name(f"{base}_multiplier"),
                          m.astype(np.int32 if scale32 else np.int16))
        shift = self.const(self.unique_name(f"{base}_shift"), sh.astype(np.int8))
        y = self.tensor(base, x.shape, out_dtype)
        self.op(s.Op.RESCALE, [x, mult, shift, self.zero_point(input_zp, x.dtype),
                               self.zero_point(output_zp, out_dtype)], [y],
                scale32=scale32, rounding_mode=s.RoundingMode.SINGLE_ROUND,
                per_channel=len(scales) > 1, input_unsigned=False, output_unsigned=False)
        return y

    # ------------------------------------------------------------ flatbuffer
    def to_schema(self) -> s.TosaGraph:
        tensors = []
        for t in self.tensors.values():
            data = None if t.data is None else pack_data(t.data, t.dtype)
            tensors.append(s.TosaTensor(name=t.name, shape=list(t.shape), type=t.dtype, data=data))
        block = s.TosaBasicBlock(name=self.block_name, operators=list(self.operators),
                                 tensors=tensors, inputs=list(self.inputs),
                                 outputs=list(self.outputs), shapes=[])
        major, minor, patch = s.VERSION
        return s.TosaGraph(version=s.Version(major, minor, patch, minor > 0),
                           regions=[s.TosaRegion(name="main", blocks=[block])])

    def serialize(self) -> bytes:
        return encode_graph(self.to_schema())


def read_graph(data: bytes) -> GraphBuilder:
    """A TOSA flatbuffer's first block as a GraphBuilder (tensor data unpacked)."""
    graph = decode_graph(data)
    regions = graph.regions or []
    blocks = regions[0].blocks or [] if regions else []
    if not blocks:
        return GraphBuilder()
    block = blocks[0]
    g = GraphBuilder(block_name=block.name or "main")
    for t in block.tensors or []:
        shape = list(t.shape or [])
        # Arm's tosa_serializer writes an empty data vector on every non-constant tensor.
        data = None if not t.data and math.prod(shape) else t.data
        g.tensors[t.name] = Tensor(t.name, shape, s.DType(t.type) if t.type in
                                   s.DType._value2member_map_ else t.type,
                                   None if data is None else unpack_data(data, t.type, shape))
    for v in block.shapes or []:  # SHAPE values listed apart (tosa_serializer's CONST_SHAPE)
        values = np.frombuffer(bytes(v.data or b""), "<i8")[:v.rank] if v.data else None
        g.tensors[v.name] = Tensor(v.name, [v.rank], s.DType.SHAPE, values)
    g.operators = list(block.operators or [])
    g.inputs = list(block.inputs or [])
    g.outputs = list(block.outputs or [])
    return g
