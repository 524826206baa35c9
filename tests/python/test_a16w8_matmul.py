"""int16 x int16 attention matmuls (ptec::quantized_matmul16, a16w8_matmul).

* The host kernel is TOSA's EXT-INT16 MATMUL (int48 accumulator) followed by a
  scale16 RESCALE to int16, equal to tosa_ref.quantized_matmul16 on random
  shapes, broadcast batches, strided operands, zero points and scales; bad
  parameters are refused by name.
* A quantized int16 `a @ b` compiled for the host and for tosa-int: the host
  kernel, ptec's TOSA executor and Arm's TOSA reference model (on the delegate
  as written into the .pte) give the same integers; the host program also runs
  on the emulated Cortex-M55 (the kernel is plain C on every target: no ISA
  variant has int16 operands) and under ASan + UBSan.
* The 2-layer Conformer and the DeiT-class ViT with their attention layers in
  int16 (q @ k^T and p @ v int16 x int16): one delegate on tosa-int and one NPU
  delegate on ethos-u85-256, host == TOSA executor == simulated U85 bit for bit,
  SQNR against fp32 printed and bounded (30.7 and 30.4 dB at seed 0).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import ptec
import tosa_ref as R
from program_builder import Const, Input, Out, build, run, run_op
from ptec.quant import tosa_math as tm
from ptec.report import DELEGATE, runs_on
from ptec.runtime import PtecError
from ptec.tosa import read_graph
from test_quantized_kernels import _run_sanitized
from test_tosa_reference_model import reference_run, tools  # noqa: F401 (fixture)
from test_vit_npu import DeiT, _sqnr

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import conformer as C  # noqa: E402

OP = "ptec::quantized_matmul16.out"
QUANTIZE = "quantized_decomposed::quantize_per_tensor.out"
DEQUANTIZE = "quantized_decomposed::dequantize_per_tensor.out"


# ------------------------------------------------------------- the kernel

def _operands(rng, sub: int):
    m, k, n = (int(v) for v in rng.integers(1, 10, size=3))
    batch_a = [[], [2], [3, 1], [1, 2], [2, 2]][sub % 5]
    batch_b = [[2], [], [1, 4], [3, 1, 2], [2, 2]][sub % 5]
    a = rng.integers(-32768, 32768, (*batch_a, m, k)).astype(np.int16)
    b = rng.integers(-32768, 32768, (*batch_b, k, n)).astype(np.int16)
    return a, b


def test_kernel_equals_tosa_matmul_and_scale16_rescale(seed):
    rng = np.random.default_rng(seed)
    for sub in range(16):
        a, b = _operands(rng, sub)
        # zero points: TOSA's 0 mostly, extremes and random ones on the host
        a_zp, b_zp, out_zp = ([0, 0, 0] if sub % 4 else
                              [int(v) for v in rng.integers(-32768, 32768, 3)])
        acc = np.matmul(a.astype(np.int64) - a_zp, b.astype(np.int64) - b_zp)
        rms = max(float(np.sqrt(np.mean(np.square(acc, dtype=np.float64)))), 1.0)
        # outputs at ~8000 steps RMS (typical), saturating (x 30), or fixed shifts
        scale = 8000.0 / rms * (30.0 if sub % 3 == 1 else 1.0)
        mult, shift = tm.compute_multiplier_and_shift(scale, 15)
        if sub % 5 == 4:
            mult, shift = int(rng.integers(1, 1 << 15)), int(rng.choice([2, 40, 62]))
        expected = R.quantized_matmul16(a, b, a_zp, b_zp, mult, shift, out_zp)
        assert expected.min() >= -32768 and expected.max() <= 32767
        # b with K innermost in memory (k^T as attention has it), or row-major
        order = list(range(b.ndim))
        if sub % 2:
            order[-2:] = order[-1], order[-2]
        got = run_op(OP, [Input(a), Const(b, order), a_zp, b_zp, mult, shift, out_zp,
                          Out(expected.shape, np.int16)])
        np.testing.assert_array_equal(got, expected, err_msg=f"sub {sub}")


def test_kernel_saturates_beyond_int32_as_the_tosa_executor():
    """(acc * m + round) >> shift beyond int32 (TOSA: unpredictable) saturates to
    int32, then the int16 clamp: the executor's RESCALE of an INT48 value."""
    a = np.full((1, 64), 32767, np.int16)
    b = np.full((64, 2), -32768, np.int16)
    b[:, 1] = 32767
    expected = R.quantized_matmul16(a, b, 0, 0, (1 << 15) - 1, 2, -5)
    assert list(expected[0]) == [-32768, 32767]
    got = run_op(OP, [Input(a), Const(b), 0, 0, (1 << 15) - 1, 2, -5, Out((1, 2), np.int16)])
    np.testing.assert_array_equal(got, expected)
    # An accumulator beyond int48 (zero points -32768 make every term ~2^32; 40000
    # terms ~1.7e14 > 2^47) saturates there first: 2^47 >> 33 = 16384, not ~20000.
    a, b = np.full((1, 40000), 32767, np.int16), np.full((40000, 1), 32767, np.int16)
    expected = R.quantized_matmul16(a, b, -32768, -32768, 1, 33, 0)
    assert expected[0, 0] == 16384
    got = run_op(OP, [Input(a), Const(b), -32768, -32768, 1, 33, 0, Out((1, 1), np.int16)])
    np.testing.assert_array_equal(got, expected)


