"""x86-64 float32 convolution kernels that read the input planes in place (issue 12).

- depthwise (depthwise_conv2d_f32_direct_avx512.c): "same" stride-1 planes flattened across
  rows, stride 1 or 2 row by row, any padding and dilation, 1x1 to 7x7 windows;
- groups 1 (conv2d_f32_implicit_avx512.c): the implicit GEMM whose pixel vectors are masked
  loads of the input planes, no im2col; "same" stride-1 planes flattened, stride 1 or 2 row
  by row (stride 2 keeps every other input lane), 1x1 to 7x7 windows.

Random shapes from the printed seed, run through ptec-run (PTEC_RUN, default build/host) on
1 and 3 threads. Each output is checked against PyTorch in float64 within the bound of a
sum of K products of float32 values computed in float32 in any order, with or without fused
multiply-adds: |y - y_exact| <= (K + 2) * 2^-24 * (sum_k |w_k x_k| + |b|) (the classic
gamma_K bound, K the terms per output; the data are exact float32 values). The 1- and
3-thread outputs must be equal bit for bit (each output is summed by one thread in one order).
These kernels run only on AVX-512 CPUs; elsewhere the same programs run the AVX2 or
reference kernels, and the checks still hold.
"""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import torch
from torch import nn

from op_testing import compile_module

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run"))
U = 2.0 ** -24


def _run(program: bytes, x: torch.Tensor, tmp: Path, threads: int) -> np.ndarray:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "m.pte").write_bytes(program)
    np.save(tmp / "in0.npy", x.contiguous().numpy())
    out = tmp / f"out{threads}"
    out.mkdir(exist_ok=True)
    subprocess.run([str(RUN), str(tmp / "m.pte"), "--input", str(tmp / "in0.npy"),
                    "--output-dir", str(out), "--threads", str(threads)],
                   check=True, capture_output=True)
    (got,) = [np.load(p) for p in sorted(out.glob("output*.npy"))]
    return got


def exact_and_bound(conv: nn.Conv2d, x: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """conv(x) in float64 and the gamma_K bound (K + 2) * 2^-24 * (sum |w x| + |b|) of a
    float32 computation of it (conv is left in float32, its weight and bias as they were)."""
    with torch.no_grad():
        d = conv.double()
        want = d(x.double())
        # The tensors, not the Parameters: `d.bias.data = ...` replaces a Parameter's
        # tensor, so a Parameter kept here would hand back |b| on restore.
        w = d.weight.data
        b = None if d.bias is None else d.bias.data
        d.weight.data = w.abs()
        if b is not None:
            d.bias.data = b.abs()
        mag = d(x.double().abs())
        d.weight.data = w
        if b is not None:
            d.bias.data = b
        conv.float()
    terms = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
    return want, (terms + 2) * U * mag.numpy()


def _check(conv: nn.Conv2d, x: torch.Tensor, tmp: Path, what: str) -> None:
    conv.eval()
    program = compile_module(conv, (x,)).buffer
    one = _run(program, x, tmp, 1)
    three = _run(program, x, tmp, 3)
    assert np.array_equal(one.view(np.uint32), three.view(np.uint32)), \
        f"{what}: 1 and 3 threads differ"
    want, bound = exact_and_bound(conv, x)
    err = np.abs(one.astype(np.float64) - want.numpy())
    bad = err > bound
    assert not bad.any(), (f"{what}: {int(bad.sum())} of {bad.size} outputs beyond the bound, "
                           f"worst {float((err - bound).max()):.3g} over it")


def _shape(rng: random.Random, k: int, dil: int) -> tuple[int, int]:
    span = (k - 1) * dil + 1
    return (max(span, rng.choice([1, 7, 14, 17, 28, 33])),
            max(span, rng.choice([1, 1 + span, 7, 14, 16, 37, 48])))


def test_depthwise_direct_random(seed, tmp_path):
    rng = random.Random(seed)
    for case in range(8):
        k = rng.choice([1, 3, 3, 5, 7])
        dil = rng.choice([1, 1, 2]) if k > 1 else 1
        stride = rng.choice([1, 1, 2])
        same = stride == 1 and rng.random() < 0.6
        pad = (k - 1) * dil // 2 if same and k % 2 else rng.randrange(0, k)
        c = rng.choice([1, 3, 16, 32, 37])
        h, w = _shape(rng, k, dil)
        if case == 0:  # a plane of 8+ groups of 64 outputs: taps worked out for the whole plane
            h, w = 40, 48
        conv = nn.Conv2d(c, c, k, stride=stride, padding=pad, dilation=dil, groups=c,
                         bias=rng.random() < 0.8)
        x = torch.randn(rng.choice([1, 1, 2]), c, h, w)
        _check(conv, x, tmp_path / f"dw{case}", f"case {case}: {conv} on {tuple(x.shape)} "
               f"(seed {seed})")


def test_implicit_gemm_random(seed, tmp_path):
    rng = random.Random(seed)
    for case in range(8):
        k = rng.choice([1, 3, 3, 3, 5, 7])
        dil = rng.choice([1, 1, 2]) if k > 1 else 1
        stride = rng.choice([1, 1, 2, (2, 1), (1, 2)])
        pad = (k - 1) * dil // 2 if rng.random() < 0.7 else rng.randrange(0, k)
        cin, cout = rng.choice([1, 3, 8, 19, 64]), rng.choice([1, 7, 8, 16, 33, 64])
        h, w = _shape(rng, k, dil)
        conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil,
                         bias=rng.random() < 0.8)
        x = torch.randn(rng.choice([1, 1, 2]), cin, h, w)
        _check(conv, x, tmp_path / f"ig{case}", f"case {case}: {conv} on {tuple(x.shape)} "
               f"(seed {seed})")


def test_exact_and_bound_leaves_the_module_as_it_was(seed):
    # It once restored the bias from the Parameter it had just overwritten, leaving |b|.
    torch.manual_seed(seed)
    conv = nn.Conv2d(3, 5, 3)
    with torch.no_grad():
        conv.bias.copy_(-conv.bias.abs() - 0.5)  # every bias negative: |b| would show
    w, b = conv.weight.detach().clone(), conv.bias.detach().clone()
    x = torch.randn(1, 3, 6, 6)
    want, bound = exact_and_bound(conv, x)
    assert conv.weight.dtype == torch.float32 and conv.bias.dtype == torch.float32
    assert torch.equal(conv.weight, w) and torch.equal(conv.bias, b), \
        f"exact_and_bound changed the module (seed {seed})"
    assert np.all(np.abs(conv(x).detach().double().numpy() - want.numpy()) <= bound)
