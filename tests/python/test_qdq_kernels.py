"""The quantize/dequantize kernels (runtime/src/kernels/quantized/op_quantize.c,
op_dequantize.c) against PyTorch's quantized_decomposed ops, bit for bit.

Each test builds a one-op module, compiles it with ptec.compile, runs it in
the C runtime and compares with the op run in PyTorch eager: integer
results must be equal, float results equal bit for bit. Parameters and
shapes are random from the `seed` fixture; the values include exact halves
(round half to even), saturation on both sides and infinities. Bad static
parameters must be refused when the method is initialised (at load), not at
the first run.
"""
from __future__ import annotations

import importlib.util
import math
import os
import random
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.ao.quantization.fx._decomposed  # noqa: F401  (registers quantized_decomposed)

import ptec
from ptec.pte import schema as pte
from ptec.quant import qdq
from ptec.runtime import PtecError
from op_testing import kernel_calls

qd = torch.ops.quantized_decomposed

#: dtype -> (min, max) of its values.
RANGES = {torch.uint8: (0, 255), torch.int8: (-128, 127), torch.int16: (-32768, 32767),
          torch.int32: (-(2**31), 2**31 - 1)}

QDQ_DEF = Path(__file__).resolve().parents[2] / "runtime/src/kernels/quantized/ops_qdq.def"


class Op(torch.nn.Module):
    """One quantized_decomposed call; tensors in `consts` are program constants."""

    def __init__(self, fn, **consts: torch.Tensor):
        super().__init__()
        self.fn = fn
        for name, tensor in consts.items():
            self.register_buffer(name, tensor)

    def forward(self, *inputs):
        return self.fn(self, *inputs)