def test_kernel_under_sanitizers(seed, tmp_path):
    """Random cases and a refused parameter in the ASan + UBSan runner."""
    rng = np.random.default_rng(seed)
    for sub in range(3):
        a, b = _operands(rng, sub)
        expected = R.quantized_matmul16(a, b, 0, 0, 1 << 14, 28, 0)
        result = _run_sanitized(build(OP, [Input(a), Const(b, [*range(b.ndim - 2), b.ndim - 1,
                                                                b.ndim - 2]), 0, 0, 1 << 14, 28,
                                           0, Out(expected.shape, np.int16)]),
                                tmp_path, f"case{sub}")
        assert result.returncode == 0 and "runtime error" not in result.stderr, result.stderr
        np.testing.assert_array_equal(np.load(tmp_path / f"case{sub}" / "output0.npy"), expected)
    result = _run_sanitized(build(OP, _args(m=1 << 15)), tmp_path, "bad")
    assert result.returncode != 0 and "[1, 2^15)" in result.stderr + result.stdout
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr


def _args(**change):
    args = dict(a=Input(np.zeros((2, 3, 4), np.int16)), b=Const(np.ones((4, 5), np.int16)),
                a_zp=0, b_zp=0, m=1 << 14, s=20, out_zp=0, out=Out((2, 3, 5), np.int16))
    args.update(change)
    return list(args.values())


@pytest.mark.parametrize("change, status, words", [
    (dict(a=Input(np.zeros((2, 3, 4), np.int8))), "PTEC_STATUS_TYPE_MISMATCH", "a has dtype"),
    (dict(b=Const(np.ones((4, 5), np.int8))), "PTEC_STATUS_TYPE_MISMATCH", "b has dtype"),
    (dict(out=Out((2, 3, 5), np.int8)), "PTEC_STATUS_TYPE_MISMATCH", "out has dtype"),
    (dict(m=1 << 15), "PTEC_STATUS_OUT_OF_RANGE", "[1, 2^15)"),
    (dict(m=0), "PTEC_STATUS_OUT_OF_RANGE", "[1, 2^15)"),
    (dict(s=1), "PTEC_STATUS_OUT_OF_RANGE", "[2, 62]"),
    (dict(s=63), "PTEC_STATUS_OUT_OF_RANGE", "[2, 62]"),
    (dict(a_zp=32768), "PTEC_STATUS_OUT_OF_RANGE", "a_zp"),
    (dict(out_zp=-32769), "PTEC_STATUS_OUT_OF_RANGE", "output_zp"),
    (dict(b=Const(np.ones((3, 5), np.int16))), "PTEC_STATUS_SHAPE_MISMATCH", "columns"),
    (dict(out=Out((2, 3, 4), np.int16)), "PTEC_STATUS_SHAPE_MISMATCH", "out"),
    (dict(b=Const(np.ones((3, 4, 5), np.int16))), "PTEC_STATUS_SHAPE_MISMATCH", "broadcast"),
])
def test_kernel_refuses_bad_parameters(change, status, words):
    with pytest.raises(PtecError) as info:
        run(build(OP, _args(**change)))
    assert info.value.status == status and words in info.value.message, info.value


# ------------------------------------------ host == TOSA executor == reference

