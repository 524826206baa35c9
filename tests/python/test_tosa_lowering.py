"""The TOSA targets end to end: lowering, partitioning, the C TOSA executor.

* tosa-int: a quantized model's delegates must give the host int8 build's
  integer outputs bit for bit (the host's kernels are the TOSA-semantics
  oracle, tested against the NumPy model in test_quantized_kernels.py), and
  a model of supported ops must run as one delegate call.
* tosa-fp: fp32 models against PyTorch eager.
* Partitioning: unsupported layers stay on the CPU with their reason in the
  report (the LRN example), and delegate graphs run unchanged in Arm's TOSA
  reference model.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import ptec
from ptec.report import DELEGATE, runs_on
from ptec.tosa import read_graph
from ptec.tosa.partition import CHANNELS_LAST

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES_DIR))
from models import EXAMPLES  # noqa: E402
from test_tosa_reference_model import reference_run, tools  # noqa: E402,F401  (fixture)


class Fn(nn.Module):
    """conv (so what follows reads a quantized, NHWC-stored tensor), then fn."""

    def __init__(self, fn, cin=3, cout=8, conv=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1) if conv else nn.Identity()
        self.fn = fn

    def forward(self, x):
        return self.fn(self.conv(x))


class TwoInputs(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(3, 8, 1)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.a(x), self.b(x))


class Attention(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x):
        return (self.q(x) @ self.k(x).transpose(-1, -2)) @ self.v(x)


IMAGE = (1, 3, 11, 13)  # odd sizes: strided windows exercise TOSA's exact-division rule

INT8_CASES = {
    "conv_stride2": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU()), IMAGE),
    "conv_1x1_stride2": (lambda: nn.Conv2d(3, 8, 1, 2), IMAGE),
    "conv_dilated": (lambda: nn.Conv2d(3, 4, 3, padding=2, dilation=2), IMAGE),
    "depthwise_relu6": (lambda: Fn(nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1, groups=8),
                                                 nn.ReLU6())), IMAGE),
    "linear_relu": (lambda: nn.Sequential(nn.Linear(12, 10), nn.ReLU()), (6, 12)),
    "linear_3d_relu": (lambda: nn.Sequential(nn.Linear(12, 10), nn.ReLU()), (2, 5, 12)),
    "matmul": (lambda: Attention(), (2, 6, 16)),
    "add_relu": (lambda: TwoInputs(lambda a, b: F.relu(a + b)), IMAGE),
    "add_broadcast": (lambda: TwoInputs(lambda a, b: a + b.mean((2, 3), keepdim=True)), IMAGE),
    "mul": (lambda: TwoInputs(lambda a, b: a * b), IMAGE),
    "avg_pool_padded": (lambda: Fn(nn.AvgPool2d(3, 2, 1)), IMAGE),
    "max_pool": (lambda: Fn(nn.MaxPool2d(3, 2, 1)), IMAGE),
    "global_mean": (lambda: Fn(lambda y: y.mean((2, 3))), IMAGE),
    # int32 sums of more than SPATIAL_SUM_AS_DEPTHWISE_BYTES: a depthwise sum
    "global_mean_large": (lambda: Fn(lambda y: y.mean((2, 3)), cout=64), (1, 3, 16, 20)),
    "sigmoid_table": (lambda: Fn(torch.sigmoid), IMAGE),
    "hardswish_table": (lambda: Fn(F.hardswish), IMAGE),
    "cat_permute_slice": (lambda: TwoInputs(
        lambda a, b: torch.cat([a, b], 1).permute(0, 2, 3, 1)[:, 1:8].reshape(1, -1)), IMAGE),
    "pad": (lambda: Fn(lambda y: F.pad(y, (1, 2, 0, 1))), IMAGE),
}


def _calibration(shape, g, n=4):
    return [(torch.randn(shape, generator=g),) for _ in range(n)]


def integer_case(case: str, seed: int, config=ptec.Int8):
    """(model, x, quantization) of INT8_CASES[case]: the weights seeded by `seed`,
    then the calibration batches and x from one generator of that seed."""
    make, shape = INT8_CASES[case]
    torch.manual_seed(seed)
    model = make().eval()
    g = torch.Generator().manual_seed(seed)
    quantize = config(calibration=_calibration(shape, g))
    return model, torch.randn(shape, generator=g), quantize


def quantize_input(program, x: torch.Tensor) -> torch.Tensor:
    """x quantized as `program` (integer_io) takes its one input."""
    (_, p), = program.io_quantization["inputs"].items()
    return torch.clamp(torch.round(x / p.scale) + p.zero_point, p.qmin, p.qmax).to(p.dtype)


def _delegated_only(program) -> bool:
    return all(runs_on(i) == DELEGATE for i in program.instructions)


#: a16w8 (int16 activations, EXT-INT16): every case, int16 lookup tables and
#: int16 x int16 matmuls included.
A16W8_CASES = sorted(INT8_CASES)


@pytest.mark.parametrize("config,case", [(ptec.Int8, c) for c in sorted(INT8_CASES)]
                         + [(ptec.A16W8, c) for c in A16W8_CASES],
                         ids=lambda v: getattr(v, "__name__", v))
def test_integer_ops_run_in_one_delegate_bit_exact_with_the_host(seed, config, case):
    model, x, config = integer_case(case, seed, config)
    host = ptec.compile(model, (x,), quantize=config, integer_io=True)
    tosa = ptec.compile(model, (x,), target="tosa-int", quantize=config, integer_io=True)
    assert _delegated_only(tosa) and len(tosa.instructions) == 1, tosa.report()
    xq = quantize_input(host, x)
    want = np.asarray(ptec.load(host.buffer)(xq)[0])
    got = np.asarray(ptec.load(tosa.buffer)(xq)[0])
    np.testing.assert_array_equal(got, want)


FP32_CASES = {
    "conv_bn_relu": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8),
                                           nn.ReLU()), IMAGE),
    "depthwise_hardswish": (lambda: Fn(nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8),
                                                     nn.Hardswish())), IMAGE),
    "pools": (lambda: Fn(nn.Sequential(nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2, 1, 1))), IMAGE),
    "mean_linear": (lambda: Fn(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                             nn.Linear(8, 5))), IMAGE),
    "softmax_layer_norm_gelu": (lambda: nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16),
                                                      nn.GELU(), nn.Softmax(-1)), (2, 6, 16)),
    "attention": (lambda: Attention(), (2, 6, 16)),
    "elementwise": (lambda: TwoInputs(lambda a, b: torch.sigmoid(a) * b - F.silu(a) / 2
                                      + torch.tanh(b)), IMAGE),
    "data_movement": (lambda: TwoInputs(
        lambda a, b: F.pad(torch.cat([a, b], 1), (1, 1)).permute(0, 3, 1, 2)[:, 2:9]), IMAGE),
}


@pytest.mark.parametrize("case", sorted(FP32_CASES))
def test_fp32_ops_run_in_one_delegate_like_pytorch(seed, case):
    make, shape = FP32_CASES[case]
    torch.manual_seed(seed)
    model = make().eval()
    for m in model.modules():  # non-trivial batch norm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    x = torch.randn(shape)
    program = ptec.compile(model, (x,), target="tosa-fp")
    assert _delegated_only(program) and len(program.instructions) == 1, program.report()
    got = np.asarray(ptec.load(program.buffer)(x)[0])
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_unsupported_op_is_reported_with_its_reason():
    model = Fn(lambda y: torch.cumsum(y, 1)).eval()
    x = torch.randn(IMAGE)
    program = ptec.compile(model, (x,), target="tosa-fp")
    report = program.report()
    assert "cumsum" in report and "on the CPU: no TOSA FP conversion for aten.cumsum" in report
    got = np.asarray(ptec.load(program.buffer)(x)[0])
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-4)


def test_float_model_on_tosa_int_stays_on_the_cpu_and_says_why():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    program = ptec.compile(model, (torch.randn(IMAGE),), target="tosa-int")
    assert not any(runs_on(i) == DELEGATE for i in program.instructions)
    assert "TOSA INT has integer operators only" in program.report()


# ------------------------------------------------------------ example models

SIZES = {"mobilenet_v2": dict(resolution=96, width_mult=0.5), "resnet18": dict(resolution=64),
         "ds_cnn": {}, "transformer": {}}


def _random_like(t, g):
    if t.dtype == torch.int64:
        return torch.randint(0, int(t.max()) + 1, t.shape, generator=g)
    return torch.randn(t.shape, generator=g)


@pytest.fixture(scope="module", params=sorted(SIZES))
def example(request):
    name = request.param
    model, inputs = EXAMPLES[name](**SIZES[name])
    g = torch.Generator().manual_seed(0)
    # tosa_friendly for both builds: the host then runs the TOSA delegate's
    # softmax/layer-norm arithmetic (ptec.quant.decompose), not its exact kernels.
    config = ptec.Int8(calibration=[tuple(_random_like(t, g) for t in inputs) for _ in range(4)],
                       tosa_friendly=True)
    test = tuple(_random_like(t, g) for t in inputs)
    return name, model, inputs, config, test


def test_example_int8_on_tosa_equals_host_bit_for_bit(example):
    name, model, inputs, config, test = example
    host = ptec.compile(model, inputs, quantize=config)
    tosa = ptec.compile(model, inputs, target="tosa-int", quantize=config)
    delegates = sum(runs_on(i) == DELEGATE for i in tosa.instructions)
    cpu = [i for i in tosa.instructions if runs_on(i) != DELEGATE]
    print(f"\n{name}: {delegates} delegate calls, {len(cpu)} CPU instructions")
    if name == "transformer":
        # One delegate: only the token embedding (int64 ids) stays, with its reason.
        assert delegates == 1, tosa.report()
        assert [i.operator for i in cpu] == ["aten::embedding.out",
                                             "quantized_decomposed::quantize_per_tensor.out",
                                             "quantized_decomposed::dequantize_per_tensor.out"]
        assert all(i.delegation for i in cpu)
    else:  # one delegate; the float input's quantize (laid out NHWC for the delegate by a
        # copy, unless it has one channel: DS-CNN's) and the output's dequantize stay
        assert delegates == 1, tosa.report()
        layout = ["aten::clone.out"] if inputs[0].shape[1] > 1 else []
        assert [i.operator for i in cpu] == ["quantized_decomposed::quantize_per_tensor.out",
                                             *layout,
                                             "quantized_decomposed::dequantize_per_tensor.out"]
        assert all(i.delegation == CHANNELS_LAST for i in cpu if i.operator in layout)
    want = np.asarray(ptec.load(host.buffer)(*test)[0])
    got = np.asarray(ptec.load(tosa.buffer)(*test)[0])
    np.testing.assert_array_equal(got, want)


def test_example_fp32_on_tosa_matches_pytorch(example):
    name, model, inputs, _, test = example
    program = ptec.compile(model, inputs, target="tosa-fp")
    delegates = sum(runs_on(i) == DELEGATE for i in program.instructions)
    assert delegates == 1, program.report()
    cpu = [i.operator for i in program.instructions if runs_on(i) != DELEGATE]
    # The transformer's token embedding reads int64 ids, which TOSA has no type for.
    assert cpu == (["aten::embedding.out"] if name == "transformer" else []), program.report()
    got = np.asarray(ptec.load(program.buffer)(*test)[0])
    with torch.no_grad():
        want = model(*test).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_lrn_example_falls_back_to_the_cpu_correctly():
    import tosa_fallback
    result = tosa_fallback.run(seed=1)
    int8, fp32 = result["int8"], result["fp32"]
    assert int8["bit_exact"] and int8["delegates"] >= 2
    assert any("pow" in line for line in int8["cpu"])
    assert fp32["delegates"] == 2 and fp32["max_error"] < 1e-4
    assert fp32["cpu"] == ["pow_1: no TOSA FP conversion for aten.pow.Tensor_Scalar"]


def test_a16w8_example_on_tosa_equals_host_bit_for_bit():
    """DS-CNN with int16 activations: CONV2D int16 x int8 -> int48 in the delegate."""
    model, inputs = EXAMPLES["ds_cnn"]()
    g = torch.Generator().manual_seed(2)
    config = ptec.A16W8(calibration=[(torch.randn(inputs[0].shape, generator=g),)
                                     for _ in range(4)])
    host = ptec.compile(model, inputs, quantize=config)
    tosa = ptec.compile(model, inputs, target="tosa-int", quantize=config)
    assert sum(runs_on(i) == DELEGATE for i in tosa.instructions) == 1, tosa.report()
    (blob,) = tosa.program.backend_delegate_data
    assert any(t.dtype.name == "INT48" for t in read_graph(blob.data).tensors.values())
    x = torch.randn(inputs[0].shape, generator=g)
    np.testing.assert_array_equal(np.asarray(ptec.load(tosa.buffer)(x)[0]),
                                  np.asarray(ptec.load(host.buffer)(x)[0]))


def test_delegate_graphs_run_in_the_tosa_reference_model(tools, tmp_path):
    """The compiled delegate, as written into the .pte, in Arm's reference model."""
    model, inputs = EXAMPLES["ds_cnn"]()
    g = torch.Generator().manual_seed(3)
    config = ptec.Int8(calibration=[(torch.randn(inputs[0].shape, generator=g),)
                                    for _ in range(4)])
    program = ptec.compile(model, inputs, target="tosa-int", quantize=config, integer_io=True)
    (blob,) = program.program.backend_delegate_data
    graph = read_graph(blob.data)
    x = torch.randint(-128, 128, inputs[0].shape, generator=g, dtype=torch.int8)
    (want,) = reference_run(tools, graph, [x.numpy()], tmp_path)
    got = np.asarray(ptec.load(program.buffer)(x)[0])
    np.testing.assert_array_equal(got, want)



@pytest.mark.parametrize("cpu", ["cortex-m55", "cortex-m4"])
def test_tosa_delegate_runs_on_the_emulated_cortex_m(cpu):
    """The NPU-bound graph, run by the TOSA executor in the Cortex-M firmware under
    QEMU, gives the host's integer outputs: the check a board without an NPU can do."""
    model, inputs = EXAMPLES["ds_cnn"]()
    g = torch.Generator().manual_seed(5)
    config = ptec.Int8(calibration=[(torch.randn(inputs[0].shape, generator=g),)
                                    for _ in range(4)])
    program = ptec.compile(model, inputs, target="tosa-int", quantize=config)
    x = torch.randn(inputs[0].shape, generator=g)
    want = np.asarray(ptec.load(program.buffer)(x)[0])
    device = ptec.load(program.buffer, target=cpu)
    np.testing.assert_array_equal(np.asarray(device(x)[0]), want)
    assert "DELEGATE_CALL" in [op.name for op in device.last_run.ops]
