"""The x86-64 AVX2 kernel variants (runtime/src/kernels/x86/, docs/kernels-cpu.md) against the
reference kernels.

- int8 (bit for bit): `build/host/ptec-kernel-tests` is tests/cortex_m/kernel_tests.c built for
  the host: random shapes, layouts, zero points, scales and data from a printed seed go through
  the reference kernels (compiled again with PTEC_KERNELS_REFERENCE_ONLY), the runtime's
  dispatching kernels and the AVX2 variants called directly, compared byte for byte.
- float32 (within tolerance): random convolutions (1x1, strided, padded, dilated, depthwise,
  1-D) and linear / mm / addmm shapes through the C runtime against PyTorch in float64. The
  variants sum in another order with fused multiply-adds, so a result may differ from the
  exact value by rtol 1e-5 plus atol 1e-5 * sqrt(terms) (terms: products per output).
- the example models (small sizes): int8 outputs equal bit for bit and float32 outputs within
  1e-4 between this build and a reference build (-DPTEC_ISA_KERNELS=OFF, build/host-ref, built
  here when missing).

PTEC_SEED replays a run; PTEC_X86_CASES sets the int8 cases per kernel (default 400).
"""
from __future__ import annotations

import math
import os
import platform
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from op_testing import compile_module

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
KERNEL_TESTS = BUILD / "host" / "ptec-kernel-tests"
LINE = re.compile(r"kernel-tests: (\w+) cases (\d+) variant (\d+) mismatches (\d+)")
#: Kernels with an AVX2 variant; the others must never report one.
VARIANTS = {"conv2d", "depthwise_conv2d", "linear", "matmul"}


def _has_avx2() -> bool:
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx2" in flags and " fma" in flags


def _has_avx512_vnni() -> bool:
    """What ptec_x86_has_avx512_vnni() answers (the kernel tests print it)."""
    if not _has_avx2():
        return False
    flags = set(Path("/proc/cpuinfo").read_text().split())
    return {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= flags


needs_avx2 = pytest.mark.skipif(not _has_avx2(), reason="needs an x86-64 CPU with AVX2 and FMA")


@needs_avx2
def test_int8_variants_equal_reference(seed):
    if not KERNEL_TESTS.exists():
        pytest.skip("build/host/ptec-kernel-tests is missing: run `make build-host`")
    cases = os.environ.get("PTEC_X86_CASES", "400")
    out = subprocess.run([str(KERNEL_TESTS), "--seed", str(seed), "--cases", cases],
                         capture_output=True, text=True, timeout=300).stdout
    print(out)
    assert "isa x86" in out, out
    results = {m.group(1): tuple(map(int, m.group(2, 3, 4))) for m in LINE.finditer(out)}
    assert set(results) >= VARIANTS, out
    # On an AVX-512 VNNI CPU the dispatch column runs the AVX-512 variants and the
    # variant column the AVX2 ones; int8 add and max pool have only AVX-512 variants.
    wide = "x86 dispatch avx512-vnni" in out
    assert wide == _has_avx512_vnni(), out
    expected = VARIANTS | ({"add", "max_pool2d"} if wide else set())
    for name, (n, ran, bad) in results.items():
        assert bad == 0, f"{name}: {bad} of {n} cases differ from the reference (seed {seed})"
        if name in expected:
            assert ran > n // 4, f"{name}: the x86 variant ran in only {ran} of {n} cases"
        else:
            assert ran == 0, name


def _close(got: torch.Tensor, want: torch.Tensor, terms: int, what: str) -> None:
    atol = 1e-5 * math.sqrt(max(terms, 1))
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=atol,
                               msg=lambda m: f"{what}: {m}")


def _run(module: nn.Module, inputs) -> torch.Tensor:
    program = compile_module(module, inputs)
    return ptec.load(program.buffer)(*inputs)[0]


def _random_conv(rng: random.Random) -> tuple[nn.Module, torch.Tensor, int]:
    kind = rng.choice(["pointwise", "pointwise", "general", "general", "depthwise", "1d"])
    cin = rng.choice([1, 3, 8, 16, 19, 32])
    k = rng.choice([1, 3, 3, 5]) if kind != "pointwise" else 1
    stride = rng.choice([1, 1, 2])
    pad = rng.randrange(0, k) if kind != "pointwise" else rng.choice([0, 0, 1])
    dil = rng.choice([1, 1, 2]) if k > 1 else 1
    h, w = rng.randrange(k * dil, 24), rng.randrange(k * dil, 40)
    bias = rng.random() < 0.8
    if kind == "1d":
        cout = rng.randrange(1, 40)
        conv = nn.Conv1d(cin, cout, k, stride=stride, padding=pad, dilation=dil, bias=bias)
        return conv, torch.randn(1, cin, w), cin * k
    groups, cout = 1, rng.randrange(1, 70)
    if kind == "depthwise":
        groups = cout = cin
    if kind == "pointwise":
        stride = rng.choice([1, 1, 1, 2])
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil, groups=groups,
                     bias=bias)
    n = rng.choice([1, 1, 2])
    return conv, torch.randn(n, cin, h, w), cin // groups * k * k


@needs_avx2
def test_float_convolution_random(seed):
    rng = random.Random(seed)
    for case in range(14):
        conv, x, terms = _random_conv(rng)
        conv.eval()
        with torch.no_grad():
            want = conv.double()(x.double())
        got = _run(conv.float(), (x,))
        _close(got, want, terms, f"case {case}: {conv} on {tuple(x.shape)} (seed {seed})")


