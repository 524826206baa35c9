"""The lowering pass (ptec.quant.lower): every dq -> op -> q pattern it knows
becomes one integer kernel call, and the program's integer outputs equal the
fake-quantized model evaluated exactly (ptec.quant.reference, float64).

Each case is a small module with random weights, quantized with ptec.Int8 on
random calibration data from the printed seed, compiled with integer I/O (so
the test compares integer codes), run on the C runtime.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import ptec
from ptec.quant.reference import float64_reference
from ptec.report import FLOAT_FALLBACK, INTEGER, runs_on


class Conv(nn.Module):
    def __init__(self, cin=3, cout=8, k=3, act=None, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, **kw)
        self.act = act

    def forward(self, x):
        y = self.conv(x)
        return self.act(y) if self.act is not None else y


class Lambda(nn.Module):
    """conv (so the op under test reads a quantized tensor), then fn."""

    def __init__(self, fn, cout=8):
        super().__init__()
        self.conv = nn.Conv2d(3, cout, 3, padding=1)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.conv(x))


class TwoBranch(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 1)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.a(x), self.b(x))


class Linear(nn.Module):
    def __init__(self, act=None, features=12):
        super().__init__()
        self.fc = nn.Linear(features, 10)
        self.act = act

    def forward(self, x):
        y = self.fc(x)
        return self.act(y) if self.act is not None else y


class Attention(nn.Module):
    """Projections, q @ k^T, softmax, @ v: bmm and softmax on int8."""

    def __init__(self, d=16):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        return torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v


IMAGE = (1, 3, 10, 12)

CASES = {
    "conv_relu": (lambda: Conv(padding=1, act=nn.ReLU()), IMAGE, ["ptec::quantized_conv2d"]),
    "conv_stride_dilation_relu6": (
        lambda: Conv(stride=2, dilation=2, padding=2, bias=False, act=nn.ReLU6()), IMAGE,
        ["ptec::quantized_conv2d"]),
    "depthwise_hardtanh": (
        lambda: Conv(8, 8, 3, groups=8, padding=1, act=nn.Hardtanh(-1.0, 1.0)), (1, 8, 9, 7),
        ["ptec::quantized_conv2d"]),
    "grouped_conv": (lambda: Conv(4, 6, 3, groups=2, stride=(2, 1)), (1, 4, 8, 8),
                     ["ptec::quantized_conv2d"]),
    "linear_relu": (lambda: Linear(nn.ReLU()), (4, 12), ["ptec::quantized_linear"]),
    "linear_3d": (lambda: Linear(), (2, 5, 12), ["ptec::quantized_linear"]),
    # addmm -> view -> relu -> q: the relu moves above the view and fuses.
    "linear_3d_relu": (lambda: Linear(nn.ReLU()), (2, 5, 12), ["ptec::quantized_linear"]),
    "attention": (lambda: Attention(), (2, 6, 16),
                  ["ptec::quantized_matmul", "ptec::quantized_softmax"]),
    "add_relu": (lambda: TwoBranch(lambda a, b: torch.relu(a + b)), IMAGE,
                 ["ptec::quantized_add"]),
    "mul": (lambda: TwoBranch(lambda a, b: a * b), IMAGE, ["ptec::quantized_mul"]),
    "cat": (lambda: TwoBranch(lambda a, b: torch.cat([a, b.relu()], 1)), IMAGE, ["aten::cat"]),
    "avg_pool_padded": (lambda: Lambda(lambda y: F.avg_pool2d(y, 3, 2, 1)), IMAGE,
                        ["ptec::quantized_avg_pool2d", "aten::constant_pad_nd"]),
    "avg_pool": (lambda: Lambda(lambda y: F.avg_pool2d(y, 3, 3)), IMAGE,
                 ["ptec::quantized_avg_pool2d"]),
    "max_pool": (lambda: Lambda(lambda y: F.max_pool2d(y, 3, 2, 1)), IMAGE,
                 ["ptec::quantized_max_pool2d"]),
    "adaptive_avg_pool": (lambda: Lambda(lambda y: F.adaptive_avg_pool2d(y, 1)), IMAGE,
                          ["ptec::quantized_mean"]),
    "sigmoid": (lambda: Lambda(torch.sigmoid), IMAGE, ["ptec::table"]),
    "tanh": (lambda: Lambda(torch.tanh), IMAGE, ["ptec::table"]),
    "hardswish": (lambda: Lambda(F.hardswish), IMAGE, ["ptec::table"]),
    "gelu": (lambda: Lambda(F.gelu), IMAGE, ["ptec::table"]),
    "silu": (lambda: Lambda(F.silu), IMAGE, ["ptec::table"]),
    "softmax_channels": (lambda: Lambda(lambda y: torch.softmax(y, 1)), IMAGE,
                         ["ptec::quantized_softmax"]),
    "permute_view_slice": (
        lambda: Lambda(lambda y: y.permute(0, 2, 3, 1).reshape(1, -1, 8)[:, 3:17, 2:6]), IMAGE,
        ["aten::permute_copy", "aten::view_copy", "aten::slice_copy"]),
    "pad": (lambda: Lambda(lambda y: F.pad(y, (1, 2, 0, 1))), IMAGE, ["aten::constant_pad_nd"]),
}


def _quantized(case: str, seed: int, config=ptec.Int8):
    make, shape, _ = CASES[case]
    torch.manual_seed(seed)
    model = make().eval()
    g = torch.Generator().manual_seed(seed)
    calibration = [(torch.randn(shape, generator=g),) for _ in range(4)]
    q = ptec.quantize.convert(_calibrated(model, shape, calibration, config))
    return q, shape, g


def _calibrated(model, shape, calibration, config):
    prepared = ptec.quantize.prepare(model, calibration[0], config())
    ptec.quantize.calibrate(prepared, calibration)
    return prepared


def run_integer(q, shape, g, samples=3):
    """Integer codes from the C runtime and from the exact reference."""
    program = ptec.compile(q, (torch.zeros(shape),), integer_io=True)
    rt = ptec.load(program.buffer)
    (inp,) = program.io_quantization["inputs"].values()
    out = program.io_quantization["outputs"][0]
    reference = float64_reference(q)
    got, want = [], []
    for _ in range(samples):
        x = torch.randn(shape, generator=g) * 1.2
        codes = torch.clamp(torch.round(x / inp.scale) + inp.zero_point, inp.qmin, inp.qmax)
        x_real = (codes - inp.zero_point) * inp.scale
        got.append(np.asarray(rt(codes.to(inp.dtype))[0]).astype(np.int64).reshape(-1))
        ref = reference(x_real.to(torch.float32)).to(torch.float64)
        want.append((torch.round(ref / out.scale) + out.zero_point).numpy().astype(np.int64)
                    .reshape(-1))
    return program, np.concatenate(got), np.concatenate(want)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pattern_lowers_to_integer_kernels(seed, case):
    q, shape, g = _quantized(case, seed)
    program, got, want = run_integer(q, shape, g)
    operators = [i.operator.split(".")[0] for i in program.instructions]
    for op in CASES[case][2]:
        assert op in operators, f"{op} missing:\n{program.report()}"
    places = [runs_on(i) for i in program.instructions]
    assert FLOAT_FALLBACK not in places, program.report()
    assert set(places) == {INTEGER}, program.report()  # integer I/O: no Q/DQ left
    diff = np.abs(got - want)
    print(f"{case}: {np.mean(diff == 0):.4f} exact, max {diff.max()} steps")
    assert diff.max() <= 1
    assert np.mean(diff == 0) >= 0.99


def test_a16w8_convolution_is_integer_and_exact(seed):
    q, shape, g = _quantized("conv_relu", seed, ptec.A16W8)
    program, got, want = run_integer(q, shape, g)
    assert program.io_quantization["outputs"][0].dtype == torch.int16
    assert "ptec::quantized_conv2d.out" in [i.operator for i in program.instructions]
    np.testing.assert_array_equal(got, want)


def test_integer_conv_path_is_channels_last(seed):
    """Activations into integer convs are NHWC, weights OHWI / depthwise [1,KH,KW,O]."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8)).eval()
    x = torch.randn(1, 3, 9, 9)
    program = ptec.compile(model, (x,), quantize=ptec.Int8(calibration=[(x,)]))
    plan = program.program.execution_plan[0]
    convs = [ins.instr_args for ins in plan.chains[0].instructions
             if plan.operators[ins.instr_args.op_index].name == "ptec::quantized_conv2d"]
    assert len(convs) == 2
    orders = [[list(plan.values[call.args[i]].val.dim_order) for i in (0, 1)] for call in convs]
    assert orders == [[[0, 2, 3, 1], [0, 2, 3, 1]], [[0, 2, 3, 1], [1, 2, 3, 0]]]
    # One int8 NCHW -> NHWC copy at the chain's start, one back before the
    # output's dequantize (graph outputs keep their layout).
    layout_copies = [(i.outputs[0][1], i.lowering) for i in program.instructions
                     if i.operator == "aten::clone.out"]
    assert layout_copies == [(torch.int8, "integer")] * 2
    assert program.instructions[-1].operator.startswith("quantized_decomposed::dequantize")


