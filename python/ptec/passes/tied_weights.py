"""A tied weight stored once: the LM head reads the embedding table transposed.

A language model's LM head often shares its weight W [vocab, hidden] with the
token embedding. Exported, the head is `mm(x, permute(W, [1, 0]))`, and constant
folding would store W's transposed copy next to W (OPT-125M: 154 MB twice).
Here, where a constant is read both directly and through that permute, the
permute becomes a constant of its own whose tensor is the transposed *view*:
it is emitted with dim order [1, 0], the same bytes as W, which the emitter
stores once. The matrix kernels read strided operands (for the head, a dot
product along each contiguous row of W per output).
"""
from __future__ import annotations

import torch

from .fake import fake_of

aten = torch.ops.aten


def share_tied_transposes(gm: torch.fx.GraphModule) -> None:
    for node in list(gm.graph.nodes):
        if node.op != "get_attr":
            continue
        weight = getattr(gm, node.target)
        transposes = [u for u in node.users if u.target is aten.permute.default
                      and list(u.args[1]) == [1, 0]]
        if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or not transposes \
                or len(transposes) == len(node.users):
            continue  # not read both directly and transposed: folding stores it once
        for user in transposes:
            attr = f"{node.target}_t"
            gm.register_buffer(attr, weight.t())  # a view: same storage, strides swapped
            with gm.graph.inserting_before(user):
                getter = gm.graph.get_attr(attr)
            getter.meta.update(user.meta)
            getter.meta["val"] = fake_of(node.meta["val"].fake_mode, weight.t())
            user.replace_all_uses_with(getter)
            gm.graph.erase_node(user)
    gm.graph.lint()
    gm.recompile()
