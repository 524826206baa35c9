"""Pass: a reshape of a reshape becomes one view_copy of the first one's input, and none
at all when the shapes cancel.

After views become copies (views_to_copies.py) every view_copy, unsqueeze_copy and
squeeze_copy is a real copy: the memory planner gives each planned tensor its own bytes
(only a cond's branch outputs share memory), and remove_noop_copies drops only copies
whose result has the input's shape. Reshapes keep the elements' row-major order, so a
chain of them is one reshape to the last shape. nn.MultiheadAttention's QKV split
exports view (16,192)->(16,1,192)->(16,1,3,64) then unsqueeze (three copies, now one),
and its V goes permute -> view (1,4,16,16) -> view (4,16,16) (two copies that cancel).
A permute that moves only size-1 dims is a reshape too (the
transformer's (1, 16, 64) -> (16, 1, 64) around its attention). Copies move values
unchanged, so results are the same bit for bit. Folded only when the
inner reshape has no other reader (it then goes) and every shape is static. The
"x86-64-avx512" target runs it.

A reshape, one elementwise op, and a reshape back to the first input's shape is the op
on the input (both copies go): the op computes each element alone (or, for a softmax over
the last dim, each last-dim row, which reshapes that keep the last dim keep whole). The
transformer views q and k to 4-D around their scaling, the scores around the softmax and
the feed-forward's hidden layer around gelu (12 copies).
"""
from __future__ import annotations

import torch

from .safe_softmax import fuse_safe_softmax  # noqa: F401 (defines ptec::safe_softmax)

aten = torch.ops.aten

#: Copies whose result is their input's elements in the same order, in another shape.
RESHAPES = frozenset({
    aten.view_copy.default, aten.unsqueeze_copy.default, aten.squeeze_copy.default,
    aten.squeeze_copy.dim, aten.squeeze_copy.dims,
})


#: Ops whose result element i is computed from input element i alone (other arguments
#: scalars): the same under any reshape.
ELEMENTWISE = frozenset({
    aten.mul.Scalar, aten.div.Scalar, aten.add.Scalar, aten.sub.Scalar, aten.gelu.default,
    aten.relu.default, aten.sigmoid.default, aten.tanh.default, aten.neg.default,
})
#: Ops over rows of the dim given as their second argument.
ROW_OPS = frozenset({aten._softmax.default, torch.ops.ptec.safe_softmax.default})


def _static_shape(node) -> list[int] | None:
    val = node.meta.get("val") if isinstance(node, torch.fx.Node) else None
    if not isinstance(val, torch.Tensor) or not all(isinstance(n, int) for n in val.shape):
        return None
    return list(val.shape)


def _unit_permute(node: torch.fx.Node, shape: list[int]) -> bool:
    """A permute_copy that moves only size-1 dims (the others keep their order): a reshape."""
    if node.target is not aten.permute_copy.default or len(node.args) != 2:
        return False
    moved = [d % len(shape) for d in node.args[1] if shape[d] != 1]
    return moved == sorted(moved)


def _reshape(node) -> bool:
    if not (isinstance(node, torch.fx.Node) and node.op == "call_function" and not node.kwargs
            and _static_shape(node) is not None and _static_shape(node.args[0]) is not None):
        return False
    return node.target in RESHAPES or _unit_permute(node, _static_shape(node.args[0]))


def fold_reshapes(gm: torch.fx.GraphModule) -> None:
    """Makes each reshape of a single-reader reshape one view_copy (or none)."""
    changed = False
    for node in list(gm.graph.nodes):
        inner = node.args[0] if _reshape(node) else None
        if not _reshape(inner) or len(inner.users) != 1:
            continue
        source, shape = inner.args[0], _static_shape(node)
        # Cancelled: the input itself, unless the result is an output or the input a
        # placeholder (a program's output must be memory of its own).
        if shape == _static_shape(source) and source.op == "call_function" \
                and all(u.op != "output" for u in node.users):
            node.replace_all_uses_with(source)
            gm.graph.erase_node(node)
        else:
            node.target, node.args = aten.view_copy.default, (source, shape)
        gm.graph.erase_node(inner)
        changed = True
    if changed:
        gm.graph.lint()
        gm.recompile()


def _through_op(op: torch.fx.Node, inner: torch.fx.Node) -> bool:
    """Whether `op` on `inner`'s input gives the same elements as on `inner`'s result."""
    if op.op != "call_function" or len(op.users) != 1 or op.args[0] is not inner:
        return False
    if op.target in ELEMENTWISE:
        return not any(isinstance(a, torch.fx.Node) for a in (*op.args[1:], *op.kwargs.values()))
    if op.target in ROW_OPS and len(op.args) >= 2 and isinstance(op.args[1], int):
        before, after = _static_shape(inner.args[0]), _static_shape(inner)
        return op.args[1] in (-1, len(after) - 1) and before[-1:] == after[-1:]
    return False


def fold_reshapes_around_ops(gm: torch.fx.GraphModule) -> None:
    """reshape(op(reshape(x, s)), x.shape) -> op(x), op elementwise or over last-dim rows."""
    changed = False
    for node in list(gm.graph.nodes):
        op = node.args[0] if _reshape(node) else None
        inner = op.args[0] if isinstance(op, torch.fx.Node) and op.args else None
        if not _reshape(inner) or len(inner.users) != 1 or not _through_op(op, inner) \
                or _static_shape(node) != _static_shape(inner.args[0]):
            continue
        source = inner.args[0]
        rest = list(op.args[1:])
        if op.target in ROW_OPS:
            rest[0] = len(_static_shape(source)) - 1
        op.args = (source, *rest)
        op.meta["val"] = node.meta["val"]
        node.replace_all_uses_with(op)
        gm.graph.erase_node(node)
        gm.graph.erase_node(inner)
        changed = True
    if changed:
        gm.graph.lint()
        gm.recompile()
