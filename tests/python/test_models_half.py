"""A small CNN and a small transformer block converted with .half() and
.to(torch.bfloat16) compile and run in ptec equal to PyTorch eager
(issue 17 item 2).

Each kernel rounds as PyTorch's CPU kernel does (test_ops_half_kernels.py),
so the programs are bit-exact on the seeds tried so far; the stated
tolerance is 2 ulps of the half type at eager's result, plus 2 ulps at the
output's largest magnitude for the transformer (whose float32 exp, erf and
summation orders may differ from PyTorch's vectorised ones in the last float
bit, which a later subtraction can magnify near zero)."""
from __future__ import annotations

import pytest
import torch

import ptec
from test_ops_half_kernels import HALF, ulp


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.Conv2d(8, 16, 1),
            torch.nn.BatchNorm2d(16), torch.nn.Hardswish(), torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1))
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        return torch.softmax(self.head(self.features(x).flatten(1)), -1)


class Block(torch.nn.Module):
    """A pre-norm transformer encoder block: attention with a causal mask,
    then a GELU MLP, each with a residual."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(),
                                       torch.nn.Linear(4 * d, d))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, -1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-1, -2)) * (d // self.heads) ** -0.5
        att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        y = (torch.softmax(att, -1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


def randomise(module):
    """Non-trivial batch-norm statistics (eval mode uses them)."""
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features) + 0.5)
                m.weight.copy_(torch.rand(m.num_features) + 0.5)
                m.bias.copy_(torch.randn(m.num_features) * 0.1)
    return module.eval()


def check_model(module, x, *, spread):
    with torch.no_grad():
        want = module(x)
    got = ptec.load(ptec.compile(module, (x,)).buffer)(x)[0]
    assert got.dtype == want.dtype and got.shape == want.shape
    err = (got.double() - want.double()).abs()
    tol = 2 * ulp(want) + spread * 2 * ulp(want.abs().max().reshape(1))
    print(f"{want.dtype}: {int((err > 0).sum())} of {want.numel()} elements differ, max "
          f"{float((err / ulp(want)).max()):.2f} ulp")
    assert not (err > tol).any(), (got[err > tol][:5], want[err > tol][:5])


@pytest.mark.parametrize("dtype", HALF)
def test_small_cnn(seed, dtype):
    model = randomise(SmallCNN()).to(dtype)
    check_model(model, torch.randn(2, 3, 16, 16).to(dtype), spread=0)


@pytest.mark.parametrize("dtype", HALF)
def test_transformer_block(seed, dtype):
    model = Block().eval().to(dtype)
    check_model(model, torch.randn(2, 8, 32).to(dtype), spread=1)
