"""Pass: int8 convolution weights packed at compile time for the AArch64 dot-product
(SDOT) kernel of the cortex-a76 target (docs/kernels-cpu.md, "AArch64 NEON").

The packed constant is the one of the x86-64 AVX-512 VNNI kernel (pack_weights.py:
ptec::quantized_conv2d_packed, panels[np / 32][kp / 4][32][4] of the filters and the
per-filter correction (128 + input_zp) * sum w): a 16-byte row of a panel holds four
values of k for four channels, which is exactly SDOT's by-element operand, so the same
layout serves both ISAs and one op, one load-time check and one program format cover
them (a program packed for one target runs, bit for bit, on the other).

What differs is in the kernel (runtime/src/kernels/neon/conv2d_s8_packed_dotprod.c):
SDOT multiplies signed by signed, so activations go in as they are rather than as
x + 128, and the kernel takes 128 * sum w off the stored correction once per call. It
runs 4 pixels x 16 channels (half a panel) in sixteen accumulators, reading the pixel
tiles that `scratch` plans (8 pixels' windows each, as the VNNI kernel). It declines
banks of more than 8192 filters (its per-call corrections live on the stack; no example
model comes near), which then run quantized_conv2d's NEON path on the original weight.
"""
from __future__ import annotations

import torch

from .pack_weights import pack_conv_weights


def pack_conv_weights_sdot(gm: torch.fx.GraphModule) -> None:
    """Rewrites eligible int8 convolutions (groups 1, weight zero point 0, constant
    int8 weights: pack_weights' rule) to ptec::quantized_conv2d_packed."""
    pack_conv_weights(gm)
