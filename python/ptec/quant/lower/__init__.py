"""Pass: quantized patterns become integer kernel calls.

In a PT2E graph every quantized float op sits between dequantize and
quantize calls. For each op with a rule, in graph order, the rule matches
dq -> op [-> relu/relu6/hardtanh] -> q and replaces it with one ptec::
integer call (ptec.quant.ops) on the integer tensors; the next op's
dequantize then reads that call's integer result, so chains of quantized
ops run on integers from the first quantize to the last dequantize.

Every op left in float gets the reason in node.meta[META_KEY] (the rule's
rejection, or "no integer kernel"); the compile report prints it. With
integer I/O the graph's first quantizes and last dequantizes go too, and the
program takes and returns integer tensors.
"""
from __future__ import annotations

import functools
import operator
from typing import Callable

import torch

from .. import ops as _ops  # noqa: F401  (registers the ptec:: operators)
from .. import qdq
from ..config import import_torchao
from ...passes.fake import fake_mode_of, fake_of
from .data_movement import SINGLE_INPUT_OPS, lower_cat, lower_requantize, lower_single_input
from .fills import quantize_constant_fills
from .elementwise import TABLE_OPS, lower_add, lower_mul, lower_scalar_mul, lower_table
from .normalize import hoist_quantize, sink_dequantize, sink_views_below_clamps
from .match import INTEGER, META_KEY, Reject, Rewriter, drop_dead_qdq, per_tensor_params
from .pools import lower_avg_pool2d, lower_layer_norm, lower_max_pool2d, lower_mean
from .softmax import lower_softmax
from .transformer import compose_tables, lower_scalar_operand, lower_sub, lower_sum
from .weighted import lower_convolution, lower_linear, lower_matmul, lower_mm

aten = torch.ops.aten

Rule = Callable[[Rewriter, torch.fx.Node], torch.fx.Node]


@functools.lru_cache(maxsize=None)
def rules() -> dict[object, Rule]:
    """The rule for each float op (built on first use: the quantize ops are
    registered by torchao, which only quantized graphs need)."""
    import_torchao()
    return {
        aten.convolution.default: lower_convolution,
        aten.addmm.default: lower_linear,
        aten.mm.default: lower_mm,
        aten.bmm.default: lower_matmul,
        aten.add.Tensor: lower_add,
        aten.mul.Tensor: lower_mul,
        aten.mul.Scalar: lower_scalar_mul,
        aten.avg_pool2d.default: lower_avg_pool2d,
        aten.max_pool2d_with_indices.default: lower_max_pool2d,
        aten.mean.dim: lower_mean,
        aten.native_layer_norm.default: lower_layer_norm,
        aten._softmax.default: lower_softmax,
        aten.cat.default: lower_cat,
        # ptec.quant.decompose's softmax / layer norm pieces
        aten.sub.Tensor: lower_sub,
        aten.sum.dim_IntList: lower_sum,
        aten.amax.default: lower_single_input,
        aten.add.Scalar: lower_scalar_operand,
        aten.sub.Scalar: lower_scalar_operand,
        torch.ops.quantized_decomposed.quantize_per_tensor.default: lower_requantize,
        **{op: lower_table for op in TABLE_OPS},
        **{op: lower_single_input for op in SINGLE_INPUT_OPS},
    }

#: gm.meta keys: set by the compiler to ask for integer I/O; set by this pass
#: to the quantization of each integer input and output.
INTEGER_IO = "ptec_integer_io"
IO_QUANTIZATION = "ptec_io_quantization"

__all__ = ["INTEGER", "META_KEY", "IO_QUANTIZATION", "INTEGER_IO", "lower_quantized_ops"]


def lower_quantized_ops(gm: torch.fx.GraphModule) -> None:
    """Replaces every dq -> op -> q pattern that has a rule by an integer call."""
    if not any(qdq.is_quantize(n) or qdq.is_dequantize(n) for n in gm.graph.nodes):
        return
    sink_dequantize(gm)
    sink_views_below_clamps(gm)
    hoist_quantize(gm)
    from ...passes.fake import repropagate
    repropagate(gm)
    rw = Rewriter(gm)
    quantize_constant_fills(rw)
    reasons: dict[torch.fx.Node, str] = {}
    for node in list(gm.graph.nodes):
        if node._erased or node.op != "call_function" or node.meta.get(META_KEY) == INTEGER:
            continue
        rule = rules().get(node.target)
        if rule is None:
            continue
        if qdq.is_quantize(node) and not qdq.is_dequantize(node.args[0]):
            continue  # a float tensor's quantize is the integer path's entry
        try:
            rule(rw, node)
        except Reject as why:
            reasons[node] = str(why)
    compose_tables(gm)
    gm.graph.eliminate_dead_code()
    drop_dead_qdq(gm)
    if gm.meta.get(INTEGER_IO):
        _integer_io(gm)
    _record_reasons(gm, reasons)
    repropagate(gm)
    gm.graph.lint()
    gm.recompile()


def _record_reasons(gm: torch.fx.GraphModule, reasons: dict) -> None:
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is operator.getitem:
            continue
        if META_KEY in node.meta or qdq.is_quantize(node) or qdq.is_dequantize(node):
            continue
        if node in reasons:
            node.meta[META_KEY] = reasons[node]
        elif node.target not in rules():
            quantized = any(qdq.is_dequantize(a) for a in node.all_input_nodes)
            node.meta[META_KEY] = (f"no integer kernel for {node.target}" if quantized
                                   else "none of its inputs is quantized")
        else:
            node.meta[META_KEY] = "none of its inputs is quantized"


def _integer_io(gm: torch.fx.GraphModule) -> None:
    """Inputs read only by one quantize become integer inputs; outputs that are a
    dequantize become that dequantize's integer input."""
    mode = fake_mode_of(gm)
    record: dict[str, dict] = {"inputs": {}, "outputs": {}}
    for node in list(gm.graph.nodes):
        if node.op != "placeholder":
            continue
        users = list(node.users)
        params = [per_tensor_params(u) for u in users]
        if not users or any(p is None for p in params) or any(
                not p.same_as(params[0]) for p in params):
            continue
        val = node.meta["val"]
        node.meta["val"] = fake_of(mode, torch.empty_strided(val.shape, val.stride(),
                                                              dtype=params[0].dtype))
        for q in users:
            q.replace_all_uses_with(node)
            gm.graph.erase_node(q)
        record["inputs"][node.name] = params[0]
    output = next(n for n in gm.graph.nodes if n.op == "output")
    outs = list(output.args[0]) if isinstance(output.args[0], (list, tuple)) else [output.args[0]]
    for i, arg in enumerate(outs):
        params = per_tensor_params(arg) if isinstance(arg, torch.fx.Node) else None
        if params is not None and qdq.is_dequantize(arg):
            outs[i] = arg.args[0]
            record["outputs"][i] = params
    output.args = (type(output.args[0])(outs) if isinstance(output.args[0], (list, tuple))
                   else outs[0],)
    drop_dead_qdq(gm)
    gm.meta[IO_QUANTIZATION] = record
