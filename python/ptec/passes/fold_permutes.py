"""Pass: a permute_copy of a permute_copy becomes one permute_copy of the first one's input
(dims composed: out dim i is input dim p1[p2[i]]), and none at all when the two cancel.

nn.MultiheadAttention's head merge exports as three permutes in a row ([2, 0, 1, 3],
[1, 2, 0, 3], [2, 0, 1, 3]: the first two cancel), each a copy of the attention's output
once views are copies (~0.4 us each in the transformer example). Copies move values
unchanged, so the result is the same bit for bit. Folded only when the inner permute has
no other reader (it then goes). The "x86-64-avx512" target runs it.

A permute of a reshape that only adds or drops dims of size 1, of a permute, is one
permute of the first one's input (then a view_copy to the final shape if the unit dims
sit elsewhere): the non-unit dims keep their order through such a reshape. The
transformer's K goes permute [1, 0, 2] (head split), view (1, 4, 16, 16), permute
[0, 1, 3, 2] (K^T for the scores' bmm): the transpose copy (0.76 us per layer) goes.
"""
from __future__ import annotations

import torch

from .fold_reshapes import RESHAPES

aten = torch.ops.aten


def _permute(node) -> bool:
    return (isinstance(node, torch.fx.Node) and node.op == "call_function"
            and node.target is aten.permute_copy.default and len(node.args) == 2
            and not node.kwargs)


def _dims(node: torch.fx.Node) -> list[int]:
    rank = len(node.args[1])
    return [d + rank if d < 0 else d for d in node.args[1]]


def _non_unit(shape) -> list[int]:
    return [n for n in shape if n != 1]


def _unit_reshape(node) -> bool:
    """A single-reader reshape of a single-reader permute that adds or drops size-1 dims only."""
    if not (isinstance(node, torch.fx.Node) and node.op == "call_function"
            and node.target in RESHAPES and len(node.users) == 1
            and _permute(node.args[0]) and len(node.args[0].users) == 1):
        return False
    before, after = node.args[0].meta.get("val"), node.meta.get("val")
    return (isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor)
            and all(isinstance(n, int) for n in (*before.shape, *after.shape))
            and _non_unit(before.shape) == _non_unit(after.shape))


def _fold_through_reshape(gm: torch.fx.GraphModule, node: torch.fx.Node) -> None:
    """permute(reshape(permute(x, p1)), p2) -> permute(x, dims), then view_copy if needed."""
    reshape = node.args[0]
    inner = reshape.args[0]
    source = inner.args[0]
    p1, p2 = _dims(inner), _dims(node)
    shape_in = list(inner.meta["val"].shape)
    # The source dim behind each non-unit dim of the reshape's result, in order.
    behind = [p1[i] for i, n in enumerate(shape_in) if n != 1]
    out_shape = list(node.meta["val"].shape)
    mid_shape = list(reshape.meta["val"].shape)
    rank_of = {}  # non-unit dim of the reshape's result -> its position among them
    for j, n in enumerate(mid_shape):
        if n != 1:
            rank_of[j] = len(rank_of)
    dims = [behind[rank_of[j]] for j in p2 if j in rank_of]
    dims += [d for d in range(len(p1)) if d not in dims]  # x's unit dims, last
    with gm.graph.inserting_before(node):
        folded = gm.graph.call_function(aten.permute_copy.default, (source, dims))
    src_val = source.meta["val"]
    folded.meta["val"] = src_val.new_empty([src_val.shape[d] for d in dims])
    result = folded
    if list(folded.meta["val"].shape) != out_shape:
        with gm.graph.inserting_before(node):
            result = gm.graph.call_function(aten.view_copy.default, (folded, out_shape))
        result.meta["val"] = node.meta["val"]
    node.replace_all_uses_with(result)
    gm.graph.erase_node(node)
    gm.graph.erase_node(reshape)
    gm.graph.erase_node(inner)


def fold_permutes(gm: torch.fx.GraphModule) -> None:
    """Composes each permute_copy of a single-reader permute_copy into one (or none)."""
    changed = False
    for node in list(gm.graph.nodes):
        if _permute(node) and _unit_reshape(node.args[0]):
            _fold_through_reshape(gm, node)
            changed = True
            continue
        inner = node.args[0] if _permute(node) else None
        if not _permute(inner) or len(inner.users) != 1:
            continue
        p1, p2 = _dims(inner), _dims(node)
        dims = [p1[d] for d in p2]
        source = inner.args[0]
        # Cancelled: the input itself, unless the result is an output or the input a
        # placeholder (a program's output must be memory of its own).
        if dims == list(range(len(dims))) and source.op == "call_function" \
                and all(u.op != "output" for u in node.users):
            node.replace_all_uses_with(source)
            gm.graph.erase_node(node)
        else:
            node.args = (source, dims)
        gm.graph.erase_node(inner)
        changed = True
    if changed:
        gm.graph.lint()
        gm.recompile()