class _MatMul(nn.Module):
    def __init__(self, kind: str, b: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.kind = kind
        self.register_buffer("b", b)
        self.register_buffer("bias", bias)

    def forward(self, a):
        if self.kind == "mm":
            return a @ self.b
        return torch.addmm(self.bias, a, self.b, beta=0.5, alpha=2.0)


@needs_avx2
def test_float_linear_and_matmul_random(seed):
    rng = random.Random(seed)
    for case in range(9):
        kind = ["linear", "mm", "addmm"][case % 3]
        m, k, n = rng.randrange(1, 20), rng.randrange(1, 300), rng.randrange(1, 90)
        a = torch.randn(m, k)
        if kind == "linear":
            module = nn.Linear(k, n, bias=rng.random() < 0.7).eval()
            with torch.no_grad():
                want = module.double()(a.double())
            module = module.float()
        else:
            module = _MatMul(kind, torch.randn(k, n), torch.randn(n))
            with torch.no_grad():
                want = module.double()(a.double())
            module = module.float()
        got = _run(module, (a,))
        _close(got, want, k, f"case {case}: {kind} {m}x{k} @ {k}x{n} (seed {seed})")


# ------------------------------------------------------ models vs reference build

REF_RUN = BUILD / "host-ref" / "ptec-run"


def _reference_runner() -> Path:
    if not REF_RUN.exists():
        cmake = ROOT / ".venv" / "bin" / "cmake"
        subprocess.run([str(cmake), "-S", str(ROOT / "runtime"), "-B", str(BUILD / "host-ref"),
                        "-DCMAKE_BUILD_TYPE=Release", "-DPTEC_ISA_KERNELS=OFF",
                        "-DPTEC_BUILD_SHARED=OFF"], check=True, capture_output=True)
        subprocess.run([str(cmake), "--build", str(BUILD / "host-ref"), "--target", "ptec-run",
                        "-j", "2"], check=True, capture_output=True)
    return REF_RUN


def _run_cli(runner: Path, program: bytes, inputs, tmp: Path) -> list[np.ndarray]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "m.pte").write_bytes(program)
    args = [str(runner), str(tmp / "m.pte"), "--output-dir", str(tmp)]
    for i, x in enumerate(inputs):
        np.save(tmp / f"in{i}.npy", x.contiguous().numpy())
        args += ["--input", str(tmp / f"in{i}.npy")]
    subprocess.run(args, check=True, capture_output=True)
    return [np.load(p) for p in sorted(tmp.glob("output*.npy"))]


@needs_avx2
@pytest.mark.parametrize("name", ["ds_cnn", "mobilenet_v2", "resnet18", "transformer"])
def test_models_match_reference_build(name, tmp_path, seed):
    sys.path.insert(0, str(ROOT / "examples"))
    import int8_accuracy
    from models import EXAMPLES

    host_run = Path(os.environ.get("PTEC_RUN", BUILD / "host" / "ptec-run"))
    ref_run = _reference_runner()
    model, inputs = EXAMPLES[name](**int8_accuracy.SIZES[name])
    prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
    ptec.quantize.calibrate(prepared, [inputs])
    int8 = ptec.compile(ptec.quantize.convert(prepared), inputs).buffer
    fp32 = ptec.compile(model, inputs).buffer
    for tag, program in (("int8", int8), ("fp32", fp32)):
        got = _run_cli(host_run, program, inputs, tmp_path / f"{tag}-host")
        want = _run_cli(ref_run, program, inputs, tmp_path / f"{tag}-ref")
        assert len(got) == len(want) > 0
        for g, w in zip(got, want):
            if tag == "int8" or not np.issubdtype(w.dtype, np.floating):
                assert np.array_equal(g, w), f"{name} {tag}: outputs differ from the reference"
            else:
                np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4,
                                           err_msg=f"{name} {tag} (seed {seed})")


class _Quantize(nn.Module):
    def __init__(self, scale: float, zp: int, lo: int, hi: int):
        super().__init__()
        self.args = (scale, zp, lo, hi)

    def forward(self, x):
        scale, zp, lo, hi = self.args
        return torch.ops.quantized_decomposed.quantize_per_tensor(x, scale, zp, lo, hi,
                                                                   torch.int8)


@needs_avx2
def test_quantize_matches_reference_build(tmp_path, seed):
    """quantize_per_tensor's AVX-512 row (float32 -> int8) against the reference build, bit
    for bit, on values that probe it: exact halves (ties to even), NaN (-> zero point),
    infinities, values far outside the range, -0.0, and lengths with a masked tail."""
    import torch.ao.quantization.fx._decomposed  # noqa: F401  (registers quantized_decomposed)

    rng = np.random.default_rng(seed)
    ref_run = _reference_runner()
    host_run = Path(os.environ.get("PTEC_RUN", BUILD / "host" / "ptec-run"))
    for case in range(4):
        scale = float(rng.choice([0.05, 0.1, 1 / 3, 0.0078125]))
        zp, lo, hi = int(rng.integers(-20, 20)), int(rng.choice([-128, -100])), 127
        n = int(rng.integers(1, 200))
        x = rng.normal(0, 4, n).astype(np.float32)
        halves = (rng.integers(-300, 300, n) + 0.5).astype(np.float32) * np.float32(scale)
        x = np.where(rng.random(n) < 0.3, halves, x)
        special = np.array([np.nan, np.inf, -np.inf, -0.0, 1e30, -1e30], dtype=np.float32)
        x[: min(n, 6)] = special[: min(n, 6)]
        inputs = (torch.from_numpy(x),)
        program = ptec.compile(_Quantize(scale, zp, lo, hi), inputs).buffer
        got = _run_cli(host_run, program, inputs, tmp_path / f"{case}-host")
        want = _run_cli(ref_run, program, inputs, tmp_path / f"{case}-ref")
        assert got[0].dtype == np.int8 and np.array_equal(got[0], want[0]), \
            f"case {case} (seed {seed}): {np.flatnonzero(got[0] != want[0])[:8]}"
