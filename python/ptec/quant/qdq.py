"""The quantize/dequantize operators of a PT2E-quantized graph, and their out variants.

convert_pt2e leaves `quantized_decomposed.{quantize,dequantize}_per_{tensor,channel}`
calls around float operators. PyTorch defines only their functional forms
(torch/ao/quantization/fx/_decomposed.py); the `.out` forms a program calls
are ExecuTorch's (kernels/quantized/quantized.yaml), registered by its C++
library. ptec does not register them with torch: a second registration of
the same schema, when ExecuTorch's library loads in the same process,
terminates the process. The compiler only needs their schemas, so they are
parsed here, verbatim from quantized.yaml, and used by select_out_variants
when torch has no out overload of its own.
"""
from __future__ import annotations

import functools

import torch

#: The functional overload's name -> the out variant's schema (ExecuTorch's).
OUT_SCHEMAS: dict[str, str] = {
    "quantized_decomposed::quantize_per_tensor":
        "quantized_decomposed::quantize_per_tensor.out(Tensor input, float scale, "
        "int zero_point, int quant_min, int quant_max, ScalarType dtype, *, "
        "Tensor(a!) out) -> Tensor(a!)",
    "quantized_decomposed::dequantize_per_tensor":
        "quantized_decomposed::dequantize_per_tensor.out(Tensor input, float scale, "
        "int zero_point, int quant_min, int quant_max, ScalarType dtype, *, "
        "ScalarType? out_dtype=None, Tensor(a!) out) -> Tensor(a!)",
    "quantized_decomposed::quantize_per_channel":
        "quantized_decomposed::quantize_per_channel.out(Tensor input, Tensor scales, "
        "Tensor zero_points, int axis, int quant_min, int quant_max, ScalarType dtype, *, "
        "Tensor(a!) out) -> Tensor(a!)",
    "quantized_decomposed::dequantize_per_channel":
        "quantized_decomposed::dequantize_per_channel.out(Tensor input, Tensor scales, "
        "Tensor? zero_points, int axis, int quant_min, int quant_max, ScalarType dtype, *, "
        "ScalarType? out_dtype=None, Tensor(a!) out) -> Tensor(a!)",
}

QUANTIZE_OPS = frozenset({"quantized_decomposed::quantize_per_tensor",
                          "quantized_decomposed::quantize_per_channel"})
DEQUANTIZE_OPS = frozenset({"quantized_decomposed::dequantize_per_tensor",
                            "quantized_decomposed::dequantize_per_channel"})


def op_name(target: object) -> str | None:
    """`quantized_decomposed::quantize_per_tensor` for an OpOverload's default
    overload (the only one convert_pt2e emits for static quantization), else None."""
    schema = getattr(target, "_schema", None)
    if schema is None or schema.overload_name != "":
        return None
    return schema.name


def is_quantize(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and op_name(node.target) in QUANTIZE_OPS


def is_dequantize(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and op_name(node.target) in DEQUANTIZE_OPS


@functools.lru_cache(maxsize=None)
def out_schema(functional: str) -> torch.FunctionSchema | None:
    """The out variant's schema for a functional operator name, or None."""
    text = OUT_SCHEMAS.get(functional)
    return torch._C.parse_schema(text) if text is not None else None
