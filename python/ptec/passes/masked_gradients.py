"""Pass: give convolution_backward's masked-off results a placeholder tensor.

aten.convolution_backward(..., output_mask) returns None for each gradient
whose mask entry is False. Its out variant still takes three out tensors, and
ptec's schedule and emitter plan a tensor for every result of a call, so each
None becomes an empty (0-element) tensor of the input's dtype: a value the
call can name that costs no memory. The kernel (op_convolution_backward.c), as
ExecuTorch's, neither checks nor writes an out whose mask entry is False.
"""
from __future__ import annotations

import torch

from .fake import fake_mode_of

MASKED_RESULT_OPS = frozenset({torch.ops.aten.convolution_backward.default})


def plan_masked_gradients(gm: torch.fx.GraphModule) -> None:
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target not in MASKED_RESULT_OPS:
            continue
        val = node.meta.get("val")
        if not isinstance(val, (tuple, list)) or all(v is not None for v in val):
            continue
        dtype = node.args[1].meta["val"].dtype
        with fake_mode_of(gm):
            empty = torch.empty((0,), dtype=dtype)
        node.meta["val"] = tuple(empty if v is None else v for v in val)
