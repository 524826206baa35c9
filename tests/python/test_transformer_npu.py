"""Transformer blocks on TOSA INT (and so on the NPU): softmax, log_softmax,
layer norm and GLU decomposed as ExecuTorch's Arm backend does
(ptec.quant.decompose), GELU/SiLU/sigmoid/tanh/hardswish as TABLEs.

* The host's integer program and the TOSA delegate of the same converted
  model are equal bit for bit (one arithmetic: ptec::quantized_sub,
  quantized_mean, table, ... on the host; RESCALE, SUB, REDUCE_SUM, TABLE ...
  in the delegate).
* Each function compiles to one delegate (only the input quantize and the
  output dequantize stay on the CPU), and its results are within one output
  step of the fake-quantized model evaluated exactly (float64_reference).
* The int8 transformer example is one delegate on tosa-int and on
  ethos-u85-256 (plus the token embedding, which reads int64 ids), the TOSA
  executor and the simulated NPU equal to the host bit for bit; its SQNR
  against fp32 is printed and bounded.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import ptec
from program_builder import Input, Out, run_op
from ptec.quant import tosa_math as tm
from ptec.quant.reference import float64_reference
from ptec.report import DELEGATE, runs_on

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from models import EXAMPLES  # noqa: E402

QUANTIZE = "quantized_decomposed::quantize_per_tensor.out"
DEQUANTIZE = "quantized_decomposed::dequantize_per_tensor.out"


# ------------------------------------------------------------ quantized_sub

def _sub_model(a, b, a_zp, am, ash, b_zp, bm, bsh, out_zp, om, osh, lo, hi):
    va = tm.apply_scale_32(a.astype(np.int64) - a_zp, am, ash)
    vb = tm.apply_scale_32(b.astype(np.int64) - b_zp, bm, bsh)
    diff = np.clip(va - vb, -(1 << 31), (1 << 31) - 1)
    return np.clip(tm.apply_scale_32(diff, om, osh) + out_zp, lo, hi)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_quantized_sub_kernel_matches_its_model(seed, dtype):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    for _ in range(4):
        a = rng.integers(info.min, info.max + 1, (3, 5, 8)).astype(dtype)
        b = rng.integers(info.min, info.max + 1, (3, 5, 1)).astype(dtype)  # broadcast row
        s_a, s_b, s_out = (float(v) for v in rng.uniform(0.002, 0.05, size=3))
        (am, ash), (bm, bsh), (om, osh) = ptec.quant.params.add_params(s_a, s_b, s_out, dtype)
        zps = [int(v) for v in rng.integers(-20, 20, size=3)] if dtype == np.int8 else [0, 0, 0]
        lo, hi = int(info.min) + 3, int(info.max) - 5
        params = [zps[0], am, ash, zps[1], bm, bsh, zps[2], om, osh, lo, hi]
        want = _sub_model(a, b, *params)
        got = run_op("ptec::quantized_sub.out", [Input(a), Input(b), *params,
                                                 Out(want.shape, dtype)])
        np.testing.assert_array_equal(got, want)
        real = ((a.astype(np.float64) - zps[0]) * s_a - (b.astype(np.float64) - zps[1]) * s_b)
        inside = (want > lo) & (want < hi)
        assert np.all(np.abs(want - zps[2] - real / s_out)[inside] <= 1.0)


# ------------------------------------------------------------ one function each

class Block(nn.Module):
    """A linear layer (so the function reads a quantized tensor), the function,
    and a linear layer after it."""

    def __init__(self, fn: nn.Module, width: int = 16, inner: int = 16):
        super().__init__()
        self.pre, self.fn, self.post = nn.Linear(width, inner), fn, nn.Linear(
            inner // 2 if isinstance(fn, nn.GLU) else inner, width)

    def forward(self, x):
        return self.post(self.fn(self.pre(x)))


class Tables(nn.Module):
    """GELU, SiLU, sigmoid, tanh, hardswish in a row: one TABLE each."""

    def forward(self, x):
        return nn.functional.hardswish(torch.tanh(torch.sigmoid(
            nn.functional.silu(nn.functional.gelu(x))) * 4.0 - 2.0))


class Branches(nn.Module):
    """Several functions of one input, summed: one compile tests them all."""

    def __init__(self, *fns: nn.Module):
        super().__init__()
        self.fns = nn.ModuleList(fns)

    def forward(self, x):
        return sum(fn(x) for fn in self.fns)


class HalfGLU(nn.Module):
    """GLU over the last dim, concatenated back to the input's width."""

    def forward(self, x):
        y = nn.functional.glu(x, -1)
        return torch.cat([y, y], -1)


FUNCTIONS = {
    "softmax_log_softmax": lambda: Branches(nn.Softmax(-1), nn.LogSoftmax(-1)),
    "layer_norm_glu_tables": lambda: Branches(nn.LayerNorm(16), HalfGLU(), Tables()),
}


def _steps(program, got, want) -> np.ndarray:
    """|got - want| in steps of the program's output scale."""
    plan = program.program.execution_plan[0]
    last = plan.chains[0].instructions[-1].instr_args
    step = float(plan.values[last.args[1]].val.double_val)
    return np.round(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64)) / step)


def _sqnr(reference: np.ndarray, got: np.ndarray) -> float:
    noise = float(((got - reference) ** 2).sum())
    return 10 * np.log10(float((reference ** 2).sum()) / max(noise, 1e-30))


def _both(converted, inputs):
    host = ptec.compile(converted, inputs)
    tosa = ptec.compile(converted, inputs, target="tosa-int")
    return host, tosa


