"""Pass: replace view operators by their copying variants (view -> view_copy).

A program has no aliasing between tensors in ptec (each planned tensor owns
its bytes), so, as in ExecuTorch's edge dialect, every view-like ATen
operator becomes the `*_copy` operator of the same overload: view_copy,
permute_copy, expand_copy, slice_copy, select_copy, split_with_sizes_copy,
alias_copy... A copy's result is contiguous where the view's was strided, and
that changes the strides of what follows, so the graph's FakeTensors are
recomputed afterwards.
"""
from __future__ import annotations

import torch
from torch._ops import OpOverload

from ..errors import CompileError
from .fake import repropagate


def copy_variant(op: OpOverload) -> OpOverload | None:
    """aten.X.overload -> aten.X_copy.overload, if PyTorch defines it."""
    namespace, name = op._schema.name.split("::")
    packet = getattr(getattr(torch.ops, namespace), f"{name}_copy", None)
    if packet is None:
        return None
    return getattr(packet, op._overloadname, None)


def replace_views_with_copies(gm: torch.fx.GraphModule) -> None:
    """Retargets every view call to its copy variant; fails if one has none."""
    missing = []
    changed = False
    for node in gm.graph.nodes:
        if node.op != "call_function" or not isinstance(node.target, OpOverload) \
                or not node.target.is_view:
            continue
        copy = copy_variant(node.target)
        if copy is None:
            missing.append(f"{node.target} ({node.name})")
            continue
        node.target = copy
        changed = True
    if missing:
        raise CompileError("view operators without a copy variant: " + ", ".join(missing))
    if changed:
        repropagate(gm)
        gm.recompile()
