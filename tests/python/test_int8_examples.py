"""The four example models in int8 on the C runtime (examples/int8_accuracy.py).

Each model is quantized with ptec.Int8 (calibration and held-out inputs drawn
from the test's seed), compiled, lowered to integer kernels and run on the C
runtime. Its output must agree with the fake-quantized model evaluated
exactly (ptec.quant.reference) within one output step on at least 99% of the
elements: the integer kernels compute what that model computes, rounding
aside, so a larger disagreement is a lowering or kernel bug, not
quantization noise. The SQNR against the fp32 model is printed (pytest -s);
it measures the quantization itself and only has a loose floor here.

The models run at int8_accuracy.SIZES (~20 s each). The last tests cover
what the transformer needed to pass: the softmax's Q30 exp table (kernel
against its model and the exact softmax, extremes under ASan/UBSan) and the
whole int8 transformer in the sanitized runner.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
import tosa_ref as R
from program_builder import Const, Input, Out, build, run_op
from ptec.quant.lower.softmax import EXP_TABLE_BITS, exp_table
from ptec.quant.tosa_math import compute_multiplier_and_shift
from test_quantized_kernels import _run_sanitized

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import int8_accuracy  # noqa: E402
from models import EXAMPLES  # noqa: E402

RUNNER = Path(os.environ.get("PTEC_RUN_ASAN", ROOT / "build" / "asan" / "ptec-run"))

#: Fraction of output elements within one step of the exact fake-quantized model.
MIN_WITHIN_ONE_STEP = 0.99

#: Ops each program keeps in float. The transformer's token embedding reads the
#: int64 token ids, which are not a quantized tensor (PT2E leaves the lookup in
#: float and quantizes its result); everything else lowers.
FLOAT_FALLBACKS = {
    "mobilenet_v2": [],
    "resnet18": [],
    "ds_cnn": [],
    "transformer": ["aten::embedding.out"],
}

#: Integer kernels each model must use: its arithmetic, not only data movement.
INTEGER_KERNELS = {
    "mobilenet_v2": {"ptec::quantized_conv2d", "ptec::quantized_add", "ptec::quantized_mean",
                     "ptec::quantized_linear"},
    "resnet18": {"ptec::quantized_conv2d", "ptec::quantized_add", "ptec::quantized_max_pool2d",
                 "ptec::quantized_mean", "ptec::quantized_linear"},
    "ds_cnn": {"ptec::quantized_conv2d", "ptec::quantized_mean", "ptec::quantized_linear"},
    "transformer": {"ptec::quantized_linear", "ptec::quantized_matmul", "ptec::rescale",
                    "ptec::quantized_softmax", "ptec::quantized_add", "ptec::quantized_layer_norm",
                    "ptec::table", "ptec::quantized_mean"},
}

#: SQNR against fp32 below which the quantization itself is broken (a wrong
#: scale gives ~0 dB). The random-weight models measure 16-36 dB; MobileNetV2's
#: random BatchNorm statistics make it the lowest (docs/quantization.md).
MIN_SQNR_DB = 10.0


def test_every_example_is_covered():
    assert set(FLOAT_FALLBACKS) == set(INTEGER_KERNELS) == set(EXAMPLES)
    assert set(int8_accuracy.SIZES) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_int8_example_agrees_with_fake_quantized_model(name, seed):
    r = int8_accuracy.evaluate(name, seed=seed)
    print("\n" + int8_accuracy.table_header() + "\n" + int8_accuracy.table_row(r))
    for note in int8_accuracy.fallback_notes([r]):
        print("  " + note)

    missing = INTEGER_KERNELS[name] - r.integer_operators
    assert not missing, f"{name}: no integer call to {sorted(missing)}\n{r.report}"
    assert [f.operator for f in r.fallbacks] == FLOAT_FALLBACKS[name], (
        f"{name}: float fallbacks\n{r.report}")

    assert r.within_one_exact >= MIN_WITHIN_ONE_STEP, (
        f"{name}: {100 * r.within_one_exact:.2f}% of {r.elements} outputs within one step "
        f"of the exact fake-quantized model ({100 * r.bit_exact:.2f}% equal)\n{r.report}")
    assert r.sqnr_db >= MIN_SQNR_DB, f"{name}: SQNR vs fp32 {r.sqnr_db:.1f} dB"
    assert r.int8_pte_bytes < r.fp32_pte_bytes


# ------------------------------------------------------------------ softmax

def _softmax_case(x: np.ndarray, in_scale: float, out_scale: float, zp: int = -128):
    """The lowering's softmax call on int8 rows x (last dim), and the model's result."""
    table = exp_table(in_scale, EXP_TABLE_BITS).numpy()
    m, s = compute_multiplier_and_shift(1.0 / out_scale)
    args = [Input(x), -1, Const(table), m, s, zp, -128, 127, Out(x.shape, np.int8)]
    return args, R.quantized_softmax(x, -1, table, m, s, zp, -128, 127)


def test_softmax_table_of_the_lowering_is_exact(seed):
    """With the lowering's Q30 table the kernel is its model bit for bit and
    equals round(softmax / s_out) of the exact softmax (a Q15 table misses
    ~0.05% of these, and the transformer example amplifies such misses)."""
    rng = np.random.default_rng(seed)
    for in_scale, out_scale in [(0.05, 1 / 256), (0.3, 1 / 255), (0.01, 0.0039)]:
        x = rng.integers(-128, 128, size=(256, 16)).astype(np.int8)
        args, expected = _softmax_case(x, in_scale, out_scale)
        got = run_op("ptec::quantized_softmax.out", args).astype(np.int64)
        np.testing.assert_array_equal(got, expected)
        real = torch.softmax(torch.from_numpy(x.astype(np.float64)) * in_scale, -1).numpy()
        exact = np.clip(np.round(real / out_scale) - 128, -128, 127)
        # Only a value within ~2^-30 of a rounding midpoint may differ.
        assert np.abs(got - exact).max() <= 1
        assert np.mean(got == exact) >= 0.999, f"{np.mean(got == exact):.5f} equal"


def test_softmax_q30_extremes_under_sanitizers(seed, tmp_path):
    """The largest products the Q30 table allows: T = 2^30 on every entry of
    a 65536-long row (S = 2^46) times a multiplier near 2^31, under UBSan."""
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")
    rng = np.random.default_rng(seed)
    cases = {
        "flat": (np.full((1, 1 << 16), 7, dtype=np.int8), 0.05, 0.99 / (1 << 16)),
        "random": (rng.integers(-128, 128, size=(8, 300)).astype(np.int8), 0.1, 1 / 256),
    }
    for name, (x, in_scale, out_scale) in cases.items():
        args, expected = _softmax_case(x, in_scale, out_scale)
        result = _run_sanitized(build("ptec::quantized_softmax.out", args), tmp_path, name)
        assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, \
            f"{name}: {result.stderr}"
        assert result.returncode == 0, f"{name}: {result.stderr}"
        got = np.load(tmp_path / name / "output0.npy").astype(np.int64)
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_int8_transformer_under_sanitizers(seed, tmp_path):
    """The int8 transformer (softmax, layer norm, tables, matmuls) in the
    ASan/UBSan runner gives the ctypes runtime's result bit for bit."""
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")
    model, inputs = EXAMPLES["transformer"](**int8_accuracy.SIZES["transformer"])
    g = torch.Generator().manual_seed(seed)
    calibration = [tuple(int8_accuracy._random_like(t, g) for t in inputs) for _ in range(4)]
    program = ptec.compile(model, inputs, quantize=ptec.Int8(calibration=calibration))
    path = tmp_path / "transformer_int8.pte"
    program.save(path)
    (tokens,) = calibration[0]
    np.save(tmp_path / "in0.npy", tokens.numpy())
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    result = subprocess.run([str(RUNNER), str(path), "--input", str(tmp_path / "in0.npy"),
                             "--output-dir", str(tmp_path)],
                            capture_output=True, text=True, errors="replace", timeout=300,
                            env=env)
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    (expected,) = ptec.load(program.buffer)(tokens)
    np.testing.assert_array_equal(np.load(tmp_path / "output0.npy"), np.asarray(expected))
