"""Pass: PyTorch's "safe" softmax (the softmax of scaled_dot_product_attention's math path,
aten._safe_softmax) as one call. Exported, it is seven:

    sm = _softmax(x, dim, False)
    where(logical_not(any(logical_not(eq(x, -inf)), dim, True)), full_like(sm, 0), sm)

(a slice of x whose every value is -inf gives zeros, not NaN). The six calls after the
softmax cost more than it does (the transformer example: ~8.5 us per attention layer, the
softmax ~1.1 us); they become

    ptec::safe_softmax(Tensor self, int dim) -> Tensor

whose kernel (runtime/src/kernels/portable/op_safe_softmax_f32.c) computes _softmax's
values and zeroes the all -inf slices: equal to the seven calls bit for bit. Fused only for
float32 dense row-major x with the same dim in _softmax and any, when no other node reads
the intermediate results. The "x86-64-avx512" target runs it.
"""
from __future__ import annotations

import math

import torch

from .fake import fake_mode_of, recompute_val

aten = torch.ops.aten

#: The out variant's schema, as the C kernel implements it (tests/python/test_op_list.py).
OUT_SCHEMA = "ptec::safe_softmax.out(Tensor self, int dim, *, Tensor(a!) out) -> Tensor(a!)"

_lib = torch.library.Library("ptec", "FRAGMENT")
_lib.define("safe_softmax(Tensor self, int dim) -> Tensor")
_lib.define(OUT_SCHEMA.removeprefix("ptec::"))


def _safe_softmax(x, dim):
    sm = aten._softmax.default(x, dim, False)
    dead = (x == -math.inf).all(dim=dim, keepdim=True)
    return torch.where(dead, torch.zeros_like(sm), sm)


def _safe_softmax_out(x, dim, *, out):
    return out.copy_(_safe_softmax(x, dim))


torch.library.impl(_lib, "safe_softmax", "CompositeExplicitAutograd")(_safe_softmax)
torch.library.impl(_lib, "safe_softmax.out", "CompositeExplicitAutograd")(_safe_softmax_out)
torch.library.register_fake("ptec::safe_softmax", lib=_lib)(
    lambda x, dim: torch.empty_like(x))


def _call(node, target, nargs: int) -> bool:
    return (isinstance(node, torch.fx.Node) and node.op == "call_function"
            and node.target is target and len(node.args) >= nargs)


def _dim(d: int, rank: int) -> int:
    return d + rank if d < 0 else d


def _match(where: torch.fx.Node) -> tuple[torch.fx.Node, int, list[torch.fx.Node]] | None:
    """(x, dim, the six nodes besides `where` to drop) if `where` ends a safe softmax."""
    if not _call(where, aten.where.self, 3):
        return None
    cond, zeros, sm = where.args[:3]
    if not (_call(sm, aten._softmax.default, 3) and sm.args[2] is False
            and _call(zeros, aten.full_like.default, 2) and zeros.args[0] is sm
            and zeros.args[1] == 0 and _call(cond, aten.logical_not.default, 1)):
        return None
    anyn = cond.args[0]
    if not (_call(anyn, aten.any.dim, 3) and anyn.args[2] is True):
        return None
    notn = anyn.args[0]
    if not _call(notn, aten.logical_not.default, 1):
        return None
    eq = notn.args[0]
    x = sm.args[0]
    if not (_call(eq, aten.eq.Scalar, 2) and eq.args[0] is x and eq.args[1] == -math.inf):
        return None
    val = x.meta.get("val")
    if not isinstance(val, torch.Tensor) or val.dtype != torch.float32 or val.dim() == 0 \
            or not val.is_contiguous():
        return None
    out = where.meta.get("val")
    if not isinstance(out, torch.Tensor) or out.dtype != val.dtype or out.shape != val.shape:
        return None  # (full_like given another dtype would have promoted the where)
    dim = _dim(sm.args[1], val.dim())
    if _dim(anyn.args[1], val.dim()) != dim:
        return None
    chain = [cond, anyn, notn, eq, zeros]
    readers = {cond: {where}, anyn: {cond}, notn: {anyn}, eq: {notn}, zeros: {where}}
    if any(set(n.users) != readers[n] for n in chain) or set(sm.users) != {where, zeros}:
        return None
    return x, dim, chain + [sm]


def fuse_safe_softmax(gm: torch.fx.GraphModule) -> None:
    """Replaces each matched seven-call safe softmax with one ptec::safe_softmax call."""
    found = [(n, m) for n in gm.graph.nodes if (m := _match(n)) is not None]
    mode = fake_mode_of(gm) if found else None
    for where, (x, dim, dead) in found:
        with gm.graph.inserting_before(where):
            fused = gm.graph.call_function(torch.ops.ptec.safe_softmax.default, (x, dim))
        fused.meta = dict(where.meta)
        where.replace_all_uses_with(fused)
        gm.graph.erase_node(where)
        for node in dead:  # users first: cond, any, logical_not, eq, full_like, _softmax
            gm.graph.erase_node(node)
        recompute_val(fused, mode)
    if found:
        gm.graph.lint()
        gm.recompile()
