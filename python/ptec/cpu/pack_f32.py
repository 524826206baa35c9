"""Pass: float32 convolution filters packed at compile time for the x86 kernels
(docs/kernels-cpu.md, "fp32 convolution, packed and fused"); the
"x86-64-avx512" target runs it after ptec.passes.fuse_conv_clamp.

Each 2-D float32 convolution with groups 1 and a constant weight (an
aten.convolution, or a ptec.conv2d_f32 the fusion made) becomes
ptec.conv2d_f32 with `packed`: the filters as panels of 8 filters, their
values side by side,

    packed[b][k][r] = w[8 b + r, k]    k = (c, ky, kx) in OIHW order,
                                       zeros for filters past the last

float32 [ceil(OC / 8) * 8 * K]. The kernels' 8-filter blocks (4 on AVX2) then
read one stream, eight consecutive values per value of k, where OIHW rows
are eight streams K floats apart. Nothing is packed at load or per call.

Banks over 1 MiB with windows of 2+ taps stay unpacked: in whole programs
ResNet-18's 256- and 512-channel 3x3 layers (the implicit GEMM's
filter-group-outer order, and the stride-2 strip path) measured 10-25% slower
reading panels than OIHW rows (an isolated layer: 4%), where layers with
smaller banks gained 2-5%. 1x1 layers are packed whatever their size.

The original weight stays in the program: the reference kernel and the
variants that do not read panels use it, and method init checks `packed`
against it bit for bit (op_convolution.c). The cost is size: the filters are
stored twice.
"""
from __future__ import annotations

import numpy as np
import torch

from ..passes.fake import fake_mode_of, fake_of
from ..passes.fuse_conv_clamp import _convolution, conv2d_f32_call
from ..quant.lower.match import constant_tensor

PANEL = 8
#: Banks above this many bytes, with windows of 2+ taps, are not packed (docstring).
BIG_BANK = 1 << 20


def pack(w: np.ndarray) -> np.ndarray:
    """The panels (module docstring) of float32 filters [O, C, KH, KW]."""
    n = w.shape[0]
    rows = np.ascontiguousarray(w, dtype=np.float32).reshape(n, -1)
    np_ = (n + PANEL - 1) // PANEL * PANEL
    padded = np.zeros((np_, rows.shape[1]), dtype=np.float32)
    padded[:n] = rows
    return np.ascontiguousarray(
        padded.reshape(np_ // PANEL, PANEL, -1).transpose(0, 2, 1)).reshape(-1)


def _weight(gm, node) -> torch.Tensor | None:
    """The constant float32 weight of a groups-1 convolution node, else None."""
    if node.op != "call_function":
        return None
    if node.target is torch.ops.ptec.conv2d_f32.default:
        if node.args[9] is not None or node.args[6] != 1:
            return None
    elif not (_convolution(node) and node.args[8] == 1):
        return None
    w = constant_tensor(gm, node.args[1])
    if w is None or w.dtype != torch.float32 or w.dim() != 4:
        return None
    return None if w.numel() * 4 > BIG_BANK and w.shape[2] * w.shape[3] > 1 else w


def pack_f32_conv_weights(gm: torch.fx.GraphModule) -> None:
    """Gives eligible float32 convolutions their packed filters (ptec.conv2d_f32)."""
    found = [(n, w) for n in gm.graph.nodes if (w := _weight(gm, n)) is not None]
    if not found:
        return
    mode = fake_mode_of(gm)
    for i, (node, w) in enumerate(found):
        packed = torch.from_numpy(pack(w.numpy()))
        attr = f"_ptec_f32_packed_{i}"
        gm.register_buffer(attr, packed)
        with gm.graph.inserting_before(node):
            const = gm.graph.get_attr(attr)
        const.meta["val"] = fake_of(mode, packed)
        if node.target is torch.ops.ptec.conv2d_f32.default:
            node.args = (*node.args[:9], const)
            continue
        call = conv2d_f32_call(gm, node, None, None, const, mode)
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()
