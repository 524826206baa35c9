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

import torch

aten = torch.ops.aten

SOFTMAX = frozenset({aten.softmax.int, aten._softmax.default})
LOG_SOFTMAX = frozenset({aten.log_softmax.int, aten._log_softmax.default})
LAYER_NORM = frozenset({aten.layer_norm.default})
GLU = frozenset({aten.glu.default})


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


def decompose_for_tosa(gm: torch.fx.GraphModule) -> int:
    """Rewrites softmax, log_softmax, layer_norm and glu in place (float graph
    of torch.export, before annotation); returns how many."""
    count = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function":
            continue
        with gm.graph.inserting_before(node):
            if node.target in SOFTMAX or node.target in LOG_SOFTMAX:
                val = node.args[0].meta.get("val")  # none on decompose_attention's nodes
                if val is not None and val.dtype != torch.float32:
                    continue
                out = _softmax(gm.graph, node.args[0], int(node.args[1]),
                               node.target in LOG_SOFTMAX)
            elif node.target in LAYER_NORM:
                out = _layer_norm(gm.graph, node)
            elif node.target in GLU:
                out = _glu(gm.graph, node.args[0],
                           int(node.args[1]) if len(node.args) > 1 else -1)
            else:
                continue
        node.replace_all_uses_with(out)
        gm.graph.erase_node(node)
        count += 1
    if count:
        gm.graph.eliminate_dead_code()
        gm.graph.lint()
        gm.recompile()
    return count


__all__ = ["decompose_for_tosa"]
