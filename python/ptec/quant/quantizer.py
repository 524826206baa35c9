"""PtecQuantizer: which tensors of an exported graph get quantized, and how.

A PT2E Quantizer annotates the graph torch.export produces (before core-ATen
decomposition: aten.conv2d, aten.linear, aten.relu_...); prepare_pt2e then
places observers where the annotations say, and convert_pt2e turns each
observed tensor into a quantize -> dequantize pair. BatchNorm is already
folded into the convolution before this runs (prepare_pt2e does it).

What is annotated, by operator family (in graph order):

* conv1d/conv2d (depthwise and grouped too) and linear: input activation,
  per-channel weight, int32 bias derived from both scales. If the op's only
  user is relu/relu6/hardtanh, the activation's output is quantized and the
  op's is not: the pattern dq -> conv -> relu -> q is one fused kernel later.
* add, sub, mul (tensor operands): both inputs and the output; a following
  relu/relu6/hardtanh is fused as above.
* matmul, bmm, mm: both inputs and the output.
* sigmoid, tanh, hardswish, hardsigmoid, gelu, silu, softmax: input and
  output, each with its own parameters (a lookup table or float kernel maps
  one to the other).
* exp, log, reciprocal, rsqrt and sum (the pieces of ptec.quant.decompose's
  softmax and layer norm): input and output, own parameters; amax shares its
  input's (a row's maximum is one of its values).
* max/avg pool, adaptive avg pool, mean; relu/relu6/hardtanh not fused into a
  producer: the output shares the input's parameters (TOSA's pools and clamp
  keep the scale).
* cat: every input and the output share one set of parameters.
* shape ops (view, reshape, flatten, permute, transpose, slice, pad,
  squeeze, unsqueeze, ...): share their input's parameters, and only when
  that input is quantized already: they carry quantization through, they
  never start it.

Everything else stays float; convert_pt2e puts dq before and q after it.
Graph inputs and outputs stay float: the first q and the last dq run as
kernels of the program.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch.fx import Node
from torch.fx.experimental.symbolic_shapes import free_unbacked_symbols

from .config import BIAS_DTYPE, BIAS_QMAX, BIAS_QMIN, Int8, QuantizationSpecs, import_torchao

import_torchao()  # before torchao's modules, quietly
from torchao.quantization.pt2e.quantizer import (  # noqa: E402
    DerivedQuantizationSpec,
    QuantizationAnnotation,
    QuantizationSpecBase,
    Quantizer,
    SharedQuantizationSpec,
)
from torchao.quantization.pt2e.quantizer.quantizer import Q_ANNOTATION_KEY  # noqa: E402

aten = torch.ops.aten


def _ops(*names: str) -> frozenset:
    """OpOverloads by "op.overload" name; names this torch lacks are skipped."""
    found = []
    for name in names:
        op, overload = name.split(".")
        packet = getattr(aten, op, None)
        if packet is not None and overload in packet.overloads():
            found.append(getattr(packet, overload))
    return frozenset(found)


WEIGHTED_OPS = _ops("conv1d.default", "conv1d.padding", "conv2d.default", "conv2d.padding",
                    "linear.default")
BINARY_OPS = _ops("add.Tensor", "add_.Tensor", "sub.Tensor", "sub_.Tensor", "mul.Tensor",
                  "mul_.Tensor")
MATMUL_OPS = _ops("matmul.default", "bmm.default", "mm.default")
#: Clamp-like activations: fused into a conv/linear/add/mul output, else
#: sharing their input's parameters.
CLAMP_OPS = _ops("relu.default", "relu_.default", "relu6.default", "relu6_.default",
                 "hardtanh.default", "hardtanh_.default")
#: Nonlinear activations (and layer norm, whose weight and bias stay float)
#: with their own output parameters.
UNARY_OPS = _ops("sigmoid.default", "sigmoid_.default", "tanh.default", "tanh_.default",
                 "hardswish.default", "hardswish_.default", "hardsigmoid.default",
                 "hardsigmoid_.default", "gelu.default", "silu.default", "silu_.default",
                 "softmax.int", "_softmax.default", "layer_norm.default",
                 # ptec.quant.decompose's pieces: each a TABLE, or a sum with its own scale
                 "exp.default", "log.default", "reciprocal.default", "rsqrt.default",
                 "sum.dim_IntList")
#: Reductions whose output is one of their inputs' values (decomposed softmax's max).
MAX_OPS = _ops("amax.default")
#: Output shares the input's parameters.
POOL_OPS = _ops("max_pool2d.default", "avg_pool2d.default", "adaptive_avg_pool2d.default")
#: Means (and global average pooling, which becomes one) get their own output
#: parameters: an average spans a narrower range than its input, and with a
#: shared scale a mean over an even count lands exactly on rounding ties,
#: which TOSA rounds up and PyTorch to even.
MEAN_OPS = _ops("mean.dim", "mean.default")
CAT_OPS = _ops("cat.default", "concat.default")
SHAPE_OPS = _ops("view.default", "_unsafe_view.default", "reshape.default",
                 "flatten.using_ints", "unflatten.int", "permute.default", "transpose.int",
                 "t.default", "slice.Tensor", "select.int", "squeeze.default", "squeeze.dim",
                 "squeeze.dims", "unsqueeze.default", "expand.default", "contiguous.default",
                 "clone.default", "alias.default", "dropout.default", "pad.default",
                 "constant_pad_nd.default")


class PtecQuantizer(Quantizer):
    """Annotates a graph for ptec's integer kernels with one configuration.

    int16_layers (ptec.quant.mixed): the operators of these layers get int16
    activation specs, the rest the configuration's."""

    def __init__(self, config: Int8 | None = None, int16_layers: Iterable[str] = ()):
        super().__init__()
        self.config = config if config is not None else Int8()
        self.specs: QuantizationSpecs = self.config.quantization_specs()
        self.int16_layers = frozenset(int16_layers)
        self.int16 = self.config.quantization_specs("int16") if self.int16_layers else None

    def _act(self, node: Node, matmul: bool = False):
        """The activation spec of `node`'s inputs and output: int16 in an int16
        layer (matrix products of two activations only with a16w8_matmul)."""
        if self.int16 is not None and (not matmul or self.config.a16w8_matmul):
            from .mixed import layer_of
            if layer_of(node, self.config.a16w8_depth) in self.int16_layers:
                return self.int16.activation
        return self.specs.activation

    # Quantizer API -------------------------------------------------------

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        handlers: list[tuple[frozenset, Callable[[Node], None]]] = [
            (WEIGHTED_OPS, self._weighted), (BINARY_OPS, self._binary),
            (MATMUL_OPS, self._matmul), (CLAMP_OPS, self._shared_with_input), (MAX_OPS, self._shared_with_input),
            (UNARY_OPS, self._unary), (MEAN_OPS, self._unary), (POOL_OPS, self._pool),
            (CAT_OPS, self._cat), (SHAPE_OPS, self._shape),
        ]
        for node in model.graph.nodes:
            if (node.op != "call_function" or _is_annotated(node)
                    or _data_dependent(node.meta.get("val"))):
                continue
            for ops, handler in handlers:
                if node.target in ops:
                    handler(node)
                    break
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        """Nothing to check: every annotation comes from this quantizer."""

    # Families -------------------------------------------------------------

    def _weighted(self, node: Node) -> None:
        x, weight = node.args[0], node.args[1]
        bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        if not (_is_float_tensor(x) and _is_float_tensor(weight)):
            return
        inputs: dict[Node, QuantizationSpecBase] = {x: self._act(node),
                                                    weight: self.specs.weight}
        if isinstance(bias, Node) and _is_float_tensor(bias):
            inputs[bias] = self._bias_spec(x, weight, node)
        self._with_fused_activation(node, inputs)

    def _binary(self, node: Node) -> None:
        operands = [a for a in node.args[:2] if _is_float_tensor(a)]
        if not operands:
            return
        self._with_fused_activation(node, {a: self._act(node) for a in operands})

    def _matmul(self, node: Node) -> None:
        operands = [a for a in node.args[:2] if _is_float_tensor(a)]
        if len(operands) != len(node.args[:2]):
            return
        spec = self._act(node, matmul=True)
        _annotate(node, {a: spec for a in operands}, spec)

    def _unary(self, node: Node) -> None:
        x = node.args[0]
        if _is_float_tensor(x):
            _annotate(node, {x: self._act(node)}, self._act(node))

    def _pool(self, node: Node) -> None:
        """Pools share their input's parameters, but a global average pool
        (output 1x1, a mean over H and W) is quantized as a mean."""
        if node.target == aten.adaptive_avg_pool2d.default and list(node.args[1]) in ([1], [1, 1]):
            self._unary(node)
        else:
            self._shared_with_input(node)

    def _shared_with_input(self, node: Node) -> None:
        """Pools, mean, unfused clamps: the output keeps the input's parameters."""
        x = node.args[0]
        if not _is_float_tensor(x):
            return
        _annotate(node, {x: self._input_spec(x, node)}, SharedQuantizationSpec((x, node)))

    def _shape(self, node: Node) -> None:
        """Carries quantization through, only where the input is quantized."""
        x = node.args[0]
        if not (_is_float_tensor(x) and _output_is_quantized(x)):
            return
        _annotate(node, {x: SharedQuantizationSpec(x)}, SharedQuantizationSpec((x, node)))

    def _cat(self, node: Node) -> None:
        tensors = node.args[0]
        if not (isinstance(tensors, (list, tuple)) and tensors
                and all(_is_float_tensor(t) for t in tensors)):
            return
        first = tensors[0]
        shared = SharedQuantizationSpec((first, node))
        # The first input's spec goes in first: torchao makes observers in the
        # map's order, and a shared spec must find the one it refers to made.
        inputs = {first: self._act(node)}
        inputs.update({t: shared for t in tensors[1:] if t is not first})
        _annotate(node, inputs, shared)

    # Helpers ----------------------------------------------------------------

    def _with_fused_activation(self, node: Node, inputs: dict[Node, QuantizationSpecBase]) -> None:
        """Annotates `node`'s inputs; its output, or that of a clamp that is its only user."""
        users = list(node.users)
        if (len(users) == 1 and users[0].op == "call_function" and users[0].target in CLAMP_OPS
                and users[0].args[0] is node and not _is_annotated(users[0])):
            _annotate(node, inputs, None)
            _annotate(users[0], {}, self._act(node))
        else:
            _annotate(node, inputs, self._act(node))

    def _input_spec(self, x: Node, node: Node) -> QuantizationSpecBase:
        """An input shares its producer's output parameters if it has them."""
        return SharedQuantizationSpec(x) if _output_is_quantized(x) else self._act(node)

    def _bias_spec(self, x: Node, weight: Node, node: Node) -> DerivedQuantizationSpec:
        per_channel = self.specs.per_channel
        return DerivedQuantizationSpec(
            derived_from=[(x, node), (weight, node)],
            derive_qparams_fn=_bias_qparams,
            dtype=BIAS_DTYPE, quant_min=BIAS_QMIN, quant_max=BIAS_QMAX,
            qscheme=torch.per_channel_symmetric if per_channel else torch.per_tensor_symmetric,
            ch_axis=0 if per_channel else None)