def run_both(module: torch.nn.Module, inputs: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """(ptec's output, PyTorch's output)."""
    program = ptec.compile(module, inputs)
    got = ptec.load(program.buffer)(*inputs)
    assert len(got) == 1
    with torch.no_grad():
        want = module(*inputs)
    return got[0], want


def assert_bit_equal(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    if want.dtype == torch.float32:
        got, want = got.contiguous().view(torch.int32), want.contiguous().view(torch.int32)
    mismatch = (got != want).nonzero()
    assert mismatch.numel() == 0, (
        f"{mismatch.shape[0]} of {want.numel()} elements differ, first at "
        f"{mismatch[0].tolist()}: {got[tuple(mismatch[0])]} != {want[tuple(mismatch[0])]}")


def random_shape(rank: int | None = None) -> list[int]:
    rank = random.randint(1, 4) if rank is None else rank
    return [random.randint(1, 6) for _ in range(rank)]


def random_qparams(dtype: torch.dtype) -> tuple[float, int, int, int]:
    """scale, zero point, quant_min, quant_max: full range or a symmetric one."""
    lo, hi = RANGES[dtype]
    if dtype == torch.int32:  # bias-like: symmetric, zero point 0
        return 10 ** random.uniform(-6, -2), 0, lo + 1, hi
    qmin, qmax = (lo + 1, hi) if random.random() < 0.5 and lo < 0 else (lo, hi)
    zp = 0 if random.random() < 0.5 and lo < 0 else random.randint(qmin, qmax)
    return 10 ** random.uniform(-4, 1), zp, qmin, qmax


def float_values(shape: list[int], scale: float, zp: int, qmin: int, qmax: int) -> torch.Tensor:
    """Values spread over (and beyond) the quantized range, some exact halves.

    int32 values stay below quant_max: float32(2^31 - 1) is 2^31, and
    PyTorch's cast of it to int32 is platform-specific (x86 gives INT32_MIN);
    ptec saturates to INT32_MAX (test_int32_saturates)."""
    if qmax - qmin >= 2**31:
        span = 2.0**20 * scale
        x = (torch.rand(shape) * 1.4 - 0.7) * span
    else:
        span = float(qmax - qmin) * scale
        x = (torch.rand(shape) * 1.4 - 0.7) * span + (0.5 * (qmin + qmax) - zp) * scale
    flat = x.view(-1)
    picks = torch.rand(flat.shape) < 0.25
    halves = (torch.randint(-200, 200, flat.shape) + 0.5) * scale
    flat[picks] = halves[picks].to(torch.float32)
    if flat.numel() >= 4:
        flat[1] = -math.inf
        if qmax - qmin < 2**31:
            flat[0] = math.inf
    return x


def test_int32_saturates():
    x = torch.tensor([1e30, -1e30, math.inf, -math.inf, 2.0**31, 5.0])
    module = Op(lambda m, t: qd.quantize_per_tensor(t, 1.0, 0, -(2**31 - 1), 2**31 - 1,
                                                    torch.int32))
    program = ptec.compile(module, (x,))
    # float32(quant_min) is -2^31: the lower bound clamps to INT32_MIN, as in PyTorch.
    assert ptec.load(program.buffer)(x)[0].tolist() == [2**31 - 1, -(2**31), 2**31 - 1,
                                                        -(2**31), 2**31 - 1, 5]


# ------------------------------------------------------------------ schemas


def test_out_schemas_are_executorchs():
    """The out variants ptec emits are ExecuTorch's, verbatim from its
    kernels/quantized/quantized.yaml where ExecuTorch is installed."""
    spec = importlib.util.find_spec("executorch")  # located, not imported
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ExecuTorch is not installed")
    yaml = Path(list(spec.submodule_search_locations)[0]) / "kernels/quantized/quantized.yaml"
    if not yaml.is_file():
        pytest.skip("quantized.yaml not installed")
    declared = {m.group(1): m.group(2) for m in
                re.finditer(r"func: (quantized_decomposed::\w+)\.out(\(.*\) -> .*)",
                            yaml.read_text())}
    for functional, schema in qdq.OUT_SCHEMAS.items():
        assert functional in declared, functional
        assert schema == f"{functional}.out{declared[functional]}"


def signature_of(schema: torch.FunctionSchema) -> str:
    """The ops.def signature a schema implies: 'O' for out tensors, 'T' return."""
    chars = {"Tensor": "T", "Optional[Tensor]": "t", "float": "d", "int": "i",
             "Optional[int]": "I"}
    args = "".join("O" if a.is_out else chars[str(a.type)] for a in schema.arguments)
    return args + "T"


def test_ops_qdq_def_matches_schemas():
    entries = re.findall(r'PTEC_OP_PREPARED\(\s*"([^"]+)"\s*,\s*\w+\s*,\s*\w+\s*,\s*"([^"]*)"',
                         QDQ_DEF.read_text())
    assert len(entries) == len(qdq.OUT_SCHEMAS)
    for name, signature in entries:
        functional = name.rsplit(".", 1)[0]
        assert signature == signature_of(qdq.out_schema(functional)), name


def test_compiled_calls_use_the_out_schemas():
    module = Op(lambda m, x: qd.dequantize_per_tensor(
        qd.quantize_per_tensor(x, 0.1, 3, -128, 127, torch.int8), 0.1, 3, -128, 127, torch.int8))
    program = ptec.compile(module, (torch.randn(2, 3),))
    names = [info.operator for info in program.instructions]
    assert names == ["quantized_decomposed::quantize_per_tensor.out",
                     "quantized_decomposed::dequantize_per_tensor.out"]
    plan = program.program.execution_plan[0]
    calls = dict(kernel_calls(plan))
    # input, scale, zero_point, quant_min, quant_max, dtype, out_dtype=None, out, return
    args = calls["quantized_decomposed::dequantize_per_tensor.out"].args
    assert len(args) == 9
    assert isinstance(plan.values[args[6]].val, pte.Null)
    assert isinstance(plan.values[args[5]].val, pte.Int) and plan.values[args[5]].val.int_val == 1


# --------------------------------------------------------------- per tensor


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_quantize_per_tensor(seed, dtype):
    for _ in range(6):
        scale, zp, qmin, qmax = random_qparams(dtype)
        if random.random() < 0.3:  # a power of two: x / scale is exact, halves tie
            scale = 2.0 ** random.randint(-12, 2)
        x = float_values(random_shape(), scale, zp, qmin, qmax)
        module = Op(lambda m, t, s=scale, z=zp, a=qmin, b=qmax:
                    qd.quantize_per_tensor(t, s, z, a, b, dtype))
        got, want = run_both(module, (x,))
        assert_bit_equal(got, want)


def test_quantize_rounds_half_to_even(seed):
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 126.5, 127.5, -128.5, -129.5])
    module = Op(lambda m, t: qd.quantize_per_tensor(t, 1.0, 0, -128, 127, torch.int8))
    got, want = run_both(module, (x,))
    assert got.tolist() == [-2, -2, 0, 0, 2, 2, 126, 127, -128, -128]
    assert_bit_equal(got, want)


