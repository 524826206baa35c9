"""The fake-quantized model evaluated the way ptec's integer programs compute it.

A converted PT2E module run as it is computes its quantized ops in float32,
and a deep network amplifies float32's rounding: where a value lands within
~1e-6 of a quantization step's midpoint, float32 rounding decides which code
it gets, an exact integer kernel may decide the other way, and that one-step
difference grows through later layers. This reference evaluates the same
graph with every value that comes from a dequantize in float64 (dequantize,
the ops reading it and the quantize after them: exact up to float64
rounding, as the integer kernels are exact), while ops that read only float
tensors (an embedding, say: a float island of the program) keep float32 and
their quantize keeps PyTorch's float32 formula, as the program's float
kernels and quantize kernel compute them. Where a value lands exactly on a
step's midpoint, it rounds up, as TOSA's integer arithmetic does (PyTorch's
quantize rounds to even). ptec's integer programs match it bit for bit where
the model is integer throughout.
"""
from __future__ import annotations

from typing import Any

import torch

from . import qdq

_DEQUANTIZE = ("quantized_decomposed::dequantize_per_tensor",
               "quantized_decomposed::dequantize_per_channel")
_QUANTIZE = "quantized_decomposed::quantize_per_tensor"


def _dequantize(x, scale, zero_point, *rest, **_):
    return (x.to(torch.float64) - zero_point) * float(scale)


def _dequantize_per_channel(x, scales, zero_points, axis, *rest, **_):
    shape = [1] * x.dim()
    shape[axis] = -1
    zps = 0 if zero_points is None else zero_points.to(torch.float64).reshape(shape)
    return (x.to(torch.float64) - zps) * scales.to(torch.float64).reshape(shape)


def _quantize(x, scale, zero_point, quant_min, quant_max, dtype):
    if x.dtype == torch.float32:  # a float island's value: PyTorch's own formula
        return torch.ops.quantized_decomposed.quantize_per_tensor(
            x, scale, zero_point, quant_min, quant_max, dtype)
    # Ties round up, as TOSA's apply_scale_32 does (floor(v + 1/2)), not to even
    # as PyTorch's quantize does. Ties are exact only where a scale ratio is
    # exact: a mean or average of an even count whose output scale equals its
    # input's (two relu6 ranges, say); the integer programs follow TOSA there.
    codes = torch.floor(x.to(torch.float64) / scale + 0.5) + zero_point
    return torch.clamp(codes, quant_min, quant_max).to(dtype)


def _widened(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dtype == torch.float32:
        return value.to(torch.float64)
    if isinstance(value, (list, tuple)):
        return type(value)(_widened(v) for v in value)
    return value


def _has_float64(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dtype == torch.float64
    if isinstance(value, (list, tuple)):
        return any(_has_float64(v) for v in value)
    return False


class _Reference(torch.fx.Interpreter):
    def call_function(self, target, args, kwargs):
        name = qdq.op_name(target)
        if name == _DEQUANTIZE[0]:
            return _dequantize(*args, **kwargs)
        if name == _DEQUANTIZE[1]:
            return _dequantize_per_channel(*args, **kwargs)
        if name == _QUANTIZE:
            return _quantize(*args, **kwargs)
        if _has_float64((args, kwargs)):
            args, kwargs = _widened(args), _widened(kwargs)
        return super().call_function(target, args, kwargs)


class Float64Reference:
    """Callable like the converted module; returns float64 where the model's
    output comes from a dequantize."""

    def __init__(self, converted: torch.fx.GraphModule):
        self.module = converted

    def __call__(self, *inputs):
        with torch.no_grad():
            return _Reference(self.module).run(*inputs)


def float64_reference(converted: torch.fx.GraphModule) -> Float64Reference:
    return Float64Reference(converted)
