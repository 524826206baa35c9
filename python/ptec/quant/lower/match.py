"""What the lowering rules share: reading Q/DQ nodes and rewriting around them.

A rule looks at one float operator of a PT2E graph. If every activation it
reads comes through a per-tensor dequantize, and its result (possibly
through a fused relu/relu6/hardtanh) goes only to a per-tensor quantize, the
pattern dq -> op [-> clamp] -> q can become one integer call that reads the
dequantizes' integer inputs and replaces the quantize. Otherwise the rule
says why not, in words the report prints.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from .. import qdq
from ...passes.fake import fake_mode_of, fake_of

aten = torch.ops.aten
qd = torch.ops.quantized_decomposed

#: The report's label for a node that became an integer kernel call.
INTEGER = "integer"
#: node.meta key: INTEGER, or the reason the node stayed a float operator.
META_KEY = "ptec_lowering"


class Reject(Exception):
    """A rule cannot lower this node; the message says why (for the report)."""


def requantization(compute, *args):
    """compute(*args), a multiplier and shift computation (ptec.quant.params,
    tosa_math), whose ValueError (a scale TOSA's 32-bit multiplier and shift
    cannot express) becomes a Reject: the op then stays float."""
    try:
        return compute(*args)
    except ValueError as e:
        raise Reject(f"requantization scale out of TOSA's range: {e}") from None


@dataclass(frozen=True)
class QParams:
    """Per-tensor quantization of one tensor: real = scale * (q - zero_point)."""
    scale: float
    zero_point: int
    qmin: int
    qmax: int
    dtype: torch.dtype

    def same_as(self, other: "QParams") -> bool:
        return (self.scale == other.scale and self.zero_point == other.zero_point
                and self.dtype == other.dtype)

    def quantize(self, value: float) -> int:
        """q(value) exactly as the graph's quantize_per_tensor computes it."""
        t = qd.quantize_per_tensor(torch.tensor([float(value)]), self.scale, self.zero_point,
                                   self.qmin, self.qmax, self.dtype)
        return int(t[0])


def per_tensor_params(node: torch.fx.Node) -> QParams | None:
    name = qdq.op_name(node.target) if node.op == "call_function" else None
    if name not in ("quantized_decomposed::quantize_per_tensor",
                    "quantized_decomposed::dequantize_per_tensor"):
        return None
    _, scale, zp, qmin, qmax, dtype = node.args[:6]
    if not isinstance(scale, float) or not isinstance(zp, int):
        return None
    return QParams(scale, zp, qmin, qmax, dtype)


def is_dq_per_tensor(node: Any) -> bool:
    return (isinstance(node, torch.fx.Node) and qdq.op_name(node.target)
            == "quantized_decomposed::dequantize_per_tensor" and per_tensor_params(node) is not None)


def is_q_per_tensor(node: Any) -> bool:
    return (isinstance(node, torch.fx.Node) and qdq.op_name(node.target)
            == "quantized_decomposed::quantize_per_tensor" and per_tensor_params(node) is not None)


def activation_dtypes() -> tuple[torch.dtype, ...]:
    return (torch.int8, torch.int16)


def quantized_input(arg: Any, what: str) -> tuple[torch.fx.Node, QParams]:
    """The integer tensor behind a dequantize_per_tensor argument, and its qparams."""
    if not is_dq_per_tensor(arg):
        raise Reject(f"{what} is not a quantized tensor (no per-tensor dequantize before it)")
    params = per_tensor_params(arg)
    if params.dtype not in activation_dtypes():
        raise Reject(f"{what} is quantized as {params.dtype}, not int8 or int16")
    return arg.args[0], params


@dataclass
class QuantizedOutput:
    """Where an op's result is quantized, and the output range a fused clamp leaves."""
    quantize: torch.fx.Node
    params: QParams
    act_min: int
    act_max: int
    absorbed: list[torch.fx.Node]   # the clamp node, if one was fused