def _cpu_ops(program) -> list[str]:
    return [i.operator for i in program.instructions if runs_on(i) != DELEGATE]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_is_one_delegate_bit_exact_with_the_host(seed, name):
    torch.manual_seed(seed)
    model = Block(FUNCTIONS[name]()).eval()
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    x = torch.randn(2, 6, 16)
    config = ptec.Int8(observer="minmax", tosa_friendly=True)
    converted = ptec.quantize.quantize(
        model, (x,), ptec.Int8(calibration=[(torch.randn(2, 6, 16),) for _ in range(2)],
                               observer="minmax", tosa_friendly=config.tosa_friendly))
    host, tosa = _both(converted, (x,))
    assert sum(runs_on(i) == DELEGATE for i in tosa.instructions) == 1, tosa.report()
    assert _cpu_ops(tosa) == [QUANTIZE, DEQUANTIZE], tosa.report()
    exact = float64_reference(converted)
    for _ in range(3):
        t = torch.randn(2, 6, 16)
        want = np.asarray(ptec.load(host.buffer)(t)[0])
        got = np.asarray(ptec.load(tosa.buffer)(t)[0])
        np.testing.assert_array_equal(got, want)
        assert _steps(host, want, exact(t).numpy()).max() <= 1


def test_a16w8_chain_is_one_delegate_bit_exact_with_the_host(seed):
    """int16 activations: the functions are TOSA's 513-entry int16 TABLEs
    (ptec.quant.lower.table16) and RESCALEs; interpolation between samples 128
    codes apart keeps them within a few int16 steps of the fake-quantized model."""
    torch.manual_seed(seed)
    model = Block(nn.Sequential(nn.LayerNorm(16), Tables(), nn.Linear(16, 16),
                                nn.Softmax(-1))).eval()
    x = torch.randn(2, 6, 16)
    converted = ptec.quantize.quantize(model, (x,), ptec.A16W8(
        calibration=[(torch.randn(2, 6, 16),) for _ in range(2)], observer="minmax",
        tosa_friendly=True))
    host, tosa = _both(converted, (x,))
    assert _cpu_ops(tosa) == [QUANTIZE, DEQUANTIZE], tosa.report()
    assert "ptec::table.out" in {i.operator for i in host.instructions}
    # One NPU delegate too; Vela writes some int16 TABLEs as TANH/SIGMOID LUT
    # activations the simulator does not model, so the TOSA executor is the check.
    npu = ptec.compile(converted, (x,), target="ethos-u85-256")
    assert _cpu_ops(npu) == [QUANTIZE, DEQUANTIZE], npu.report()
    t = torch.randn(2, 6, 16)
    want = np.asarray(ptec.load(host.buffer)(t)[0])
    np.testing.assert_array_equal(np.asarray(ptec.load(tosa.buffer)(t)[0]), want)
    assert _steps(host, want, float64_reference(converted)(t).numpy()).max() <= 16
    with torch.no_grad():
        fp32 = model(t).numpy()
    print(f"\na16w8 layer norm, tables, softmax: SQNR {_sqnr(fp32, want):.1f} dB vs fp32")
    assert _sqnr(fp32, want) >= 30.0


def test_ptec_compile_decomposes_for_tosa_targets_only():
    """ptec.compile(..., quantize=ptec.Int8()) picks the form by target: the
    exact fused kernels on the CPU, the decomposition for TOSA."""
    torch.manual_seed(0)
    model = Block(nn.Softmax(-1)).eval()
    x = torch.randn(2, 6, 16)
    host = ptec.compile(model, (x,), quantize=ptec.Int8(observer="minmax"))
    tosa = ptec.compile(model, (x,), target="tosa-int", quantize=ptec.Int8(observer="minmax"))
    assert "ptec::quantized_softmax.out" in {i.operator for i in host.instructions}
    assert _cpu_ops(tosa) == [QUANTIZE, DEQUANTIZE], tosa.report()


# ------------------------------------------------------------ the int8 transformer

def test_int8_transformer_is_one_npu_delegate_bit_exact_with_the_host():
    model, inputs = EXAMPLES["transformer"]()
    g = torch.Generator().manual_seed(0)

    def tokens():
        return (torch.randint(0, 1000, inputs[0].shape, generator=g),)

    converted = ptec.quantize.quantize(model, inputs, ptec.Int8(
        calibration=[tokens() for _ in range(3)], observer="minmax", tosa_friendly=True))
    # host == tosa-int for this model: test_tosa_lowering.py's example test
    host = ptec.compile(converted, inputs)
    npu = ptec.compile(converted, inputs, target="ethos-u85-256")
    for program in (npu,):
        assert sum(runs_on(i) == DELEGATE for i in program.instructions) == 1, program.report()
        # The token embedding reads int64 ids, which TOSA has no type for.
        assert _cpu_ops(program) == ["aten::embedding.out", QUANTIZE, DEQUANTIZE], program.report()
    exact = float64_reference(converted)
    runners = [ptec.load(npu.buffer, target="ethos-u85-256")]
    steps, outs, refs = [], [], []
    for _ in range(2):
        t = tokens()
        want = np.asarray(ptec.load(host.buffer)(*t)[0])
        for run in runners:  # the simulated Ethos-U85
            np.testing.assert_array_equal(np.asarray(run(*t)[0]), want)
        steps.append(_steps(host, want, exact(*t).numpy()))
        outs.append(want)
        with torch.no_grad():
            refs.append(model(*t).numpy())
    sqnr = _sqnr(np.concatenate(refs).astype(np.float64), np.concatenate(outs))
    within = float(np.mean(np.concatenate(steps) <= 1))
    print(f"\nint8 transformer on ethos-u85-256: 1 NPU delegate, {within:.2%} within 1 step of the "
          f"fake-quantized model, SQNR {sqnr:.1f} dB vs fp32")
    assert within >= 0.99
    assert sqnr >= 20.0