class Difference(nn.Module):
    """maximum(a(x), b(x)): maximum has no integer kernel (sub has one now,
    ptec::quantized_sub), so it runs in float between Q/DQ."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 4)

    def forward(self, x):
        return self.c(torch.maximum(self.a(x), self.b(x)))


def test_float_fallback_is_reported_with_its_reason(seed):
    torch.manual_seed(seed)
    model = Difference().eval()
    x = torch.randn(2, 8)
    program = ptec.compile(model, (x,), quantize=ptec.Int8(calibration=[(x,)]))
    report = program.report()
    assert "3 integer kernel calls, 1 float fallbacks" in report, report
    assert "stays float: no integer kernel for aten.maximum.default" in report, report
    rt = ptec.load(program.buffer)
    np.testing.assert_allclose(np.asarray(rt(x)[0]), program_reference(model, x), atol=0.2)


def program_reference(model, x):
    return model(x).detach().numpy()


def test_float_models_are_not_lowered():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    program = ptec.compile(model, (torch.randn(1, 3, 6, 6),))
    assert {runs_on(i) for i in program.instructions} == {"portable kernel"}


def test_integer_io_needs_a_quantized_model():
    with pytest.raises(ptec.CompileError, match="integer_io needs a quantized model"):
        ptec.compile(nn.ReLU(), (torch.randn(3),), integer_io=True)


def test_integer_io_report_gives_the_parameters(seed):
    q, shape, _ = _quantized("conv_relu", seed)
    report = ptec.compile(q, (torch.zeros(shape),), integer_io=True).report()
    assert "integer I/O: real = scale * (q - zero_point)" in report
    assert "input x: int8, scale" in report and "output 0: int8, scale" in report
