"""The fp32 matmul on the shapes of a language model's linear layers (weights stored [K, N],
B's rows contiguous: runtime/src/kernels/x86/matmul_f32_avx512.c on an AVX-512 CPU, else
matmul_f32_avx2.c / matmul_f32_neon.c / the reference): a decode step's one row and a
prompt's rows, against PyTorch in float64 within the kernels' tolerance (rtol 1e-5 plus
atol 1e-5 * sqrt(K)), and each row of a many-row product equal bit for bit to the same row
computed alone (the row kernel and the blocked kernel run the same FMA chain per element,
so prefill and decode agree exactly). Random shapes from the printed seed, sized to cross
the kernels' block edges (1024 columns, 64 rows of B, 4 rows of C, 16-lane tails).
"""
from __future__ import annotations

import math
import random

import pytest
import torch
from torch import nn

import ptec


class _Mm(nn.Module):
    """a @ b (+ bias through addmm with alpha and beta), b stored [K, N] as a constant."""

    def __init__(self, b: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.register_buffer("b", b)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, a):
        if self.bias is None:
            return a @ self.b
        return torch.addmm(self.bias, a, self.b, beta=0.5, alpha=2.0)


def _run(module: nn.Module, a: torch.Tensor) -> torch.Tensor:
    return ptec.load(ptec.compile(module.eval(), (a,)).buffer)(a)[0]


def _shapes(rng: random.Random):
    yield 1, 768, 768          # a decode step of OPT-125M's attention projections
    yield 16, 768, 3072        # a 16-token prompt through the first FFN layer
    for _ in range(3):
        yield (rng.choice([1, 2, 3, 4, 5, 7, 9, 16, 19]), rng.randrange(8, 700),
               rng.choice([rng.randrange(1, 40), rng.randrange(240, 300), rng.randrange(500, 800)]))


def test_matmul_llm_shapes_against_float64(seed):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    for case, (m, k, n) in enumerate(_shapes(rng)):
        bias = torch.randn(n) if case % 2 else None
        module = _Mm(torch.randn(k, n), bias)
        a = torch.randn(m, k)
        with torch.no_grad():
            want = _Mm(module.b.double(), None if bias is None else bias.double())(a.double())
        got = _run(module, a)
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5 * math.sqrt(k),
                                   msg=lambda s: f"case {case}: {m}x{k} @ {k}x{n} (seed {seed}): {s}")


@pytest.mark.parametrize("m", [4, 9, 16])
def test_prompt_rows_equal_decode_rows(seed, m):
    rng = random.Random(seed * 31 + m)
    torch.manual_seed(seed * 31 + m)
    k, n = rng.randrange(130, 600), rng.randrange(250, 700) if m < 16 else rng.randrange(1030, 1100)
    module = _Mm(torch.randn(k, n), None)
    a = torch.randn(m, k)
    whole = _run(module, a)
    program = ptec.load(ptec.compile(module.eval(), (a[:1],)).buffer)
    for i in range(m):
        row = program(a[i:i + 1].contiguous())[0]
        assert torch.equal(row[0], whole[i]), (
            f"row {i} of {m}x{k} @ {k}x{n} differs from the row alone (seed {seed}): "
            f"max diff {(row[0] - whole[i]).abs().max().item()}")