def _check_int16_matmuls(graph, count: int) -> None:
    """`count` MATMULs, all int16 -> INT48, each read by one per-tensor scale16
    RESCALE (Vela 5.2.0 applies column 0's scale to every column of a
    per-channel RESCALE after a U85 MATMUL; activations are per tensor anyway)."""
    matmuls = [op for op in graph.operators if op.op.name == "MATMUL"]
    assert len(matmuls) == count, [op.op.name for op in graph.operators]
    for mm in matmuls:
        assert graph.tensors[mm.inputs[0]].dtype.name == "INT16"
        (acc,) = mm.outputs
        assert graph.tensors[acc].dtype.name == "INT48"
        (rescale,) = [op for op in graph.operators if acc in (op.inputs or [])]
        assert rescale.op.name == "RESCALE"
        assert not rescale.attribute.per_channel and not rescale.attribute.scale32
        assert graph.tensors[rescale.inputs[1]].data.size == 1


class Attention(nn.Module):
    """q @ k^T and p @ v shapes: [B, H, T, D] operands, k transposed."""

    def forward(self, q, k, v):
        return torch.matmul(torch.matmul(q, k.transpose(-1, -2)) * 0.25, v)


def test_int16_matmuls_host_tosa_executor_reference_model(seed, tools, tmp_path):  # noqa: F811
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    b, h, t, d = (int(v) for v in (rng.integers(1, 3), rng.integers(1, 4),
                                   rng.integers(2, 12), rng.integers(2, 17)))
    shape = (b, h, t, d)
    inputs = tuple(torch.randn(shape, generator=g) for _ in range(3))
    cal = [tuple(torch.randn(shape, generator=g) * rng.uniform(0.5, 3) for _ in range(3))
           for _ in range(3)]
    converted = ptec.quantize.quantize(Attention(), inputs, ptec.A16W8(calibration=cal,
                                                                       observer="minmax"))
    host = ptec.compile(converted, inputs, integer_io=True)
    tosa = ptec.compile(converted, inputs, target="tosa-int", integer_io=True)
    assert [i.operator for i in host.instructions].count(OP) == 2, host.report()
    assert [runs_on(i) for i in tosa.instructions] == [DELEGATE], tosa.report()
    (blob,) = tosa.program.backend_delegate_data
    graph = read_graph(blob.data)
    _check_int16_matmuls(graph, 2)
    codes = [rng.integers(-32768, 32768, shape).astype(np.int16) for _ in range(3)]
    tensors = [torch.from_numpy(c) for c in codes]
    want = np.asarray(ptec.load(host.buffer)(*tensors)[0])
    got = np.asarray(ptec.load(tosa.buffer)(*tensors)[0])
    by_name = dict(zip(("in_q", "in_k", "in_v"), codes))  # the delegate's inputs are named
    assert sorted(graph.inputs) == sorted(by_name), graph.inputs
    (ref,) = reference_run(tools, graph, [by_name[n] for n in graph.inputs], tmp_path)
    print(f"\nint16 attention matmuls {shape}: host == TOSA executor == reference model")
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ref.reshape(want.shape), want)
    assert np.unique(want).size > 10  # not a saturated or constant result
    # the host program (the kernel's plain C loop) on the emulated Cortex-M55 too
    m55 = np.asarray(ptec.load(host.buffer, target="cortex-m55")(*tensors)[0])
    np.testing.assert_array_equal(m55, want)


# ------------------------------------------------ models with int16 attention

#: Every layer of the test's DeiT-class ViT: what a16w8="auto" picks at 50 dB
#: (listed, to spare the test the per-layer measurement).
VIT_LAYERS = ["", "patch_embed", "norm", "head"] + [
    f"blocks.{b}{part}" for b in (0, 1)
    for part in ("", ".norm1", ".attn", ".norm2", ".fc1", ".fc2")]
#: The Conformer's layers a16w8="auto" picks at 40 dB (test_a16w8_per_layer)
#: and both attention blocks.
CONFORMER_LAYERS = ["", "layers.0", "layers.1", "layers.1.ffn1", "layers.1.final_norm",
                    "layers.0.attn", "layers.1.attn"]
SMALL = dict(d_model=32, ffn_dim=64, kernel_size=15)
NPU = "ethos-u85-256"


def _compiled(converted, inputs) -> dict:
    """The host, tosa-int and U85 programs of one converted model, each checked
    to be one delegate with only `cpu` outside it."""
    return {"host": ptec.compile(converted, inputs),
            "tosa-int": ptec.compile(converted, inputs, target="tosa-int"),
            NPU: ptec.compile(converted, inputs, target=NPU)}