def test_quantize_nan_gives_the_zero_point():
    """PyTorch's float-to-int cast of NaN is platform-specific; ptec's is the
    zero point, which dequantizes to 0."""
    x = torch.tensor([math.nan, 1.0, -math.nan])
    module = Op(lambda m, t: qd.quantize_per_tensor(t, 0.5, 7, -128, 127, torch.int8))
    program = ptec.compile(module, (x,))
    assert ptec.load(program.buffer)(x)[0].tolist() == [7, 9, 7]


def test_quantize_multiplies_by_the_float32_reciprocal(seed):
    """PyTorch multiplies by float32(1/scale), not divides: scales whose
    reciprocal rounds show it."""
    scales = [0.1, 0.3, 1 / 3, 0.7, 2.2, 1e-3 * 3]
    x = torch.randn(1000) * 50
    for scale in scales:
        module = Op(lambda m, t, s=scale: qd.quantize_per_tensor(t, s, 0, -128, 127, torch.int8))
        got, want = run_both(module, (x,))
        assert_bit_equal(got, want)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_dequantize_per_tensor(seed, dtype):
    lo, hi = RANGES[dtype]
    for _ in range(6):
        scale, zp, qmin, qmax = random_qparams(dtype)
        q = torch.randint(lo, hi, random_shape(), dtype=torch.int64).to(dtype)
        q.view(-1)[0] = lo
        q.view(-1)[-1] = hi
        module = Op(lambda m, t, s=scale, z=zp, a=qmin, b=qmax:
                    qd.dequantize_per_tensor(t, s, z, a, b, dtype))
        got, want = run_both(module, (q,))
        assert_bit_equal(got, want)


def test_dequantize_per_tensor_out_dtype_float32():
    q = torch.arange(-5, 5, dtype=torch.int8)
    module = Op(lambda m, t: qd.dequantize_per_tensor(t, 0.25, 1, -128, 127, torch.int8,
                                                      out_dtype=torch.float32))
    got, want = run_both(module, (q,))
    assert_bit_equal(got, want)


def test_quantize_dequantize_channels_last(seed):
    x = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)
    module = Op(lambda m, t: qd.dequantize_per_tensor(
        qd.quantize_per_tensor(t, 0.02, -3, -128, 127, torch.int8), 0.02, -3, -128, 127,
        torch.int8))
    got, want = run_both(module, (x,))
    assert_bit_equal(got.contiguous(), want.contiguous())


# -------------------------------------------------------------- per channel


