"""Pass: give Python numbers passed as Tensor arguments a proper home.

torch.export keeps `x * 2` as aten.mul.Tensor(x, 2): a number where the schema
says Tensor. A program cannot pass a number as a Tensor, so each such call is
moved to the overload of the same operator that takes a Scalar there
(mul.Tensor -> mul.Scalar, with its out variant mul.Scalar_out). Where no such
overload exists the number becomes a 0-d tensor (aten.scalar_tensor), which
constant folding then turns into a constant, as ExecuTorch does.

Complex tensors take the second road always: ExecuTorch's Scalar overloads
switch over real dtypes only (`z + 2.0` would be refused when the program
runs), while its Tensor overloads take complex operands of one dtype, so the
number becomes a 0-d tensor of the complex tensor's dtype.
"""
from __future__ import annotations

import numbers

import torch
from torch._ops import OpOverload
from torch._subclasses.fake_tensor import FakeTensorMode

from .fake import fake_mode_of, recompute_val
from .out_variants import find_out_variant


def _number_tensor_args(op: OpOverload, node: torch.fx.Node) -> dict[str, object]:
    """Tensor-typed arguments of `node` that hold a Python number, by name."""
    found = {}
    for i, arg in enumerate(op._schema.arguments):
        value = node.kwargs.get(arg.name, node.args[i] if i < len(node.args) else None)
        if isinstance(arg.type, torch.TensorType) and isinstance(value, numbers.Number):
            found[arg.name] = value
    return found


def _scalar_overload(op: OpOverload, names: set[str]) -> OpOverload | None:
    """The overload taking Scalar in `names` and the same arguments elsewhere."""
    want = op._schema.arguments
    packet = op.overloadpacket
    for overload in packet.overloads():
        cand = getattr(packet, overload)
        have = cand._schema.arguments
        if len(have) != len(want) or len(cand._schema.returns) != len(op._schema.returns):
            continue
        if all(h.name == w.name and (isinstance(h.type, torch.NumberType) if w.name in names
                                     else str(h.type) == str(w.type))
               for h, w in zip(have, want)) and find_out_variant(cand) is not None:
            return cand
    return None


def _dtype_of_number(value: object) -> torch.dtype:
    """The dtype PyTorch gives a wrapped number."""
    if isinstance(value, bool):
        return torch.bool
    if isinstance(value, numbers.Integral):
        return torch.int64
    return torch.get_default_dtype()


def use_scalar_overloads(gm: torch.fx.GraphModule) -> None:
    """Moves number-as-Tensor calls to Scalar overloads, or wraps the numbers."""
    mode = fake_mode_of(gm)
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or not isinstance(node.target, OpOverload):
            continue
        numbers_ = _number_tensor_args(node.target, node)
        if not numbers_:
            continue
        complex_dtype = _complex_operand_dtype(node)
        scalar_op = None if complex_dtype else _scalar_overload(node.target, set(numbers_))
        if scalar_op is not None:
            node.target = scalar_op
        else:
            _wrap_numbers(gm, node, numbers_, mode, complex_dtype)
        recompute_val(node, mode)
    gm.recompile()


def _complex_operand_dtype(node: torch.fx.Node) -> torch.dtype | None:
    """The dtype of `node`'s complex tensor operand, if it has one."""
    for arg in (*node.args, *node.kwargs.values()):
        val = arg.meta.get("val") if isinstance(arg, torch.fx.Node) else None
        if isinstance(val, torch.Tensor) and val.dtype.is_complex:
            return val.dtype
    return None


def _wrap_numbers(gm: torch.fx.GraphModule, node: torch.fx.Node,
                  numbers_: dict[str, object], mode: FakeTensorMode,
                  dtype: torch.dtype | None = None) -> None:
    args, kwargs = list(node.args), dict(node.kwargs)
    for i, arg in enumerate(node.target._schema.arguments):
        if arg.name not in numbers_:
            continue
        value = numbers_[arg.name]
        with gm.graph.inserting_before(node):
            tensor = gm.graph.call_function(torch.ops.aten.scalar_tensor.default, (value,),
                                            {"dtype": dtype or _dtype_of_number(value)})
        recompute_val(tensor, mode)
        if arg.name in kwargs:
            kwargs[arg.name] = tensor
        else:
            args[i] = tensor
    node.args, node.kwargs = tuple(args), kwargs