#: Clamps that fold into the output range: node -> (min, max) in real units.
def _clamp_bounds(node: torch.fx.Node) -> tuple[float | None, float | None] | None:
    if node.target in (aten.relu.default, aten.relu_.default):
        return 0.0, None
    if node.target in (aten.hardtanh.default, aten.hardtanh_.default):
        lo = node.args[1] if len(node.args) > 1 else node.kwargs.get("min_val", -1.0)
        hi = node.args[2] if len(node.args) > 2 else node.kwargs.get("max_val", 1.0)
        return float(lo), float(hi)
    if node.target is aten.clamp.default:
        lo = node.args[1] if len(node.args) > 1 else node.kwargs.get("min")
        hi = node.args[2] if len(node.args) > 2 else node.kwargs.get("max")
        if not all(v is None or isinstance(v, (int, float)) for v in (lo, hi)):
            return None
        return (None if lo is None else float(lo)), (None if hi is None else float(hi))
    return None


def quantized_output(node: torch.fx.Node, allow_clamp: bool = True) -> QuantizedOutput:
    """The single quantize that reads `node` (directly or through one fused clamp)."""
    users = list(node.users)
    absorbed: list[torch.fx.Node] = []
    bounds: tuple[float | None, float | None] = (None, None)
    if len(users) == 1 and allow_clamp and _clamp_bounds(users[0]) is not None:
        clamp = users[0]
        bounds = _clamp_bounds(clamp)
        absorbed.append(clamp)
        users = list(clamp.users)
    if len(users) != 1 or not is_q_per_tensor(users[0]):
        readers = ", ".join(str(u.target) for u in users) or "nothing"
        raise Reject(f"its result is not quantized (read by {readers})")
    q = users[0]
    params = per_tensor_params(q)
    if params.dtype not in activation_dtypes():
        raise Reject(f"its result is quantized as {params.dtype}, not int8 or int16")
    lo = params.qmin if bounds[0] is None else max(params.qmin, params.quantize(bounds[0]))
    hi = params.qmax if bounds[1] is None else min(params.qmax, params.quantize(bounds[1]))
    if lo > hi:
        raise Reject(f"fused clamp leaves an empty output range [{lo}, {hi}]")
    return QuantizedOutput(q, params, lo, hi, absorbed)


def constant_tensor(gm: torch.fx.GraphModule, node: Any) -> torch.Tensor | None:
    if isinstance(node, torch.fx.Node) and node.op == "get_attr":
        return getattr(gm, node.target)
    return None


@dataclass
class Rewriter:
    """Adds integer calls and constants to a graph, and records decisions."""
    gm: torch.fx.GraphModule
    count: int = 0

    def constant(self, tensor: torch.Tensor, name: str, before: torch.fx.Node) -> torch.fx.Node:
        self.count += 1
        attr = f"_ptec_q_{name}_{self.count}"
        tensor = tensor.contiguous()
        self.gm.register_buffer(attr, tensor)
        with self.gm.graph.inserting_before(before):
            node = self.gm.graph.get_attr(attr)
        node.meta["val"] = fake_of(fake_mode_of(self.gm), tensor)
        return node

    def call(self, target: Callable, args: Sequence[Any], before: torch.fx.Node,
             kwargs: dict | None = None) -> torch.fx.Node:
        with self.gm.graph.inserting_before(before):
            node = self.gm.graph.call_function(target, tuple(args), kwargs or {})
        node.meta[META_KEY] = INTEGER
        return node

    def replace_output(self, out: QuantizedOutput, anchor: torch.fx.Node,
                       new: torch.fx.Node) -> None:
        """`new` takes the quantize's place; the float pattern goes."""
        new.meta["source"] = anchor.name
        if "stack_trace" in anchor.meta:
            new.meta["stack_trace"] = anchor.meta["stack_trace"]
        # For the numerical debugger: the module of the pattern's last float op
        # (a fused relu's, else the anchor's) and the scale the result is in.
        last = out.quantize.args[0]
        for source in (last, anchor):
            if isinstance(source, torch.fx.Node) and source.meta.get("nn_module_stack"):
                new.meta["nn_module_stack"] = source.meta["nn_module_stack"]
                break
        new.meta["ptec_output_qparams"] = (out.params.scale, out.params.zero_point)
        out.quantize.replace_all_uses_with(new)
        for dead in [out.quantize, *reversed(out.absorbed), anchor]:
            if not dead.users:
                self.gm.graph.erase_node(dead)


def drop_dead_qdq(gm: torch.fx.GraphModule) -> None:
    """Removes dequantize/quantize calls nothing reads any more."""
    for node in reversed(list(gm.graph.nodes)):
        if node.op == "call_function" and not node.users and (
                qdq.is_dequantize(node) or qdq.is_quantize(node)
                or node.target is operator.getitem):
            gm.graph.erase_node(node)