def channel_params(channels: int, dtype: torch.dtype, scale_dtype: torch.dtype,
                   zp_dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    _, zp, qmin, qmax = random_qparams(dtype)
    scales = (10 ** (torch.rand(channels, dtype=torch.float64) * 5 - 4)).to(scale_dtype)
    if dtype == torch.int32:
        scales = scales * 1e-4
    symmetric = random.random() < 0.5 or dtype == torch.int32
    zps = (torch.zeros(channels, dtype=torch.int64) if symmetric
           else torch.randint(qmin, qmax + 1, (channels,)))
    return scales, zps.to(zp_dtype), qmin, qmax


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
@pytest.mark.parametrize("scale_dtype", [torch.float32, torch.float64])
def test_quantize_per_channel(seed, dtype, scale_dtype):
    for _ in range(4):
        shape = random_shape()
        axis = random.randrange(len(shape))
        scales, zps, qmin, qmax = channel_params(shape[axis], dtype, scale_dtype,
                                                 random.choice([torch.int32, torch.int64]))
        # int32 must not reach quant_max (see float_values): the smallest scale bounds it.
        scale = float(scales.min() if dtype == torch.int32 else scales.max())
        x = float_values(shape, scale, 0, qmin, qmax)
        module = Op(lambda m, t, a=axis, lo=qmin, hi=qmax:
                    qd.quantize_per_channel(t, m.scales, m.zps, a, lo, hi, dtype),
                    scales=scales, zps=zps)
        got, want = run_both(module, (x,))
        assert_bit_equal(got, want)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
@pytest.mark.parametrize("scale_dtype", [torch.float32, torch.float64])
def test_dequantize_per_channel(seed, dtype, scale_dtype):
    lo, hi = RANGES[dtype]
    for _ in range(4):
        shape = random_shape()
        axis = random.randrange(len(shape)) - (len(shape) if random.random() < 0.3 else 0)
        scales, zps, qmin, qmax = channel_params(shape[axis], dtype, scale_dtype,
                                                 random.choice([torch.int32, torch.int64]))
        q = torch.randint(lo, hi, shape, dtype=torch.int64).to(dtype)
        if random.random() < 0.3:  # no zero points
            module = Op(lambda m, t, a=axis, l=qmin, h=qmax:
                        qd.dequantize_per_channel(t, m.scales, None, a, l, h, dtype),
                        scales=scales)
        else:
            module = Op(lambda m, t, a=axis, l=qmin, h=qmax:
                        qd.dequantize_per_channel(t, m.scales, m.zps, a, l, h, dtype),
                        scales=scales, zps=zps)
        got, want = run_both(module, (q,))
        assert_bit_equal(got, want)


@pytest.mark.parametrize("axis", [0, 1, 3])
def test_per_channel_channels_last(seed, axis):
    """Channels-last memory: the channel of an element is not its row's."""
    x = (torch.randn(2, 3, 4, 5) * 3).to(memory_format=torch.channels_last)
    scales = torch.rand(x.shape[axis]) * 0.05 + 0.01
    zps = torch.zeros(x.shape[axis], dtype=torch.int64)
    module = Op(lambda m, t: qd.dequantize_per_channel(
        qd.quantize_per_channel(t, m.scales, m.zps, axis, -127, 127, torch.int8),
        m.scales, m.zps, axis, -127, 127, torch.int8), scales=scales, zps=zps)
    program = ptec.compile(module, (x,))
    values = program.program.execution_plan[0].values
    assert any(isinstance(v.val, pte.Tensor) and v.val.scalar_type == 1
               and v.val.dim_order == [0, 2, 3, 1] for v in values)  # a channels-last int8
    got = ptec.load(program.buffer)(x)[0]
    assert_bit_equal(got.contiguous(), module(x).contiguous())


def test_per_channel_scales_as_inputs(seed):
    """Scales that are not constants are checked at every run instead of at load."""
    x = torch.randn(3, 4)
    scales, zps = torch.rand(3) * 0.1 + 0.01, torch.tensor([0, 1, -2])
    module = Op(lambda m, t, s, z: qd.quantize_per_channel(t, s, z, 0, -128, 127, torch.int8))
    got, want = run_both(module, (x, scales, zps))
    assert_bit_equal(got, want)
    runner = ptec.load(ptec.compile(module, (x, scales, zps)).buffer)
    with pytest.raises(PtecError) as info:
        runner(x, torch.tensor([0.1, -0.1, 0.1]), zps)
    assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE" and "scales[1]" in info.value.message
    with pytest.raises(PtecError) as info:
        runner(x, scales, torch.tensor([0, 200, 0]))
    assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE"
    assert "zero_points[1]" in info.value.message


# -------------------------------------------------------- refused at load


def expect_refused_at_load(module: torch.nn.Module, inputs: tuple, status: str, match: str,
                           edit=None) -> None:
    """The program compiles; initialising its method fails with `status`."""
    program = ptec.compile(module, inputs)
    if edit is not None:
        for plan in program.program.execution_plan:
            edit(plan)
        program.__dict__.pop("buffer", None)  # serialise again, edited
    runner = ptec.load(program.buffer)
    with pytest.raises(PtecError) as info:
        runner.method()
    assert str(info.value).startswith("init:"), str(info.value)
    assert info.value.status == status, str(info.value)
    assert match in info.value.message, str(info.value)


def set_argument(op: str, slot: int, value: object):
    """An edit: argument `slot` of the call to `op` becomes a new value."""
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))[op]
        plan.values.append(pte.EValue(value))
        call.args[slot] = len(plan.values) - 1
    return edit