def _bias_qparams(observers: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Bias scale s_input * s_weight (per channel), zero point 0: the
    accumulator's scale, so the bias adds to it without rescaling."""
    act_observer, weight_observer = observers
    act_scale, _ = act_observer.calculate_qparams()
    weight_scale, _ = weight_observer.calculate_qparams()
    scale = (act_scale * weight_scale).to(torch.float32)
    return scale, torch.zeros_like(scale, dtype=torch.int32)


def _annotate(node: Node, inputs: dict[Node, QuantizationSpecBase],
              output: QuantizationSpecBase | None) -> None:
    node.meta[Q_ANNOTATION_KEY] = QuantizationAnnotation(
        input_qspec_map=inputs, output_qspec=output, _annotated=True)


def _is_annotated(node: Node) -> bool:
    annotation = node.meta.get(Q_ANNOTATION_KEY)
    return annotation is not None and annotation._annotated


def _output_is_quantized(node: Node) -> bool:
    annotation = node.meta.get(Q_ANNOTATION_KEY)
    return annotation is not None and annotation.output_qspec is not None


def _is_float_tensor(arg: object) -> bool:
    if not isinstance(arg, Node):
        return False
    val = arg.meta.get("val")
    return (isinstance(val, torch.Tensor) and val.dtype == torch.float32
            and not _data_dependent(val))


def _data_dependent(val: object) -> bool:
    """A tensor whose size is known only at run time (nonzero, masked_select):
    it stays float, so no quantize meets a shape the int8 kernels cannot plan."""
    return isinstance(val, torch.Tensor) and bool(free_unbacked_symbols(val.shape))
