"""Softmax, log_softmax, layer norm and GLU as chains of TOSA-friendly ops.

ptec's exact integer softmax and layer norm (quantized_softmax,
quantized_layer_norm) divide 61-bit products and take a reciprocal square
root: TOSA INT has neither, so a model using them splits into several
delegates. ExecuTorch's Arm backend instead decomposes these functions in
float *before* annotation, and every piece is then quantized on its own
(each with its observer), so each becomes an integer op TOSA has:

  softmax(x)      m = amax(x)          REDUCE_MAX (int8, x's scale)
                  d = x - m            RESCALE, SUB, RESCALE
                  e = exp(d)           TABLE
                  s = sum(e)           RESCALE, REDUCE_SUM, RESCALE
                  r = 1 / s            TABLE
                  y = e * r            MUL, RESCALE
  log_softmax(x)  d - log(s)           (log as a TABLE, a SUB)
  layer_norm(x)   mu = mean(x)         REDUCE_SUM, RESCALE
                  d = x - mu;  v = mean(d * d)
                  r = rsqrt(v + eps)   two TABLEs (composed into one when lowered)
                  y = d * r * w + b    MULs and an ADD with int8 constants
  glu(x)          a * sigmoid(b)       two SLICEs, a TABLE, a MUL

The host's integer kernels run the same chain (ptec.quant.lower), so the
host program, the TOSA executor and the NPU compute the same integers. The
price is accuracy: every intermediate is rounded to the activation dtype
(int8, or int16 with ptec.A16W8).
"""
from __future__ import annotations

from functools import partial

import torch

aten = torch.ops.aten


def _call(graph: torch.fx.Graph, op, *args) -> torch.fx.Node:
    return graph.call_function(op, tuple(args))


def _softmax(graph: torch.fx.Graph, x: torch.fx.Node, dim: int, log: bool) -> torch.fx.Node:
    m = _call(graph, aten.amax.default, x, [dim], True)
    d = _call(graph, aten.sub.Tensor, x, m)
    e = _call(graph, aten.exp.default, d)
    s = _call(graph, aten.sum.dim_IntList, e, [dim], True)
    if log:
        return _call(graph, aten.sub.Tensor, d, _call(graph, aten.log.default, s))
    return _call(graph, aten.mul.Tensor, e, _call(graph, aten.reciprocal.default, s))


def _layer_norm(graph: torch.fx.Graph, node: torch.fx.Node) -> torch.fx.Node:
    x, shape = node.args[:2]
    weight = node.args[2] if len(node.args) > 2 else node.kwargs.get("weight")
    bias = node.args[3] if len(node.args) > 3 else node.kwargs.get("bias")
    eps = node.args[4] if len(node.args) > 4 else node.kwargs.get("eps", 1e-5)
    dims = list(range(-len(shape), 0))
    mu = _call(graph, aten.mean.dim, x, dims, True)
    d = _call(graph, aten.sub.Tensor, x, mu)
    var = _call(graph, aten.mean.dim, _call(graph, aten.mul.Tensor, d, d), dims, True)
    r = _call(graph, aten.rsqrt.default, _call(graph, aten.add.Tensor, var, float(eps)))
    y = _call(graph, aten.mul.Tensor, d, r)
    if weight is not None:
        y = _call(graph, aten.mul.Tensor, y, weight)
    if bias is not None:
        y = _call(graph, aten.add.Tensor, y, bias)
    return y


def _glu(graph: torch.fx.Graph, x: torch.fx.Node, dim: int) -> torch.fx.Node:
    half = x.meta["val"].shape[dim] // 2
    a = _call(graph, aten.slice.Tensor, x, dim, 0, half)
    b = _call(graph, aten.slice.Tensor, x, dim, half, 2 * half)
    return _call(graph, aten.mul.Tensor, a, _call(graph, aten.sigmoid.default, b))


def inherit_module(node: torch.fx.Node, original: set) -> None:
    """The nodes inserted just before `node` (those not in `original`) take its
    nn_module_stack: the pieces of a decomposed layer norm belong to the
    LayerNorm module (torch.export keeps the key when it re-exports), which is
    what a per-layer int8/int16 choice (ptec.quant.mixed) goes by."""
    stack = node.meta.get("nn_module_stack")
    new = node.prev
    while stack is not None and new.op != "root" and new not in original:
        new.meta["nn_module_stack"] = dict(stack)
        new = new.prev


def _softmax_node(graph: torch.fx.Graph, node: torch.fx.Node, log: bool):
    val = node.args[0].meta.get("val")  # none on decompose_attention's nodes
    if val is not None and val.dtype != torch.float32:
        return None
    return _softmax(graph, node.args[0], int(node.args[1]), log)


def _glu_node(graph: torch.fx.Graph, node: torch.fx.Node) -> torch.fx.Node:
    return _glu(graph, node.args[0], int(node.args[1]) if len(node.args) > 1 else -1)