QPT = "quantized_decomposed::quantize_per_tensor.out"
DQPT = "quantized_decomposed::dequantize_per_tensor.out"
QPC = "quantized_decomposed::quantize_per_channel.out"
DQPC = "quantized_decomposed::dequantize_per_channel.out"


def q_module(scale=0.1, zp=0, qmin=-128, qmax=127, dtype=torch.int8):
    return Op(lambda m, t: qd.quantize_per_tensor(t, scale, zp, qmin, qmax, dtype))


def dq_module(scale=0.1, zp=0, qmin=-128, qmax=127, dtype=torch.int8):
    return Op(lambda m, t: qd.dequantize_per_tensor(t, scale, zp, qmin, qmax, dtype))


@pytest.mark.parametrize("scale", [0.0, -0.5, math.inf, math.nan])
def test_bad_scale_refused_at_load(scale):
    x, q = torch.randn(4), torch.zeros(4, dtype=torch.int8)
    expect_refused_at_load(q_module(scale=scale), (x,), "PTEC_STATUS_OUT_OF_RANGE", "scale")
    expect_refused_at_load(dq_module(scale=scale), (q,), "PTEC_STATUS_OUT_OF_RANGE", "scale")


@pytest.mark.parametrize("zp,qmin,qmax", [(128, -128, 127), (-128, -127, 127), (5, -2, 4)])
def test_zero_point_outside_range_refused_at_load(zp, qmin, qmax):
    x, q = torch.randn(4), torch.zeros(4, dtype=torch.int8)
    expect_refused_at_load(q_module(zp=zp, qmin=qmin, qmax=qmax), (x,),
                           "PTEC_STATUS_OUT_OF_RANGE", "zero_point")
    expect_refused_at_load(dq_module(zp=zp, qmin=qmin, qmax=qmax), (q,),
                           "PTEC_STATUS_OUT_OF_RANGE", "zero_point")


@pytest.mark.parametrize("slot,value,match", [
    (3, -129, "quant_min"), (4, 128, "quant_max"), (3, 10, "greater than"),
])
def test_bounds_outside_dtype_refused_at_load(slot, value, match):
    # quant_min, quant_max = -5, 5 before the edit
    x, q = torch.randn(4), torch.zeros(4, dtype=torch.int8)
    expect_refused_at_load(q_module(qmin=-5, qmax=5), (x,), "PTEC_STATUS_OUT_OF_RANGE", match,
                           edit=set_argument(QPT, slot, pte.Int(value)))
    expect_refused_at_load(dq_module(qmin=-5, qmax=5), (q,), "PTEC_STATUS_OUT_OF_RANGE", match,
                           edit=set_argument(DQPT, slot, pte.Int(value)))


