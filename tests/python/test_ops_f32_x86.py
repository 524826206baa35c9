"""x86-64 variants of the float32 operators around the convolutions (issue 12, fp32 ops).

- max_pool2d_with_indices (max_pool2d_f32_avx512.c, and max_pool2d_f32_avx2.c under
  valgrind, which has no AVX-512): values and indices bit for bit equal
  to PyTorch eager (whose CPU kernel the reference mirrors): random windows 1-5, strides
  1-3 (2 along rows at most for the variant; 3 declines to the reference), padding up to
  k / 2, ceil_mode, row widths around the 16- and 32-lane steps, ties, NaN, +-inf, -0;
  channels-last and dilated inputs (declined, reference) in the same program.
- relu, hardtanh/clamp and add/sub/mul/div rows (elementwise_f32_avx512.c): bit for bit
  equal to the reference's per-element float32 expression, computed here with NumPy
  (a + alpha * b with the product rounded first: PyTorch's own add fuses it into an FMA).
- gelu, layer norm and softmax (gelu_f32_avx512.c, norm_f32_avx512.c,
  softmax_f32_avx512.c): within the tolerances of docs/kernels-cpu.md against float64.
- whole models (ResNet-18 and MobileNetV2 at small resolutions, DS-CNN, the transformer)
  against PyTorch eager.

Every program runs on 1 and 3 threads through PTEC_RUN (default build/host/ptec-run; a
plain build, since the AVX2 test runs it under valgrind) and, when PTEC_RUN_ASAN is set,
through the ASan + UBSan build: all outputs equal bit for bit. Random shapes come from the `seed` fixture (printed; PTEC_SEED
replays). On a CPU without AVX-512 the same programs run the reference kernels and the
checks still hold.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from op_testing import compile_module

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run"))  # not ASan: valgrind runs it
ASAN = os.environ.get("PTEC_RUN_ASAN")
sys.path.insert(0, str(ROOT / "examples"))
# random programs per test (each compiles once): PTEC_F32_OPS_CASES=20 for a longer run
CASES = int(os.environ.get("PTEC_F32_OPS_CASES", "1"))


def _run(program: bytes, inputs, tmp: Path, threads: int, runner: Path = RUN) -> list[np.ndarray]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "m.pte").write_bytes(program)
    args = [str(runner), str(tmp / "m.pte")]
    for k, x in enumerate(inputs):
        np.save(tmp / f"in{k}.npy", x.contiguous().numpy())
        args += ["--input", str(tmp / f"in{k}.npy")]
    out = tmp / f"out{threads}"
    out.mkdir(exist_ok=True)
    subprocess.run(args + ["--output-dir", str(out), "--threads", str(threads)], check=True,
                   capture_output=True)
    paths = sorted(out.glob("output*.npy"), key=lambda p: int(p.stem[len("output"):]))
    return [np.load(p) for p in paths]


def _run_both(module: nn.Module, inputs, tmp: Path) -> list[np.ndarray]:
    """Outputs on one thread, checked equal bit for bit to three threads' and, when
    PTEC_RUN_ASAN names an ASan + UBSan build (make test), to that build's on two threads
    (the same variants run there: the sanitizers watch their masked loads and stores)."""
    program = compile_module(module, inputs).buffer
    one = _run(program, inputs, tmp, 1)
    runs = [("3 threads", _run(program, inputs, tmp, 3))]
    if ASAN:
        runs.append(("the ASan build", _run(program, inputs, tmp / "asan", 2, Path(ASAN))))
    for what, other in runs:
        for k, (a, b) in enumerate(zip(one, other)):
            assert a.tobytes() == b.tobytes(), f"output {k}: 1 thread and {what} differ"
    return one


def _special(rng: random.Random, shape) -> torch.Tensor:
    """Random values, a third of the tensors made of few distinct values (ties), with NaN,
    +-inf and -0 sprinkled in."""
    x = torch.randn(shape)
    if rng.random() < 0.35:
        x = torch.randint(-3, 4, shape).float()
    flat = x.view(-1)
    for v in (float("nan"), float("inf"), float("-inf"), -0.0):
        for _ in range(rng.randint(0, 3)):
            flat[rng.randrange(flat.numel())] = v
    return x


def _same_bits(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    bad = got.view(np.uint32) != want.view(np.uint32) if got.dtype == np.float32 else got != want
    assert not bad.any(), (f"{what}: {int(bad.sum())} of {bad.size} differ, first at "
                           f"{np.argwhere(bad)[0].tolist()}: {got[bad][0]} vs {want[bad][0]}")


class _Pools(nn.Module):
    def __init__(self, configs):
        super().__init__()
        self.configs = configs

    def forward(self, *xs):
        outs = []
        for x, (k, s, p, d, ceil) in zip(xs, self.configs):
            y, i = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
            outs += [y, i]
        return tuple(outs)


def _pool_config(rng: random.Random):
    k = (rng.randint(1, 5), rng.randint(1, 5))
    s = (rng.choice([1, 2, 3]), rng.choice([1, 2, 2, 1, 3]))
    p = (rng.randint(0, k[0] // 2), rng.randint(0, k[1] // 2))
    d = (1, 1) if rng.random() < 0.85 else (rng.randint(1, 2), rng.randint(1, 2))
    ceil = rng.random() < 0.3
    h = rng.randint(max(k[0] * d[0], 1), 20)
    w = rng.choice([1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 56, 63, 65, 112])
    w = max(w, (k[1] - 1) * d[1] + 1)
    shape = (rng.randint(1, 2), rng.choice([1, 3, 8]), h, w)
    return (k, s, p, d, ceil), shape


def test_max_pool2d_random(seed, tmp_path):
    rng = random.Random(seed)
    configs, inputs = [], []
    for _ in range(14):
        config, shape = _pool_config(rng)
        configs.append(config)
        x = _special(rng, shape)
        if rng.random() < 0.15:
            x = x.contiguous(memory_format=torch.channels_last)
        inputs.append(x)
    # ResNet-18's stem pool, and a row width where 32-wide stride-2 loads end mid-vector
    for config, shape in ((((3, 3), (2, 2), (1, 1), (1, 1), False), (1, 5, 18, 18)),
                          (((3, 3), (2, 2), (1, 1), (1, 1), True), (1, 2, 9, 45))):
        configs.append(config)
        inputs.append(_special(rng, shape))
    got = _run_both(_Pools(configs), inputs, tmp_path)
    for n, (x, config) in enumerate(zip(inputs, configs)):
        k, s, p, d, ceil = config
        y, i = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
        what = f"pool {n} {config} on {tuple(x.shape)}"
        _same_bits(got[2 * n], y.contiguous().numpy(), what + " values")
        _same_bits(got[2 * n + 1], i.contiguous().numpy(), what + " indices")


def test_max_pool2d_avx2_under_valgrind(seed, tmp_path):
    """The AVX2 max pool (max_pool2d_f32_avx2.c), which this AVX-512 host reaches only
    under valgrind (no AVX-512 emulation: the dispatch takes AVX2), bit for bit against
    eager on random stride-1 and stride-2 pools, valgrind's memcheck finding no error."""
    rng = random.Random(seed)
    configs, inputs = [], []
    for s in (1, 2, 2, 1):
        config, shape = _pool_config(rng)
        k, _, p, _, ceil = config
        configs.append((k, (rng.randint(1, 2), s), p, (1, 1), ceil))
        inputs.append(_special(rng, (1, 2) + shape[2:]))
    program = compile_module(_Pools(configs), inputs).buffer
    (tmp_path / "m.pte").write_bytes(program)
    args = ["valgrind", "-q", "--error-exitcode=9", str(RUN), str(tmp_path / "m.pte")]
    for k, x in enumerate(inputs):
        np.save(tmp_path / f"in{k}.npy", x.numpy())
        args += ["--input", str(tmp_path / f"in{k}.npy")]
    subprocess.run(args + ["--output-dir", str(tmp_path)], check=True, capture_output=True)
    for n, (x, (k, s, p, d, ceil)) in enumerate(zip(inputs, configs)):
        y, i = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
        what = f"avx2 pool {n} {(k, s, p, ceil)} on {tuple(x.shape)}"
        _same_bits(np.load(tmp_path / f"output{2 * n}.npy"), y.numpy(), what + " values")
        _same_bits(np.load(tmp_path / f"output{2 * n + 1}.npy"), i.numpy(), what + " indices")


