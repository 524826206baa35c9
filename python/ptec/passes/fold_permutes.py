"""Pass: a permute_copy of a permute_copy becomes one permute_copy of the first one's input
(dims composed: out dim i is input dim p1[p2[i]]), and none at all when the two cancel.

nn.MultiheadAttention's head merge exports as three permutes in a row ([2, 0, 1, 3],
[1, 2, 0, 3], [2, 0, 1, 3]: the first two cancel), each a copy of the attention's output
once views are copies (~0.4 us each in the transformer example). Copies move values
unchanged, so the result is the same bit for bit. Folded only when the inner permute has
no other reader (it then goes). The "x86-64-avx512" target runs it.
"""
from __future__ import annotations

import torch

aten = torch.ops.aten


def _permute(node) -> bool:
    return (isinstance(node, torch.fx.Node) and node.op == "call_function"
            and node.target is aten.permute_copy.default and len(node.args) == 2
            and not node.kwargs)


def _dims(node: torch.fx.Node) -> list[int]:
    rank = len(node.args[1])
    return [d + rank if d < 0 else d for d in node.args[1]]


def fold_permutes(gm: torch.fx.GraphModule) -> None:
    """Composes each permute_copy of a single-reader permute_copy into one (or none)."""
    changed = False
    for node in list(gm.graph.nodes):
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
