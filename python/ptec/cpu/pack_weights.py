"""Pass: int8 convolution weights packed at compile time for the x86-64
AVX-512 VNNI kernel (docs/kernels-cpu.md, "Packed weights"); the
"x86-64-avx512" target runs it.

Each eligible ptec::quantized_conv2d (groups 1, int8 in and out, weight zero
point 0, a constant weight) becomes ptec::quantized_conv2d_packed: the same
arguments plus `packed`, a constant holding the filters in the kernel's panel
layout with each filter's correction term, and a second result, `scratch`,
a planned int8 tensor for the kernel's tiles of pixel windows (scratch_bytes:
one run of tiles per concurrent share). The kernel then packs nothing per call and
keeps no large buffers on its stack.

The original weight stays in the program: where the packed kernel does not
run (another CPU, ISA kernels off) the call is quantized_conv2d's, with the
same results bit for bit. The runtime checks `packed` against the weight at
method init (op_quantized_conv2d_packed.c).

Layout (runtime/src/kernels/quantized/conv2d.h, ptec_qconv_packed), with
k = KH * KW * C in (ky, kx, c) order, kp = k rounded up to 4, np = the filters
rounded up to 32:

    int32 corr[np]   (128 + input_zp) * sum_k w[j, k]  (- bias[j] when no
                     acc + bias can overflow int32), 0 past the filters
    int8  panels[np / 32][kp / 4][32][4] = w[32 b + c, 4 i + r], zeros past k, n
"""
from __future__ import annotations

import operator

import numpy as np
import torch

from ..passes.fake import fake_mode_of, fake_of, recompute_val
from ..quant.lower.match import constant_tensor

#: Shares of a call that can run at once, each with its own tiles of 8 pixel windows
#: (8 * kp bytes each) in the call's scratch: more threads than this wait.
SLOTS = 4
MR, NR, GROUP = 8, 32, 4
#: PTEC_Q_MAX_TERMS_I32: longest filter whose int32 sums stay exact.
MAX_TERMS = 33025

_ARGS = ("Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
         "int[] dilation, int groups, int input_zp, int weight_zp, Tensor multiplier, "
         "Tensor shift, int output_zp, int activation_min, int activation_max, Tensor packed")

#: The out variant's schema, as the C kernel implements it (tests/python/test_op_list.py).
OUT_SCHEMA = (f"ptec::quantized_conv2d_packed.out({_ARGS}, *, Tensor(a!) out, "
              "Tensor(b!) scratch) -> (Tensor(a!), Tensor(b!))")

_lib = torch.library.Library("ptec", "FRAGMENT")
_lib.define(f"quantized_conv2d_packed({_ARGS}) -> (Tensor, Tensor)")
_lib.define(OUT_SCHEMA.removeprefix("ptec::"))


def scratch_bytes(k: int, n: int) -> int:
    """slots * group * 8 * kp (conv2d.h): `group` tiles share each pass over the
    panels when these exceed 1 MiB (ptec_qconv_packed_group); then 2 slots, so
    that ResNet-18's last layers plan 288 KiB rather than 576."""
    kp, np_ = (k + 3) // 4 * 4, (n + NR - 1) // NR * NR
    group = GROUP if np_ * kp > 1 << 20 else 1
    return (SLOTS if group == 1 else 2) * group * MR * kp


@torch.library.register_fake("ptec::quantized_conv2d_packed")
def _fake(x, w, bias, stride, padding, dilation, groups, *rest):
    """quantized_conv2d's result (rest ends with `packed`, which it does not take)
    and the scratch."""
    y = torch.ops.ptec.quantized_conv2d.default(x, w, bias, stride, padding, dilation, groups,
                                                *rest[:-1])
    k = w.shape[1] * w.shape[2] * w.shape[3]
    return y, x.new_empty((scratch_bytes(k, w.shape[0]),), dtype=torch.int8)


def pack(w: np.ndarray, bias: np.ndarray | None, input_zp: int) -> np.ndarray:
    """The packed constant (module docstring) of int8 weights [O, C, KH, KW]."""
    n = w.shape[0]
    rows = w.transpose(0, 2, 3, 1).reshape(n, -1).astype(np.int64)  # (ky, kx, c) order
    k = rows.shape[1]
    kp, np_ = (k + 3) // 4 * 4, (n + NR - 1) // NR * NR
    padded = np.zeros((np_, kp), dtype=np.int64)
    padded[:n, :k] = rows
    corr = (128 + input_zp) * padded.sum(axis=1)
    if bias is not None:
        room = 2**31 - 1 - 255 * 128 * k
        if np.all(np.abs(bias.astype(np.int64)) <= room):
            corr[:n] -= bias.astype(np.int64)
    panels = padded.reshape(np_ // NR, NR, kp // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([corr.astype("<i4").view(np.int8),
                           panels.astype(np.int8).reshape(-1)])


def _eligible(gm, node) -> tuple[np.ndarray, np.ndarray | None] | None:
    (x, w, bias, _stride, _padding, _dilation, groups, _izp, wzp, *_rest) = node.args
    weight = constant_tensor(gm, w)
    bias_t = constant_tensor(gm, bias) if bias is not None else None
    if weight is None or (bias is not None and bias_t is None):
        return None
    y = node.meta.get("val")
    if groups != 1 or wzp != 0 or weight.dtype != torch.int8 or weight.dim() != 4 or y is None:
        return None
    if x.meta["val"].dtype != torch.int8 or y.dtype != torch.int8:
        return None
    if weight.shape[1] * weight.shape[2] * weight.shape[3] > MAX_TERMS:
        return None
    if bias_t is not None and bias_t.dtype != torch.int32:
        return None
    return weight.numpy(), (bias_t.numpy() if bias_t is not None else None)


def pack_conv_weights(gm: torch.fx.GraphModule) -> None:
    """Rewrites eligible int8 convolutions to ptec::quantized_conv2d_packed."""
    convs = [n for n in gm.graph.nodes
             if n.op == "call_function" and n.target is torch.ops.ptec.quantized_conv2d.default]
    if not convs:
        return
    mode = fake_mode_of(gm)
    for i, node in enumerate(convs):
        found = _eligible(gm, node)
        if found is None:
            continue
        weight, bias = found
        packed = torch.from_numpy(pack(weight, bias, int(node.args[7])))
        attr = f"_ptec_packed_{i}"
        gm.register_buffer(attr, packed)
        with gm.graph.inserting_before(node):
            const = gm.graph.get_attr(attr)
            const.meta["val"] = fake_of(mode, packed)
            call = gm.graph.call_function(torch.ops.ptec.quantized_conv2d_packed.default,
                                          (*node.args, const))
            call.meta = {**node.meta}
            recompute_val(call, mode)
            first = gm.graph.call_function(operator.getitem, (call, 0))
            first.meta = {**node.meta}
            recompute_val(first, mode)
        node.replace_all_uses_with(first)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()