class _Elementwise(nn.Module):
    def __init__(self, alpha: float, lo: float, hi: float):
        super().__init__()
        self.alpha, self.lo, self.hi = alpha, lo, hi

    def forward(self, a, b, row):
        return (F.relu(a), F.hardtanh(a, self.lo, self.hi), F.relu6(b), torch.add(a, b),
                torch.add(a, b, alpha=self.alpha), torch.sub(a, b, alpha=self.alpha),
                a * b, a / b, a + row, a * 0.75, torch.clamp(b, min=self.lo))


def test_elementwise_random(seed, tmp_path):
    rng = random.Random(seed)
    for case in range(CASES):
        n = rng.choice([1, 5, 15, 16, 17, 63, 64, 65, 200, 1001])
        shape = (rng.randint(1, 3), n)
        a, b = _special(rng, shape), _special(rng, shape)
        row = torch.randn(n)
        alpha = rng.choice([2.5, -0.3, 1.0 / 3.0])
        lo, hi = sorted((rng.uniform(-2, 0), rng.uniform(0, 2)))
        got = _run_both(_Elementwise(alpha, lo, hi), (a, b, row), tmp_path / str(case))
        A, B, R = a.numpy(), b.numpy(), row.numpy()
        f32 = np.float32
        with np.errstate(all="ignore"):
            def clamp(x, lo_, hi_):
                v = np.where(x < f32(lo_), f32(lo_), x)
                return np.where(v > f32(hi_), f32(hi_), v)
            want = [np.where(A < 0, f32(0), A), clamp(A, lo, hi), clamp(B, 0, 6), A + B,
                    A + f32(alpha) * B, A - f32(alpha) * B, A * B, A / B, A + R, A * f32(0.75),
                    np.where(B < f32(lo), f32(lo), B)]
        names = ["relu", "hardtanh", "relu6", "add", "add alpha", "sub alpha", "mul", "div",
                 "add row", "mul scalar", "clamp min"]
        for g, w, name in zip(got, want, names):
            _same_bits(g, w.astype(np.float32), f"{name} on {shape}")