def test_unsupported_dtype_refused_at_load():
    x = torch.randn(4)
    expect_refused_at_load(q_module(dtype=torch.int64, qmin=-128, qmax=127), (x,),
                           "PTEC_STATUS_NOT_SUPPORTED", "int64")


def test_dtype_argument_must_match_the_tensor():
    # dtype says int16, the out tensor is int8.
    expect_refused_at_load(q_module(), (torch.randn(4),), "PTEC_STATUS_TYPE_MISMATCH", "out",
                           edit=set_argument(QPT, 5, pte.Int(2)))
    expect_refused_at_load(dq_module(), (torch.zeros(4, dtype=torch.int8),),
                           "PTEC_STATUS_TYPE_MISMATCH", "input",
                           edit=set_argument(DQPT, 5, pte.Int(2)))
    expect_refused_at_load(dq_module(), (torch.zeros(4, dtype=torch.int8),),
                           "PTEC_STATUS_NOT_SUPPORTED", "out_dtype",
                           edit=set_argument(DQPT, 6, pte.Int(7)))


def per_channel_pair(scales: torch.Tensor, zps: torch.Tensor, qmin=-127, qmax=127):
    return Op(lambda m, t: qd.dequantize_per_channel(
        qd.quantize_per_channel(t, m.scales, m.zps, 0, qmin, qmax, torch.int8),
        m.scales, m.zps, 0, qmin, qmax, torch.int8), scales=scales, zps=zps)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_bad_channel_scale_refused_at_load(bad):
    scales = torch.tensor([0.1, bad, 0.2])
    module = per_channel_pair(scales, torch.zeros(3, dtype=torch.int64))
    expect_refused_at_load(module, (torch.randn(3, 4),), "PTEC_STATUS_OUT_OF_RANGE", "scales[1]")


def test_bad_channel_zero_point_refused_at_load():
    module = per_channel_pair(torch.full((3,), 0.1), torch.tensor([0, 0, 127]), qmin=-127,
                              qmax=126)
    expect_refused_at_load(module, (torch.randn(3, 4),), "PTEC_STATUS_OUT_OF_RANGE",
                           "zero_points[2]")


def test_channel_parameters_must_match_the_axis():
    module = per_channel_pair(torch.full((3,), 0.1), torch.zeros(3, dtype=torch.int64))
    # axis 1 has 4 entries, the scales 3.
    expect_refused_at_load(module, (torch.randn(3, 4),), "PTEC_STATUS_SHAPE_MISMATCH", "scales",
                           edit=set_argument(QPC, 3, pte.Int(1)))
    expect_refused_at_load(module, (torch.randn(3, 4),), "PTEC_STATUS_OUT_OF_RANGE", "dim",
                           edit=set_argument(DQPC, 3, pte.Int(2)))


# --------------------------------------------------------- under sanitizers

RUNNER = Path(os.environ.get("PTEC_RUN_ASAN",
                             Path(__file__).resolve().parents[2] / "build/asan/ptec-run"))


def run_sanitized(program: ptec.CompiledProgram, inputs: tuple, tmp_path: Path
                  ) -> subprocess.CompletedProcess:
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")
    path = tmp_path / "qdq.pte"
    program.save(path)
    args = [str(RUNNER), str(path), "--output-dir", str(tmp_path)]
    for k, x in enumerate(inputs):
        np.save(tmp_path / f"in{k}.npy", x.contiguous().numpy())
        args += ["--input", str(tmp_path / f"in{k}.npy")]
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    result = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=300,
                            env=env)
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
    return result