#: The operators decompose_for_tosa rewrites, each with its rewrite: called
#: with the graph inserting before the node, it returns the node's
#: replacement, or None to leave the node as it is.
REWRITES = {
    aten.softmax.int: partial(_softmax_node, log=False),
    aten._softmax.default: partial(_softmax_node, log=False),
    aten.log_softmax.int: partial(_softmax_node, log=True),
    aten._log_softmax.default: partial(_softmax_node, log=True),
    aten.layer_norm.default: _layer_norm,
    aten.glu.default: _glu_node,
}


def _recompiled(gm: torch.fx.GraphModule, count: int) -> int:
    """After `count` rewrites: the nodes they left unused dropped and the
    module's code regenerated; returns count."""
    if count:
        gm.graph.eliminate_dead_code()
        gm.graph.lint()
        gm.recompile()
    return count


def decompose_for_tosa(gm: torch.fx.GraphModule) -> int:
    """Rewrites softmax, log_softmax, layer_norm and glu in place (float graph
    of torch.export, before annotation); returns how many."""
    count = 0
    original = set(gm.graph.nodes)
    for node in list(gm.graph.nodes):
        rewrite = REWRITES.get(node.target) if node.op == "call_function" else None
        if rewrite is None:
            continue
        with gm.graph.inserting_before(node):
            out = rewrite(gm.graph, node)
        if out is None:
            continue
        inherit_module(node, original)
        node.replace_all_uses_with(out)
        gm.graph.erase_node(node)
        count += 1
    return _recompiled(gm, count)


def _constant(gm: torch.fx.GraphModule, node) -> torch.Tensor | None:
    if isinstance(node, torch.fx.Node) and node.op == "get_attr":
        value = gm
        for part in node.target.split("."):
            value = getattr(value, part)
        return value.detach()
    return None


def _folded_batch_norm(gm, conv: torch.fx.Node, weight: torch.Tensor, bias: torch.Tensor):
    """The conv's weight and bias with the batch norm that is its only user
    folded in (eval mode), and that batch norm; else the inputs and None."""
    users = list(conv.users)
    if len(users) != 1 or users[0].target is not aten.batch_norm.default:
        return weight, bias, None
    bn = users[0]
    _, gamma, beta, mean, var, training, _, eps = bn.args[:8]
    gamma, beta, mean, var = (_constant(gm, n) for n in (gamma, beta, mean, var))
    if training or mean is None or var is None:
        return weight, bias, None
    scale = (gamma if gamma is not None else torch.ones_like(var)) / torch.sqrt(var + eps)
    shift = beta if beta is not None else torch.zeros_like(var)
    return (weight * scale.reshape(-1, *[1] * (weight.dim() - 1)),
            (bias - mean) * scale + shift, bn)


def conv1d_as_2d(gm: torch.fx.GraphModule) -> int:
    """conv1d(x, w, b) -> squeeze(conv2d(unsqueeze(x, 2), w[:, :, None], b), 2):
    pointwise and depthwise 1-D convolutions reach the 2-D integer kernels and
    TOSA's CONV2D / DEPTHWISE_CONV2D (H = 1). A BatchNorm1d that follows is
    folded into the weight and bias here (prepare_pt2e folds only 2-D ones).
    Only convolutions whose weight is a constant; returns how many."""
    count = 0
    original = set(gm.graph.nodes)
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not aten.conv1d.default:
            continue
        args = list(node.args) + [None, [1], [0], [1], 1][len(node.args) - 2:]
        x, w, b, stride, padding, dilation, groups = args[:7]
        weight = _constant(gm, w)
        if weight is None or (b is not None and _constant(gm, b) is None):
            continue
        bias = _constant(gm, b) if b is not None else torch.zeros(weight.shape[0])
        weight, bias, bn = _folded_batch_norm(gm, node, weight, bias)
        names = []
        for what, value in (("weight", weight.unsqueeze(2)), ("bias", bias)):
            names.append(f"_ptec_conv1d_{count}_{what}")
            gm.register_parameter(names[-1], torch.nn.Parameter(value.contiguous(),
                                                                requires_grad=False))
        g = gm.graph
        with g.inserting_before(node):
            w2, b2 = g.get_attr(names[0]), g.get_attr(names[1])
            y = _call(g, aten.conv2d.default, _call(g, aten.unsqueeze.default, x, 2), w2, b2,
                      [1, stride[0]], [0, padding[0]], [1, dilation[0]], groups)
            out = _call(g, aten.squeeze.dim, y, 2)
        out.meta["val"] = node.meta.get("val")  # the same shape (read by _glu)
        inherit_module(node, original)
        (bn or node).replace_all_uses_with(out)
        for dead in (bn, node):
            if dead is not None:
                g.erase_node(dead)
        count += 1
    return _recompiled(gm, count)


__all__ = ["conv1d_as_2d", "decompose_for_tosa", "inherit_module"]