U = 2.0 ** -24


class _Transcendental(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.bare = nn.LayerNorm(width, elementwise_affine=False)

    def forward(self, x, s):
        return (F.gelu(x), F.gelu(x, approximate="tanh"), torch.softmax(s, -1),
                self.norm(x), self.bare(x * 3.0 + 100.0), torch.softmax(s.transpose(0, 1), 0))


def _gelu64(x: np.ndarray, tanh: bool) -> np.ndarray:
    if tanh:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return x * torch.special.ndtr(torch.from_numpy(x)).numpy()


def _layer_norm64(x: np.ndarray, w, b, eps: float):
    mean = x.mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + eps)
    y = (x - mean) * rstd * w + b
    # terms of y's float computation: x * rstd and rstd * mean, times |w|, and b
    mag = (np.abs(x) + np.abs(mean)) * rstd * np.abs(w) + np.abs(b)
    return y, mag


def test_gelu_softmax_layer_norm_random(seed, tmp_path):
    """gelu within 2^-21 |y| + 2^-22 |x| (erf's absolute error 1.5e-7, times x / 2);
    softmax within (2^-21 + 2^-24 |x - max|) y (exp within 2 ulp, the scale's rounding, and
    x - max rounded to float32 as in the reference); layer norm within
    2^-21 of its terms' magnitude (|x| + |mean|) rstd |w| + |b| (the float steps after
    the double sums). Against float64 on random widths with tails, large inputs, -inf
    logits; the strided softmax (dim 0) takes the reference in the same program."""
    rng = random.Random(seed)
    for case in range(CASES):
        width = rng.choice([1, 7, 16, 33, 64, 100])
        rows = rng.randint(1, 5)
        x = torch.randn(rows, width) * rng.choice([1.0, 4.0])
        x.view(-1)[rng.randrange(x.numel())] = rng.choice([-9.0, 12.0, 0.0])
        s = torch.randn(rows, width) * 6
        s.view(-1)[rng.randrange(s.numel())] = float("-inf")
        module = _Transcendental(width)
        with torch.no_grad():
            module.norm.weight.copy_(torch.randn(width))
            module.norm.bias.copy_(torch.randn(width))
        got = _run_both(module, (x, s), tmp_path / str(case))
        X, S = x.double().numpy(), s.double().numpy()
        what = f"[{rows}, {width}]"
        for k, tanh in ((0, False), (1, True)):
            want = _gelu64(X, tanh)
            bound = 2.0 ** -21 * np.abs(want) + 2.0 ** -22 * np.abs(X) + 1e-38
            err = np.abs(got[k] - want)
            assert (err <= bound).all(), f"gelu tanh={tanh} {what}: worst {(err - bound).max():.3g}"
        for k, logits in ((2, S), (5, S.T.copy())):
            axis = -1 if k == 2 else 0
            shifted = logits - logits.max(axis, keepdims=True)
            e = np.exp(shifted)
            want = e / e.sum(axis, keepdims=True)
            err = np.abs(got[k] - want)
            # x - max rounds to float32 first: exp's relative error grows by |x - max| u
            bound = (2.0 ** -21 + U * np.minimum(np.abs(shifted), 1e3)) * want + 1e-38
            ok = (err <= bound) | (np.isnan(got[k]) & np.isnan(want))  # a row of only -inf
            assert ok.all(), f"softmax {what} output {k}: {int((~ok).sum())} beyond the bound"
        for k, inp, w, b in ((3, X, module.norm.weight.detach().double().numpy(),
                              module.norm.bias.detach().double().numpy()),
                             (4, (x * 3.0 + 100.0).double().numpy(), 1.0, 0.0)):
            want, mag = _layer_norm64(inp, w, b, 1e-5)
            err = np.abs(got[k] - want)
            bound = 2.0 ** -21 * mag + 1e-30
            assert (err <= bound).all(), f"layer norm {what} output {k}: worst {(err - bound).max():.3g}"


