"""The ptec:: integer operators, registered with torch so that lowered graphs
stay ordinary FX graphs.

The lowering pass (ptec.quant.lower) replaces each dequantize -> op ->
quantize pattern with one of these calls. Each has a functional overload
(what the graph holds) and an `.out` overload (what the program calls; the
C kernel of the same name, runtime/src/kernels/quantized/). The schemas here
are the single source: tests/python/test_op_list.py checks the C kernels'
argument tags against them.

Only shapes, dtypes and layouts are registered (FakeTensor kernels): the
arithmetic lives in the C kernels, and its NumPy model in
tests/python/tosa_ref.py.
"""
from __future__ import annotations

import torch

_OUT = "*, Tensor(a!) out) -> Tensor(a!)"

#: name -> argument list (without `out`), as in the C kernel's comment.
ARGUMENTS: dict[str, str] = {
    "quantized_conv2d": "Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                        "int[] dilation, int groups, int input_zp, int weight_zp, "
                        "Tensor multiplier, Tensor shift, int output_zp, int activation_min, "
                        "int activation_max",
    "quantized_linear": "Tensor input, Tensor weight, Tensor? bias, int input_zp, int weight_zp, "
                        "Tensor multiplier, Tensor shift, int output_zp, int activation_min, "
                        "int activation_max",
    "quantized_matmul": "Tensor a, Tensor b, int a_zp, int b_zp, int multiplier, int shift, "
                        "int output_zp",
    # int16 x int16 (int48 accumulator), multiplier a scale16 one: [1, 2^15)
    "quantized_matmul16": "Tensor a, Tensor b, int a_zp, int b_zp, int multiplier, int shift, "
                          "int output_zp",
    "quantized_add": "Tensor a, Tensor b, int a_zp, int a_multiplier, int a_shift, int b_zp, "
                     "int b_multiplier, int b_shift, int output_zp, int output_multiplier, "
                     "int output_shift, int activation_min, int activation_max",
    "quantized_sub": "Tensor a, Tensor b, int a_zp, int a_multiplier, int a_shift, int b_zp, "
                     "int b_multiplier, int b_shift, int output_zp, int output_multiplier, "
                     "int output_shift, int activation_min, int activation_max",
    "quantized_mul": "Tensor a, Tensor b, int a_zp, int b_zp, int multiplier, int shift, "
                     "int output_zp, int activation_min, int activation_max",
    "quantized_avg_pool2d": "Tensor input, int[] kernel, int[] stride, int[] padding, "
                            "int input_zp, int output_zp, int activation_min, "
                            "int activation_max",
    "quantized_max_pool2d": "Tensor input, int[] kernel, int[] stride, int[] padding, "
                            "int[] dilation, int activation_min, int activation_max",
    "quantized_mean": "Tensor input, int[] dims, bool keepdim, int input_zp, int multiplier, "
                      "int shift, int output_zp, int activation_min, int activation_max",
    "quantized_softmax": "Tensor input, int dim, Tensor exp_table, int multiplier, int shift, "
                         "int output_zp, int activation_min, int activation_max",
    "quantized_layer_norm": "Tensor input, int[] normalized_shape, Tensor? weight, Tensor? bias, "
                            "float eps, float input_scale, int input_zp, float output_scale, "
                            "int output_zp, int activation_min, int activation_max",
    "table": "Tensor input, Tensor table",
    "rescale": "Tensor input, int input_zp, Tensor multiplier, Tensor shift, int output_zp, "
               "int axis",
}

#: Functional overloads whose result dtype is not their input's take it as a
#: `dtype` keyword, which the out overload drops (its out tensor carries it),
#: as aten's TensorOptions arguments are dropped.
_DTYPE_KWARG = {"rescale"}


def out_schema(name: str) -> str:
    """The `.out` schema of ptec::name, as the C kernel implements it."""
    return f"ptec::{name}.out({ARGUMENTS[name]}, {_OUT}"


OUT_SCHEMAS: list[str] = [out_schema(name) for name in ARGUMENTS]

_lib = torch.library.Library("ptec", "DEF")
for _name, _args in ARGUMENTS.items():
    _extra = ", *, ScalarType dtype" if _name in _DTYPE_KWARG else ""
    _lib.define(f"{_name}({_args}{_extra}) -> Tensor")
    _lib.define(f"{_name}.out({_args}, {_OUT}")

ops = torch.ops.ptec


