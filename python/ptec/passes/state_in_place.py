"""KV cache writes in place.

torch.export turns `cache.index_copy_(d, pos, k)` and `cache[:, :, pos] = k` into
`index_put(cache, [None, .., None, pos], k)`: a new tensor, the whole cache
copied, then written back into the state (state.py): two copies of the cache per
step. Here, for a state buffer:

1. `index_put(state, [None] * d + [pos], values)` with a 1-d integer `pos` and
   `values` of the state's shape with `len(pos)` at dim d becomes
   `index_copy(state, d, pos, values)` (same result; its kernel writes only the
   selected rows when out is self);
2. when nothing reads the old state after that call, the call writes into the
   state itself (its result *is* the buffer, `WRITE_KEY`) and the write-back
   copy goes: a decode step writes one row per head into the cache, nothing else.
"""
from __future__ import annotations

import torch

from ..state import WRITE_KEY, is_state, write_target

aten = torch.ops.aten


def _as_index_copy(node: torch.fx.Node) -> bool:
    """Rewrites an index_put of a state buffer that is a row write; True if done."""
    if node.target is not aten.index_put.default or not is_state(node.args[0]):
        return False
    state, indices, values = node.args[:3]
    accumulate = node.args[3] if len(node.args) > 3 else node.kwargs.get("accumulate", False)
    given = [i for i, ix in enumerate(indices) if ix is not None]
    if accumulate or len(given) != 1 or not isinstance(values, torch.fx.Node):
        return False
    dim, index = given[0], indices[given[0]]
    iv, vv, sv = index.meta["val"], values.meta["val"], state.meta["val"]
    want = list(sv.shape)
    if iv.dim() != 1 or iv.dtype not in (torch.int64, torch.int32) or dim >= len(want):
        return False
    want[dim] = iv.shape[0]
    if list(vv.shape) != want or vv.dtype != sv.dtype:
        return False
    node.target = aten.index_copy.default
    node.args, node.kwargs = (state, dim, index, values), {}
    return True


def write_state_in_place(gm: torch.fx.GraphModule) -> None:
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    for node in list(gm.graph.nodes):
        _as_index_copy(node)
    for write in [n for n in gm.graph.nodes if write_target(n) is not None
                  and n.target is aten.copy.default]:
        state, new = write.args
        if not isinstance(new, torch.fx.Node) or new.target is not aten.index_copy.default \
                or new.args[0] is not state:
            continue
        later = [u for u in state.users if u not in (new, write) and order[u] > order[new]]
        if later:
            continue  # the old state is still read after the write
        new.meta[WRITE_KEY] = state
        gm.graph.erase_node(write)
    gm.graph.lint()
    gm.recompile()