class _CompareMean(nn.Module):
    def forward(self, a, b, img):
        return (a == b, a != b, a < b, a <= 0.5, a > b, a >= b, a == float("-inf"),
                img.mean((-2, -1), keepdim=True), img.mean(-1), img.sum((2, 3)))


def test_compare_and_mean_random(seed, tmp_path):
    """Comparisons bit for bit against NumPy (NaN, +-inf, ties); mean and sum over an
    image's planes (global average pooling) within an ulp of the float64 sum rounded."""
    rng = random.Random(seed)
    for case in range(CASES):
        n = rng.choice([16, 17, 40, 64, 100, 1024])
        a, b = _special(rng, (2, n)), _special(rng, (2, n))
        b[0, : n // 2] = a[0, : n // 2]  # ties
        img = torch.randn(1, rng.choice([3, 8, 64]), rng.randint(1, 9), rng.choice([5, 7, 16, 25]))
        got = _run_both(_CompareMean(), (a, b, img), tmp_path / str(case))
        A, B = a.numpy(), b.numpy()
        with np.errstate(invalid="ignore"):
            want = [A == B, A != B, A < B, A <= np.float32(0.5), A > B, A >= B, A == -np.inf]
        for k, w in enumerate(want):
            _same_bits(got[k], w, f"comparison {k} on [2, {n}]")
        I = img.double().numpy()
        for k, w in ((7, I.mean((-2, -1), keepdims=True)), (8, I.mean(-1)), (9, I.sum((2, 3)))):
            w32 = w.astype(np.float32)
            ulp = np.spacing(np.abs(w32))
            err = np.abs(got[k].astype(np.float64) - w)
            assert (err <= ulp).all(), f"reduction {k} on {tuple(img.shape)}: {err.max():.3g} > ulp"


@pytest.mark.parametrize("name,kwargs,tol", [
    ("resnet18", {"resolution": 64}, 1e-4),
    ("ds_cnn", {}, 1e-4),
    ("transformer", {}, 1e-4),
])
def test_models_against_eager(name, kwargs, tol, tmp_path):
    """The example models whose profiles these variants come from (ResNet-18's stem max
    pool, residual adds and relus; DS-CNN's relus and mean; the
    transformer's layer norms, gelu, softmax and mask comparisons) against PyTorch eager:
    outputs within `tol` of the largest output magnitude."""
    from models import EXAMPLES
    model, inputs = EXAMPLES[name](**kwargs)
    model.eval()
    got = _run_both(model, inputs, tmp_path)
    with torch.no_grad():
        want = model(*inputs)
    want = [want] if isinstance(want, torch.Tensor) else list(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.numpy()
        err = np.abs(g.astype(np.float64) - w).max()
        assert err <= tol * np.abs(w).max(), f"{name}: max error {err:.3g}, scale {np.abs(w).max():.3g}"
