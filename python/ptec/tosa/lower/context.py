"""What every TOSA converter shares: the graph being built, where each FX value
went, and the layout it is stored in.

A converter turns one FX node into TOSA operators. It reads its inputs with
`lw.value(arg, layout)` and records its result with `lw.set(node, tensor,
layout)`; if the node has no TOSA form it raises `Unsupported` with the reason
the compile report prints.

Layouts. TOSA's convolutions and pools take NHWC tensors, PyTorch's graph is
NCHW. Each value is kept as (TOSA tensor, perm) where the TOSA tensor is the
logical (PyTorch) tensor permuted by `perm`: tosa.shape[i] =
logical.shape[perm[i]]. Rank-4 activations produced by a convolution or pool
are stored NHWC (perm 0,2,3,1); a consumer that needs another layout gets a
TRANSPOSE, made once per (value, layout). A permute of the graph is then
often free: it only relabels the perm. The delegate's own inputs and outputs
are logical (identity perm), as the method's tensors are.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ...dtypes import dim_order_from_strides
from ..graph import GraphBuilder, Tensor
from ..schema import DType, Op

NHWC = (0, 2, 3, 1)

#: torch dtype -> TOSA dtype; int64 (PyTorch's index type) has none.
TOSA_TYPES = {
    torch.bool: DType.BOOL, torch.int8: DType.INT8, torch.int16: DType.INT16,
    torch.int32: DType.INT32, torch.float32: DType.FP32, torch.float16: DType.FP16,
    torch.bfloat16: DType.BF16,
}
NUMPY_TYPES = {DType.BOOL: np.bool_, DType.INT8: np.int8, DType.INT16: np.int16,
               DType.INT32: np.int32, DType.INT48: np.int64, DType.FP32: np.float32,
               DType.FP16: np.float16, DType.BF16: np.float32}  # BF16 packed from float32
INTEGER_TYPES = frozenset({DType.INT8, DType.INT16, DType.INT32, DType.BOOL})


class Unsupported(Exception):
    """This node has no TOSA form in this profile; the message says why."""


def identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


def inverse(perm: Sequence[int]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def tosa_dtype(dtype: torch.dtype, what: str) -> DType:
    if dtype not in TOSA_TYPES:
        raise Unsupported(f"{what} is {str(dtype).removeprefix('torch.')}, which TOSA has no "
                          "type for")
    return TOSA_TYPES[dtype]


def fx_val(node: Any) -> torch.Tensor:
    val = node.meta.get("val") if isinstance(node, torch.fx.Node) else None
    if not isinstance(val, torch.Tensor):
        raise Unsupported("it produces something other than one tensor")
    return val


@dataclass
class Stored:
    tensor: Tensor
    perm: tuple[int, ...]


@dataclass
class Lowering:
    """One delegate's TOSA graph under construction."""
    gm: torch.fx.GraphModule
    profile: str                      # "INT" or "FP"
    g: GraphBuilder = field(default_factory=GraphBuilder)
    stored: dict[Any, Stored] = field(default_factory=dict)
    converted: dict[tuple[Any, tuple[int, ...]], Tensor] = field(default_factory=dict)

    # ------------------------------------------------------------ values
    @staticmethod
    def key(node: Any) -> Any:
        """getitem(producer, i) names result i of producer. A converter may also
        store an intermediate under a tuple key of its own, e.g. ("alpha", node)."""
        if not isinstance(node, torch.fx.Node):
            return node
        if node.op == "call_function" and node.target is operator.getitem:
            return (node.args[0], node.args[1])
        return node

    def add_input(self, node: torch.fx.Node) -> Tensor:
        """A graph input, in the layout its tensor has in memory: a channels-last
        4-D tensor is an NHWC input (the CPU laid it out; no TRANSPOSE here)."""
        val = fx_val(node)
        perm = tuple(dim_order_from_strides(val.stride())) if val.dim() == 4 else ()
        perm = perm if perm == NHWC else identity(val.dim())
        t = self.g.input(self.g.unique_name(f"in_{node.name}"),
                         [val.shape[d] for d in perm], tosa_dtype(val.dtype, node.name))
        self.stored[self.key(node)] = Stored(t, perm)
        return t

    def set(self, node: Any, tensor: Tensor, perm: Sequence[int] | None = None,
            index: int | None = None) -> None:
        key = node if index is None else (node, index)
        self.stored[key] = Stored(tensor, tuple(perm) if perm is not None
                                  else identity(len(tensor.shape)))

    def stored_of(self, node: Any) -> Stored:
        if isinstance(node, tuple) and node in self.stored:
            return self.stored[node]
        if not isinstance(node, torch.fx.Node):
            raise Unsupported(f"an operand is {node!r}, not a tensor")
        key = self.key(node)
        if key not in self.stored:
            if node.op == "get_attr":
                self.stored[key] = Stored(self.const_of(node, None), identity(fx_val(node).dim()))
            else:
                raise Unsupported(f"{node.name} is not available to the TOSA graph")
        return self.stored[key]

    def value(self, node: Any, perm: Sequence[int] | None = None) -> Tensor:
        """node's TOSA tensor in layout `perm` (default: logical), transposed if needed."""
        st = self.stored_of(node)
        want = tuple(perm) if perm is not None else identity(len(st.perm))
        if want == st.perm:
            return st.tensor
        cache = (self.key(node), want)
        if cache not in self.converted:
            p = [st.perm.index(w) for w in want]
            out = self.tensor(f"{st.tensor.name}_t", [st.tensor.shape[i] for i in p],
                              st.tensor.dtype)
            self.g.op(Op.TRANSPOSE, [st.tensor], [out], perms=p)
            self.converted[cache] = out
        return self.converted[cache]

    def set_reduced(self, node: torch.fx.Node, y: Tensor, perm: Sequence[int],
                    keepdim: bool) -> None:
        """A reduction's result y (reduced axes kept as 1, in layout perm): as it is
        with keepdim, else back in logical order with the reduced axes dropped."""
        if keepdim:
            self.set(node, y, perm)
            return
        self.set(("kept", node), y, perm)
        self.set(node, self.reshape(self.value(("kept", node)), list(fx_val(node).shape),
                                    f"{node.name}_out"))

    def same_layout(self, operands: Sequence[Any], base: str) -> tuple[list[Tensor], tuple]:
        """Elementwise operands in one rank and layout (TOSA broadcasts size-1 dims of
        equal ranks): lower ranks get leading 1s, all take the layout of the first
        operand of the highest rank."""
        rank = max(len(self.perm_of(x)) for x in operands)
        perm = next(self.perm_of(x) for x in operands if len(self.perm_of(x)) == rank)
        out = []
        for x in operands:
            if len(self.perm_of(x)) == rank:
                out.append(self.value(x, perm))
                continue
            logical = self.value(x)
            t = self.reshape(logical, [1] * (rank - len(logical.shape)) + list(logical.shape),
                             f"{base}_rank")
            if perm != identity(rank):
                t = self.op(Op.TRANSPOSE, [t], [t.shape[p] for p in perm], t.dtype, f"{base}_t",
                            perms=list(perm))
            out.append(t)
        return out, perm

    def perm_of(self, node: Any) -> tuple[int, ...]:
        return self.stored_of(node).perm

    def layout_for(self, node: Any) -> tuple[int, ...]:
        """The layout an elementwise op keeps: its input's (NHWC stays NHWC)."""
        return self.perm_of(node)

    # ------------------------------------------------------- constants
    def real(self, node: Any, what: str) -> torch.Tensor:
        """The value of a constant operand (a get_attr node)."""
        if not isinstance(node, torch.fx.Node) or node.op != "get_attr":
            raise Unsupported(f"{what} is not a constant")
        return getattr(self.gm, node.target).detach()

    def const_of(self, node: torch.fx.Node, perm: Sequence[int] | None,
                 dtype: DType | None = None) -> Tensor:
        data = self.real(node, node.name)
        data = (data.float() if data.dtype == torch.bfloat16 else data).numpy()
        if perm is not None:
            data = np.transpose(data, perm)
        if dtype is None:
            dtype = tosa_dtype(fx_val(node).dtype, node.name)
        return self.g.const(self.g.unique_name(f"c_{node.name}"),
                            np.ascontiguousarray(data).astype(NUMPY_TYPES[dtype]), dtype)

    def const(self, base: str, values: Any, dtype: DType) -> Tensor:
        return self.g.const(self.g.unique_name(base),
                            np.asarray(values).astype(NUMPY_TYPES[dtype]), dtype)

    def shape(self, base: str, values: Sequence[int]) -> Tensor:
        return self.g.const_shape(self.g.unique_name(base), [int(v) for v in values])

    def zero_point(self, value: int, dtype: DType) -> Tensor:
        return self.g.zero_point(int(value), dtype)

    # ------------------------------------------------------- operators
    def tensor(self, base: str, shape: Sequence[int], dtype: DType) -> Tensor:
        return self.g.tensor(self.g.unique_name(base), [int(d) for d in shape], dtype)

    def op(self, op: Op, inputs: list, shape: Sequence[int], dtype: DType, base: str,
           **attrs) -> Tensor:
        """One operator with one new output tensor."""
        out = self.tensor(base, shape, dtype)
        self.g.op(op, inputs, [out], **attrs)
        return out

    def reshape(self, x: Tensor, shape: Sequence[int], base: str) -> Tensor:
        if list(shape) == list(x.shape):
            return x
        return self.op(Op.RESHAPE, [x, self.shape(f"{base}_shape", shape)], shape, x.dtype,
                       base)

    def clamp(self, x: Tensor, lo: float, hi: float, base: str) -> Tensor:
        """CLAMP, or x itself when [lo, hi] is the whole of x's integer range."""
        if x.dtype in (DType.INT8, DType.INT16):
            info = np.iinfo(NUMPY_TYPES[x.dtype])
            if lo <= info.min and hi >= info.max:
                return x
            lo, hi = max(int(lo), int(info.min)), min(int(hi), int(info.max))
        return self.op(Op.CLAMP, [x], x.shape, x.dtype, base, min_val=lo, max_val=hi,
                       nan_mode=1)

    def require_profile(self, dtype: DType, what: str) -> None:
        if self.profile == "INT" and dtype not in INTEGER_TYPES:
            raise Unsupported(f"{what} is floating point and the TOSA INT profile has integer "
                              "operators only (quantize the model with ptec.Int8)")
        if self.profile == "FP" and dtype in (DType.INT8, DType.INT16):
            raise Unsupported(f"{what} is quantized and this target runs the TOSA FP profile "
                              "(use tosa-int for quantized models)")