def _check_programs(programs: dict, cpu: list[str], matmuls: int) -> None:
    host = [i.operator for i in programs["host"].instructions]
    assert host.count(OP) == matmuls and "ptec::quantized_matmul.out" not in host
    for target in ("tosa-int", NPU):
        p = programs[target]
        assert sum(runs_on(i) == DELEGATE for i in p.instructions) == 1, p.report()
        assert [i.operator for i in p.instructions if runs_on(i) != DELEGATE] == cpu, p.report()
    (blob,) = programs["tosa-int"].program.backend_delegate_data
    _check_int16_matmuls(read_graph(blob.data), matmuls)


def _outputs(programs: dict, inputs: list) -> dict:
    """Each program's outputs on `inputs` (the U85 one on the simulator)."""
    runs = {"host": ptec.load(programs["host"].buffer),
            "tosa-int": ptec.load(programs["tosa-int"].buffer),
            NPU: ptec.load(programs[NPU].buffer, target=NPU)}
    return {name: np.stack([np.asarray(run(*x)[0]) for x in inputs]) for name, run in runs.items()}


@pytest.fixture(scope="module")
def vit():
    seed = 0
    print(f"\n[seed] DeiT-class ViT weights, calibration and inputs: {seed}")
    torch.manual_seed(seed)
    model = DeiT().eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, 32, 32, generator=g)
    # 32 calibration images: with 4, minmax ranges clip the test images' layer-norm
    # reciprocal square roots and patch embeddings, which then dominate the error
    cal = [(torch.randn(1, 3, 32, 32, generator=g),) for _ in range(32)]
    converted = ptec.quantize.quantize(model, (x,), ptec.Int8(
        calibration=cal, observer="minmax", tosa_friendly=True, a16w8=VIT_LAYERS))
    tests = [(torch.randn(1, 3, 32, 32, generator=g),) for _ in range(4)]
    return model, converted, _compiled(converted, (x,)), tests


def test_vit_int16_attention_one_delegate_host_tosa_u85_equal(vit):
    model, converted, programs, tests = vit
    assert "blocks.0.attn, 2 int16 x int16 matmuls" in converted.ptec_a16w8.describe()
    _check_programs(programs, [QUANTIZE, "aten::clone.out", DEQUANTIZE], matmuls=4)
    outs = _outputs(programs, tests)
    np.testing.assert_array_equal(outs["tosa-int"], outs["host"])
    np.testing.assert_array_equal(outs[NPU], outs["host"])
    with torch.no_grad():
        fp32 = np.stack([model(*x).numpy() for x in tests])
    db = _sqnr(fp32, outs["host"])
    print(f"DeiT-class ViT, every layer int16 with int16 x int16 attention matmuls: "
          f"{db:.1f} dB vs fp32 on 4 inputs (32 calibration images); host == TOSA executor "
          f"== simulated {NPU}")
    assert db >= 27.0  # 30.7 dB at seed 0


@pytest.fixture(scope="module")
def conformer():
    seed = 0
    print(f"\n[seed] Conformer weights, calibration and inputs: {seed}")
    model, inputs = C.conformer(2, 0.3, seed, **SMALL)
    g = torch.Generator().manual_seed(seed + 1)
    cal = [(torch.randn(inputs[0].shape, generator=g),),
           (C.log_mel(C.synthetic_audio(0.3, seed))[:, : inputs[0].shape[1]],)]
    converted = ptec.quantize.quantize(model, inputs, ptec.Int8(
        calibration=cal, observer="minmax", tosa_friendly=True, a16w8=CONFORMER_LAYERS))
    tests = [(C.log_mel(C.synthetic_audio(0.3, seed + k))[:, : inputs[0].shape[1]],)
             for k in (7, 8)]
    return model, converted, _compiled(converted, inputs), tests


def test_conformer_int16_attention_one_delegate_host_tosa_u85_equal(conformer):
    model, converted, programs, tests = conformer
    assert "layers.1.attn, 2 int16 x int16 matmuls" in converted.ptec_a16w8.describe()
    _check_programs(programs, [QUANTIZE, DEQUANTIZE], matmuls=4)
    outs = _outputs(programs, tests)
    np.testing.assert_array_equal(outs["tosa-int"], outs["host"])
    np.testing.assert_array_equal(outs[NPU], outs["host"])
    with torch.no_grad():
        fp32 = np.stack([model(*x).numpy() for x in tests])
    db = C.sqnr_db(fp32, outs["host"])
    print(f"Conformer 2 layers d 32: {len(CONFORMER_LAYERS)} layers int16 with int16 x int16 "
          f"attention matmuls: {db:.1f} dB vs fp32 (frame-centred) on 2 inputs; host == TOSA "
          f"executor == simulated {NPU}")
    assert db >= 28.0  # 30.4 dB at seed 0