def test_all_kernels_under_sanitizers(seed, tmp_path):
    """Every kernel, every dtype, per channel on odd axes, in the ASan/UBSan runner."""
    x = torch.randn(2, 3, 5, 4) * 4
    x.view(-1)[:3] = torch.tensor([math.inf, -math.inf, math.nan])
    scales = {axis: torch.rand(x.shape[axis]) * 0.05 + 0.01 for axis in range(4)}

    def forward(m, t):
        outs = []
        for dtype, (lo, hi) in RANGES.items():
            zp = 0 if lo < 0 else 128
            q = qd.quantize_per_tensor(t, 0.03, zp, lo, hi, dtype)
            outs.append(qd.dequantize_per_tensor(q, 0.03, zp, lo, hi, dtype))
        for axis in range(4):
            s, z = getattr(m, f"s{axis}"), getattr(m, f"z{axis}")
            q = qd.quantize_per_channel(t, s, z, axis, -127, 127, torch.int8)
            outs.append(qd.dequantize_per_channel(q, s.double(), None, axis, -127, 127,
                                                  torch.int8))
        return torch.stack(outs)

    consts = {f"s{a}": s for a, s in scales.items()}
    consts.update({f"z{a}": torch.zeros(len(s), dtype=torch.int32) for a, s in scales.items()})
    module = Op(forward, **consts)
    program = ptec.compile(module, (x,))
    result = run_sanitized(program, (x,), tmp_path)
    assert result.returncode == 0, result.stderr
    got = torch.from_numpy(np.load(tmp_path / "output0.npy"))
    want = module(x)
    finite = torch.isfinite(x).expand_as(want)  # NaN's quantized value is platform-specific
    assert_bit_equal(got[finite], want[finite])


def test_bad_parameters_under_sanitizers(tmp_path):
    module = per_channel_pair(torch.tensor([0.1, -0.1, 0.1]), torch.zeros(3, dtype=torch.int64))
    x = torch.randn(3, 4)
    result = run_sanitized(ptec.compile(module, (x,)), (x,), tmp_path)
    assert result.returncode == 2, result.stderr
    assert "PTEC_STATUS_OUT_OF_RANGE" in result.stderr and "scales[1]" in result.stderr


# ------------------------------------------------------- ExecuTorch's files


def test_executorch_quantized_program_runs_and_matches_ptecs_calls(tmp_path):
    """ExecuTorch's own AOT flow on a converted model: its Q/DQ calls pass
    the same argument types as ptec's, and ptec's runtime runs its file."""
    if importlib.util.find_spec("executorch") is None:
        pytest.skip("ExecuTorch is not installed")
    import executorch.kernels.quantized  # noqa: F401  (registers the .out schemas)
    from executorch.exir import to_edge_transform_and_lower

    from ptec.pte import deserialize_program

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(16, 5)).eval()
    x = torch.randn(1, 3, 4, 4)
    converted = ptec.quantize.quantize(model, (x,), ptec.Int8(calibration=[(x,)]))
    ours = ptec.compile(converted, (x,))
    edge = to_edge_transform_and_lower(torch.export.export(converted, (x,)))
    theirs_bytes = bytes(edge.to_executorch().buffer)
    theirs, _ = deserialize_program(theirs_bytes)

    def argument_types(program) -> dict[str, set]:
        plan = program.execution_plan[0]
        types = {}
        for name, call in kernel_calls(plan):
            if name.startswith("quantized_decomposed::"):
                types.setdefault(name, set()).add(
                    tuple(type(plan.values[a].val).__name__ for a in call.args))
        return types

    # ptec fuses the weights' dequantizes into its integer kernels; every Q/DQ
    # call it keeps passes what ExecuTorch's passes.
    ours_types, theirs_types = argument_types(ours.program), argument_types(theirs)
    assert ours_types, "ptec's program has no Q/DQ calls"
    for name, types in ours_types.items():
        assert types == theirs_types.get(name), name
    assert len(argument_types(theirs)) == 3  # q/dq per tensor, dq per channel
    got = ptec.load(theirs_bytes)(x)[0]
    assert_bit_equal(got, ptec.load(ours.buffer)(x)[0])
