"""The float transformer on x86-64 (issue 12): the small-B register tiles of
runtime/src/kernels/x86/matmul_f32_avx512.c (B's rows contiguous and B <= 32768 floats:
tiles of up to 8 rows of C by 32 columns, every sum in a register over k = 0..K-1), which
the transformer example's projections (16 x 64 @ 64 x 192, ...) and attention's bmm take.

Random shapes from the printed seed, sized to cross the tiles' edges (8 rows, 16 and 32
columns, one column, B at the size limit), as mm, addmm (alpha and beta 1, and not: the
per-element epilogue), linear (bias broadcast over rows) and bmm (both operands inputs),
compiled for "x86-64-avx512" and run through ptec-run (PTEC_RUN) and the ASan/UBSan build
(PTEC_RUN_ASAN). Checks, per case:
- within rtol 1e-5 + atol 1e-5 * sqrt(K) of PyTorch in float64 (test_llm_matmul's bound);
- within twice that of the reference twin: the same program through the reference-only
  build (build/host-ref, -DPTEC_ISA_KERNELS=OFF: op_matmul.c's loops);
- the ASan/UBSan build (clang) within the same bound (no out-of-bounds read or write);
- each row equal bit for bit to the same row computed alone (a 1-row program: the row
  kernel, the same FMA chain per element), so the tiles agree with the other paths.
The transformer example compiled for "x86-64-avx512" equals eager within 1e-4.
On CPUs without AVX-512 the AVX2 or reference kernels run; the checks still hold.
"""
from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import ptec
from test_llm_quant import _reference_runner
from test_x86_kernels import _run_cli

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run"))
ASAN_RUN = Path(os.environ.get("PTEC_RUN_ASAN", ROOT / "build" / "asan" / "ptec-run"))
TARGET = "x86-64-avx512"


class _Op(nn.Module):
    """One matmul: kind in mm / addmm / addmm_ab / addmm_col / linear (B a constant) or bmm
    (inputs). addmm_col's bias is [M, 1], broadcast along each row (D's column stride 0)."""

    def __init__(self, kind: str, m: int, k: int, n: int):
        super().__init__()
        self.kind = kind
        self.register_buffer("b", torch.randn(k, n))
        bias = {"addmm_ab": (1, n), "addmm_col": (m, 1)}.get(kind, (n,))
        self.register_buffer("bias", torch.randn(*bias))
        self.register_buffer("w", torch.randn(n, k))

    def forward(self, a, b=None):
        if self.kind == "mm":
            return a @ self.b
        if self.kind in ("addmm", "addmm_col"):
            return torch.addmm(self.bias, a, self.b)
        if self.kind == "addmm_ab":
            return torch.addmm(self.bias, a, self.b, beta=0.5, alpha=2.0)
        if self.kind == "linear":
            return nn.functional.linear(a, self.w, self.bias)
        return torch.bmm(a, b)


def _inputs(kind: str, m: int, k: int, n: int, batch: int):
    if kind == "bmm":
        return (torch.randn(batch, m, k), torch.randn(batch, k, n))
    return (torch.randn(m, k),)


def _shapes(rng: random.Random):
    yield "linear", 16, 64, 192, 1     # the transformer's QKV projection
    yield "bmm", 16, 16, 16, 4         # its attention scores
    yield "addmm", 9, 128, 256, 1      # B at the size limit (32768 floats)
    for kind in ("mm", "addmm", "addmm_ab", "addmm_col", "linear", "bmm"):
        m = rng.choice([4, 5, 7, 8, 9, 15, 16, 17, 23])
        k = rng.choice([1, 3, 16, 17, 64, rng.randrange(2, 200)])
        n = rng.choice([1, 15, 16, 17, 31, 32, 33, rng.randrange(2, 160)])
        yield kind, m, k, n, rng.choice([1, 3])


def test_small_b_tiles_random(seed, tmp_path):
    rng = random.Random(seed)
    ref_run = _reference_runner()
    for case, (kind, m, k, n, batch) in enumerate(_shapes(rng)):
        what = f"case {case}: {kind} {m}x{k} @ {k}x{n} batch {batch} (seed {seed})"
        module = _Op(kind, m, k, n).eval()
        inputs = _inputs(kind, m, k, n, batch)
        with torch.no_grad():
            want = _Op(kind, m, k, n).double()
            want.load_state_dict({key: v.double() for key, v in module.state_dict().items()})
            want = want(*(x.double() for x in inputs)).numpy()
        program = ptec.compile(module, inputs, target=TARGET).buffer
        (got,) = _run_cli(RUN, program, inputs, tmp_path / f"{case}-host")
        (asan,) = _run_cli(ASAN_RUN, program, inputs, tmp_path / f"{case}-asan")
        (ref,) = _run_cli(ref_run, program, inputs, tmp_path / f"{case}-ref")
        bound = 1e-5 * np.abs(want) + 1e-5 * math.sqrt(k)
        for out, limit, name in ((got, bound, "PyTorch in float64"),
                                 (ref, bound, "PyTorch in float64 (reference build)"),
                                 (asan, bound, "PyTorch in float64 (ASan build)")):
            err = np.abs(out.astype(np.float64) - want)
            assert not (err > limit).any(), f"{what}: {name}: max error {err.max():.3g}"
        err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        assert not (err > 2 * bound).any(), f"{what}: reference build: max error {err.max():.3g}"
        # A row alone runs the row kernel (fewer than four rows): the same chain, same bits.
        # (addmm_col's [M, 1] bias does not broadcast to one row.)
        if kind == "addmm_col":
            continue
        row = rng.randrange(m)
        alone_in = tuple(x[..., row:row + 1, :] if j == 0 else x for j, x in enumerate(inputs))
        alone = ptec.compile(module, alone_in, target=TARGET).buffer
        (one,) = _run_cli(RUN, alone, alone_in, tmp_path / f"{case}-row")
        assert np.array_equal(one.view(np.uint32), got[..., row:row + 1, :].view(np.uint32)), \
            f"{what}: row {row} alone differs from the row in the product"


def test_transformer_example_equals_eager(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    from models import transformer

    model, inputs = transformer()
    with torch.no_grad():
        want = model(*inputs).numpy()
    program = ptec.compile(model, inputs, target=TARGET).buffer
    for run, tag in ((RUN, "host"), (ASAN_RUN, "asan")):
        (got,) = _run_cli(run, program, inputs, tmp_path / tag)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=tag)
