"""A DeiT-Tiny-class vision transformer, int8, on the TOSA path (issue 15, item 5).

The architecture of DeiT (timm's VisionTransformer): a strided Conv2d patch
embedding, a learned class token concatenated in front, learned position
embeddings added, pre-norm blocks of [LayerNorm, multi-head self-attention with
one fused qkv projection split by unbind and F.scaled_dot_product_attention,
LayerNorm, MLP with GELU], a final LayerNorm and a linear head on the class
token. DeiT-Tiny is d 192, 3 heads, MLP 768, 12 blocks on 224x224 (196 patches);
the test's is d 48, 3 heads, MLP 192, 2 blocks on 32x32 with 8x8 patches (17
tokens) to stay fast. Compiled for tosa-int it is one delegate (only the input
quantize, its channels-last copy and the output dequantize on the CPU) and the TOSA executor equals the
host int8 program bit for bit; the SQNR against fp32 is printed and bounded
(17.3 dB at the test's seed with random weights and minmax observers). With int16
activations in every layer and int16 x int16 attention matmuls the same model reaches
30.7 dB with 32 calibration images (test_a16w8_matmul.py); the matmuls add 0.1-0.6 dB of
that, the rest is calibration ranges and int16 table interpolation (docs/transformers-npu.md).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import ptec
from ptec.report import DELEGATE, runs_on

QUANTIZE = "quantized_decomposed::quantize_per_tensor.out"
DEQUANTIZE = "quantized_decomposed::dequantize_per_tensor.out"


class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp: int):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(d, eps=1e-6), Attention(d, heads)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class DeiT(nn.Module):
    def __init__(self, image: int = 32, patch: int = 8, d: int = 48, heads: int = 3,
                 mlp: int = 192, depth: int = 2, classes: int = 10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, d, patch, patch)
        tokens = (image // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads, mlp) for _ in range(depth))
        self.norm, self.head = nn.LayerNorm(d, eps=1e-6), nn.Linear(d, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)          # [B, patches, d]
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


def _sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    ref = np.asarray(ref, np.float64)
    noise = np.asarray(got, np.float64) - ref
    return 10 * math.log10(float((ref ** 2).sum()) / max(float((noise ** 2).sum()), 1e-30))


def test_deit_class_vit_is_one_tosa_delegate_bit_exact(seed):
    torch.manual_seed(seed)
    model = DeiT().eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, 32, 32, generator=g)
    cal = [(torch.randn(1, 3, 32, 32, generator=g),) for _ in range(4)]
    converted = ptec.quantize.quantize(model, (x,), ptec.Int8(
        calibration=cal, observer="minmax", tosa_friendly=True))
    host = ptec.compile(converted, (x,))
    tosa = ptec.compile(converted, (x,), target="tosa-int")
    assert sum(runs_on(i) == DELEGATE for i in tosa.instructions) == 1, tosa.report()
    # On the CPU: the input quantize, its channels-last copy (the image enters the
    # delegate NHWC, as a CNN's does) and the output dequantize.
    assert [i.operator for i in tosa.instructions if runs_on(i) != DELEGATE] == \
        [QUANTIZE, "aten::clone.out", DEQUANTIZE], tosa.report()
    test = torch.randn(1, 3, 32, 32, generator=g)
    want = np.asarray(ptec.load(host.buffer)(test)[0])
    got = np.asarray(ptec.load(tosa.buffer)(test)[0])
    np.testing.assert_array_equal(got, want)
    with torch.no_grad():
        fp32 = model(test).numpy()
    db = _sqnr(fp32, want)
    print(f"\nDeiT-class ViT (d 48, 3 heads, 2 blocks, 17 tokens) int8, tosa-int: 1 delegate, "
          f"host == TOSA executor, {db:.1f} dB vs fp32")
    assert db >= 12.0