def _like(x: torch.Tensor, shape, dtype=None) -> torch.Tensor:
    """An empty result of `shape` in x's layout (channels-last stays channels-last)."""
    dtype = x.dtype if dtype is None else dtype
    if len(shape) == 4 and x.dim() == 4 and _is_channels_last(x):
        return x.new_empty(shape, dtype=dtype).contiguous(memory_format=torch.channels_last)
    return x.new_empty(shape, dtype=dtype)


def _is_channels_last(x: torch.Tensor) -> bool:
    """Channels innermost: what a channels-last tensor's strides say, C > 1."""
    return x.dim() == 4 and x.stride(1) == 1 and x.shape[1] > 1


def _window_out(size: int, lo: int, hi: int, k: int, stride: int, dilation: int = 1) -> int:
    span = size + lo + hi - dilation * (k - 1) - 1
    return 0 if span < 0 else span // stride + 1


def _pair(v, default=None):
    v = list(v) if len(v) else list(default)
    return v[0], v[-1]


def _pad4(p):
    p = list(p)
    return (p[0], p[1], p[2], p[3]) if len(p) == 4 else (p[0], p[0], p[-1], p[-1])


def _pooled_shape(x, kernel, stride, padding, dilation=(1, 1)):
    kh, kw = _pair(kernel)
    sy, sx = _pair(stride, (kh, kw))
    dy, dx = _pair(dilation)
    pt, pb, pl, pr = _pad4(padding)
    return (*x.shape[:-2], _window_out(x.shape[-2], pt, pb, kh, sy, dy),
            _window_out(x.shape[-1], pl, pr, kw, sx, dx))


@torch.library.register_fake("ptec::quantized_conv2d")
def _conv_fake(x, w, bias, stride, padding, dilation, groups, *rest):
    shape = _pooled_shape(x, w.shape[-2:], stride, padding, dilation)
    out = _like(x, (shape[0], w.shape[0], *shape[2:]))
    # A one-channel input cloned channels-last (strides (HW, 1, W, 1): NCHW's
    # bytes) writes channels-last too, so the next conv needs no clone to NHWC
    # (DS-CNN int8: 25x5x64 after its first conv, 3.6 us of ~42).
    if x.dim() == 4 and x.shape[1] == 1 and x.stride(1) == 1 and x.shape[2] * x.shape[3] > 1:
        out = out.contiguous(memory_format=torch.channels_last)
    return out


@torch.library.register_fake("ptec::quantized_linear")
def _linear_fake(x, w, *rest):
    return x.new_empty((*x.shape[:-1], w.shape[0]))


@torch.library.register_fake("ptec::quantized_matmul")
def _matmul_fake(a, b, *rest):
    return torch.empty_like(torch.matmul(a.to(torch.float32), b.to(torch.float32)),
                            dtype=a.dtype, memory_format=torch.contiguous_format)


torch.library.register_fake("ptec::quantized_matmul16")(_matmul_fake)


@torch.library.register_fake("ptec::quantized_add")
def _add_fake(a, b, *rest):
    shape = torch.broadcast_shapes(a.shape, b.shape)
    return _like(a if a.shape == shape else b, shape)


@torch.library.register_fake("ptec::quantized_sub")
def _sub_fake(a, b, *rest):
    return _add_fake(a, b)


@torch.library.register_fake("ptec::quantized_mul")
def _mul_fake(a, b, *rest):
    return _add_fake(a, b)


@torch.library.register_fake("ptec::quantized_avg_pool2d")
def _avg_pool_fake(x, kernel, stride, padding, *rest):
    return _like(x, _pooled_shape(x, kernel, stride, padding))


@torch.library.register_fake("ptec::quantized_max_pool2d")
def _max_pool_fake(x, kernel, stride, padding, dilation, *rest):
    return _like(x, _pooled_shape(x, kernel, stride, padding, dilation))


@torch.library.register_fake("ptec::quantized_mean")
def _mean_fake(x, dims, keepdim, *rest):
    axes = {d % x.dim() for d in dims} if len(dims) else set(range(x.dim()))
    shape = [1 if d in axes else s for d, s in enumerate(x.shape) if keepdim or d not in axes]
    return _like(x, shape)


@torch.library.register_fake("ptec::quantized_softmax")
def _softmax_fake(x, *rest):
    return torch.empty_like(x)


@torch.library.register_fake("ptec::quantized_layer_norm")
def _layer_norm_fake(x, *rest):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.register_fake("ptec::table")
def _table_fake(x, table):
    return torch.empty_like(x, dtype=torch.int8 if x.dtype == torch.int8 else torch.int32)


@torch.library.register_fake("ptec::rescale")
def _rescale_fake(x, input_zp, multiplier, shift, output_zp, axis, *, dtype):
    return torch.empty_like(x, dtype=dtype)
