"""PtecQuantizer and the int8 flow: what gets quantized and how, and the
quantized programs on the C runtime.

Annotation tests look at the converted graph (ptec.quantize.convert): which
tensors have quantize/dequantize pairs, with which parameters. End-to-end
tests quantize a small CNN and the example models, compile them, run them
on the C runtime and compare with the converted (fake-quantized) module
PyTorch runs: the only differences left are those of the float kernels
between the Q/DQ pairs, which can move a value across a rounding boundary.
Each prints its SQNR against the float model too.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.quant.reference import float64_reference
from ptec.quant import qdq, tosa_math
from ptec.quant import quantizer as families

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from models import EXAMPLES  # noqa: E402

qd = torch.ops.quantized_decomposed
aten = torch.ops.aten
INT32_SYMMETRIC = (-(2**31 - 1), 2**31 - 1)


@pytest.fixture(autouse=True)
def seeded(seed):
    """Every test here draws weights and inputs from torch's generator: seed it
    (and print the seed) per test."""
    return seed


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: intra-op threads only wait for each other, and on a
    busy machine for seconds (HistogramObserver calls many small ops)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ helpers


def calibration(shape, count: int = 4, seed: int = 1) -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(shape, generator=g),) for _ in range(count)]


def convert(model: nn.Module, inputs: tuple, config=None) -> torch.fx.GraphModule:
    config = config or ptec.Int8(calibration=calibration(inputs[0].shape))
    return ptec.quantize.quantize(model.eval(), inputs, config)


def calls(gm: torch.fx.GraphModule, target=None) -> list[torch.fx.Node]:
    return [n for n in gm.graph.nodes if n.op == "call_function"
            and (target is None or n.target == target)]


def qparams(node: torch.fx.Node) -> tuple:
    """(scale, zero_point, quant_min, quant_max, dtype) of a per-tensor Q or DQ."""
    return tuple(node.args[1:6])


def producer(node: torch.fx.Node) -> torch.fx.Node:
    """The op a tensor comes from, looking through a DQ and its Q."""
    if qdq.is_dequantize(node):
        node = node.args[0]
    if qdq.is_quantize(node):
        node = node.args[0]
    return node


def attr(gm: torch.fx.GraphModule, node: torch.fx.Node) -> torch.Tensor:
    assert node.op == "get_attr", node
    return getattr(gm, node.target)


def sqnr(reference: torch.Tensor, x: torch.Tensor) -> float:
    noise = (reference - x).pow(2).sum().clamp_min(1e-30)
    return 10 * torch.log10(reference.pow(2).sum() / noise).item()


class SmallCNN(nn.Module):
    """Conv-BN-ReLU, depthwise conv-BN-ReLU6, residual add + ReLU, pools, linear.
    The same weights in every test (seed 0), whatever the test's seed."""

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self._build()

    def _build(self) -> None:
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 5)
        g = torch.Generator().manual_seed(0)
        for bn in (self.bn1, self.bn2):
            bn.running_mean.uniform_(-0.3, 0.3, generator=g)
            bn.running_var.uniform_(0.5, 2.0, generator=g)
            bn.weight.data.uniform_(0.5, 1.5, generator=g)
            bn.bias.data.uniform_(-0.3, 0.3, generator=g)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        y = nn.functional.relu6(self.bn2(self.dw(x)))
        x = torch.relu(self.conv3(y) + x)                   # residual add, fused relu
        x = nn.functional.max_pool2d(x, 2)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


# -------------------------------------------------------------- annotations


def test_conv_bn_relu_becomes_one_pattern():
    model = SmallCNN()
    x = torch.randn(1, 3, 8, 8)
    gm = convert(model, (x,))
    assert not calls(gm, aten.batch_norm.default)
    assert not calls(gm, aten._native_batch_norm_legit_no_training.default)
    conv1 = calls(gm, aten.conv2d.default)[0]
    # dq(x), dq(w), dq(b) -> conv -> relu -> q: nothing between conv and relu.
    assert all(qdq.is_dequantize(a) for a in conv1.args[:3])
    (relu,) = conv1.users
    assert relu.target in (aten.relu.default, aten.relu_.default)
    (q,) = relu.users
    assert qdq.is_quantize(q)


def test_batch_norm_is_folded_into_the_conv_weights():
    model = SmallCNN().eval()
    x = torch.randn(1, 3, 8, 8)
    gm = convert(model, (x,))
    conv1 = calls(gm, aten.conv2d.default)[0]
    weight_dq, bias_dq = conv1.args[1], conv1.args[2]
    w = qd.dequantize_per_channel(*[attr(gm, a) if isinstance(a, torch.fx.Node) else a
                                    for a in weight_dq.args])
    b = qd.dequantize_per_channel(*[attr(gm, a) if isinstance(a, torch.fx.Node) else a
                                    for a in bias_dq.args])
    bn = model.bn1
    factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded_w = model.conv1.weight * factor.reshape(-1, 1, 1, 1)
    folded_b = (model.conv1.bias - bn.running_mean) * factor + bn.bias
    w_scales = attr(gm, weight_dq.args[1])
    torch.testing.assert_close(w, folded_w, atol=float(w_scales.max()) / 2 + 1e-7, rtol=0)
    b_scales = attr(gm, bias_dq.args[1])
    torch.testing.assert_close(b, folded_b, atol=float(b_scales.max()) / 2 + 1e-7, rtol=0)


def test_weights_per_channel_symmetric_int8():
    gm = convert(SmallCNN(), (torch.randn(1, 3, 8, 8),))
    weighted = calls(gm, aten.conv2d.default) + calls(gm, aten.linear.default)
    assert len(weighted) == 4
    for op in weighted:
        dq = op.args[1]
        assert dq.target == qd.dequantize_per_channel.default
        q, scales, zps = (attr(gm, a) for a in dq.args[:3])
        axis, qmin, qmax, dtype = dq.args[3:7]
        assert (axis, qmin, qmax, dtype) == (0, -127, 127, torch.int8)
        assert q.dtype == torch.int8 and scales.shape == (q.shape[0],)
        assert torch.all(zps == 0)
        # min/max per channel: every channel reaches +-127 and never -128.
        per_channel = q.reshape(q.shape[0], -1)
        assert per_channel.abs().amax(1).eq(127).all() and q.min() >= -127


def test_bias_int32_with_the_accumulator_scale():
    gm = convert(SmallCNN(), (torch.randn(1, 3, 8, 8),))
    checked = 0
    for op in calls(gm, aten.conv2d.default) + calls(gm, aten.linear.default):
        if len(op.args) < 3 or op.args[2] is None:
            continue
        x_dq, w_dq, b_dq = op.args[:3]
        q, scales, zps = (attr(gm, a) for a in b_dq.args[:3])
        assert q.dtype == torch.int32
        assert tuple(b_dq.args[3:7]) == (0, *INT32_SYMMETRIC, torch.int32)
        assert torch.all(zps == 0)
        s_in = torch.tensor(x_dq.args[1], dtype=torch.float32)
        s_w = attr(gm, w_dq.args[1])
        assert torch.equal(scales, (s_in * s_w).to(torch.float32))
        checked += 1
    assert checked == 4  # conv1, dw (bias=False, but folding BatchNorm gave it one), conv3, fc


def test_activations_per_tensor_symmetric():
    gm = convert(SmallCNN(), (torch.randn(1, 3, 8, 8),))
    quantizes = calls(gm, qd.quantize_per_tensor.default)
    assert len(quantizes) >= 5
    for q in quantizes:
        scale, zp, qmin, qmax, dtype = qparams(q)
        assert (zp, qmin, qmax, dtype) == (0, -128, 127, torch.int8) and scale > 0


def test_a16w8_dtypes():
    model = SmallCNN()
    x = torch.randn(1, 3, 8, 8)
    gm = convert(model, (x,), ptec.A16W8(calibration=calibration(x.shape)))
    for q in calls(gm, qd.quantize_per_tensor.default):
        assert qparams(q)[1:] == (0, -32768, 32767, torch.int16)
    for op in calls(gm, aten.conv2d.default):
        assert tuple(op.args[1].args[3:7]) == (0, -127, 127, torch.int8)
        assert tuple(op.args[2].args[3:7]) == (0, *INT32_SYMMETRIC, torch.int32)


def test_shared_parameters_for_pools_shapes_and_cat():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            y = torch.cat([self.a(x), torch.relu(self.b(x))], dim=1)
            y = nn.functional.max_pool2d(y, 2)
            y = nn.functional.avg_pool2d(y, 2)
            return y.permute(0, 2, 3, 1).reshape(1, -1)

    gm = convert(Net(), (torch.randn(1, 3, 8, 8),))
    cat = calls(gm, aten.cat.default)[0]
    (q_cat,) = cat.users
    cat_params = qparams(q_cat)
    assert all(qparams(a) == cat_params for a in cat.args[0])  # inputs requantized to one
    for target in (aten.max_pool2d.default, aten.avg_pool2d.default, aten.permute.default,
                   aten.reshape.default):
        (op,) = calls(gm, target)
        (q_out,) = op.users
        assert qparams(op.args[0]) == qparams(q_out) == cat_params, target


@pytest.mark.parametrize("order", [(1, 0), (1, 0, 0), (1, 0, 1), (0, 0)])
def test_cat_of_unquantized_inputs_shares_one_observer(order):
    """cat's later inputs share the first one's parameters; with inputs nothing
    quantized before (a split of the float input), torchao failed to find the
    first input's observer unless its spec came first in the annotation
    ("please make sure only refer to edge or node that has observer")."""
    class Net(nn.Module):
        def forward(self, x):
            parts = torch.split(x, [2, 4], dim=1)
            return torch.cat([parts[i] for i in order], dim=1) * 2 - 1

    x = torch.randn(4, 6)
    gm = convert(Net(), (x,))
    cat = calls(gm, aten.cat.default)[0]
    assert len({qparams(a) for a in cat.args[0]}) == 1  # one set of parameters
    program = ptec.compile(Net(), (x,), quantize=ptec.Int8(calibration=calibration((4, 6))))
    got = torch.as_tensor(np.asarray(ptec.load(program.buffer)(x)[0]))
    want = gm(x)
    step = qparams(cat.args[0][0])[0]
    assert torch.max(torch.abs(got - want)) <= 2 * step + 1e-6  # one step of cat, x2 by mul


def test_shape_ops_do_not_start_quantization():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(x.reshape(1, 1, 6, 6))

    gm = convert(Net(), (torch.randn(36),))
    (reshape,) = calls(gm, aten.reshape.default)
    assert reshape.args[0].op == "placeholder"       # the float input, not a DQ
    (q,) = reshape.users
    assert qdq.is_quantize(q)                         # quantized at the conv's input


def test_unannotated_ops_stay_float():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.norm = nn.LayerNorm(4)

        def forward(self, x):
            return self.fc(self.norm(self.fc(x)))

    gm = convert(Net(), (torch.randn(2, 4),))
    (norm,) = calls(gm, aten.layer_norm.default)
    assert qdq.is_dequantize(norm.args[0])   # reads the first linear's output through DQ
    (q,) = norm.users                        # computes in float; the next linear's input
    assert qdq.is_quantize(q)                # is quantized after it


@pytest.mark.parametrize("make,target", [
    (lambda x: torch.sigmoid(x), aten.sigmoid.default),
    (lambda x: torch.tanh(x), aten.tanh.default),
    (lambda x: nn.functional.hardswish(x), aten.hardswish.default),
    (lambda x: nn.functional.gelu(x), aten.gelu.default),
    (lambda x: nn.functional.silu(x), aten.silu.default),
    (lambda x: torch.softmax(x, -1), aten.softmax.int),
])
def test_nonlinear_activations_get_their_own_parameters(make, target):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return make(self.fc(x) * 3)

    gm = convert(Net(), (torch.randn(2, 8),))
    (op,) = calls(gm, target)
    assert qdq.is_dequantize(op.args[0])
    (q,) = op.users
    assert qdq.is_quantize(q) and qparams(q) != qparams(op.args[0])


def test_matmul_add_mul_quantize_both_operands():
    class Net(nn.Module):
        def forward(self, a, b):
            return torch.relu(torch.bmm(a, b) * a.sum() + torch.matmul(a, b))

    a, b = torch.randn(2, 3, 4), torch.randn(2, 4, 3)
    gm = convert(Net(), (a, b), ptec.Int8(calibration=[(a, b)]))
    for target in (aten.bmm.default, aten.matmul.default, aten.mul.Tensor):
        (op,) = calls(gm, target)
        assert all(qdq.is_dequantize(x) for x in op.args[:2]), target
    (add,) = calls(gm, aten.add.Tensor)
    assert all(qdq.is_dequantize(x) for x in add.args[:2])
    (relu,) = add.users                                # fused: no Q/DQ between add and relu
    assert relu.target in (aten.relu.default, aten.relu_.default)
    assert qdq.is_quantize(next(iter(relu.users)))


def test_graph_inputs_and_outputs_stay_float():
    model = SmallCNN()
    x = torch.randn(1, 3, 8, 8)
    program = ptec.compile(convert(model, (x,)), (x,))
    plan = program.program.execution_plan[0]
    for index in list(plan.inputs) + list(plan.outputs):
        assert plan.values[index].val.scalar_type == 6  # float32


def test_weights_are_int8_constants_in_the_program():
    model = SmallCNN()
    x = torch.randn(1, 3, 8, 8)
    program = ptec.compile(convert(model, (x,)), (x,))
    plan = program.program.execution_plan[0]
    ops = [plan.operators[i.instr_args.op_index].qualified_name
           for i in plan.chains[0].instructions]
    weighted = [i.instr_args for i in plan.chains[0].instructions
                if plan.operators[i.instr_args.op_index].qualified_name
                in ("ptec::quantized_conv2d.out", "ptec::quantized_linear.out")]
    assert len(weighted) == 4
    for call in weighted:
        weight, bias = (plan.values[a].val for a in call.args[1:3])
        assert weight.data_buffer_idx > 0, "weights must be constants of the program"
        assert bias.data_buffer_idx > 0, "biases must be constants of the program"
        assert (weight.scalar_type, bias.scalar_type) == (1, 3)  # int8 weights, int32 biases
    assert "quantized_decomposed::quantize_per_channel.out" not in ops
    float_program = ptec.compile(model.eval(), (x,))
    assert program.constant_bytes < 0.6 * float_program.constant_bytes


def test_compile_with_quantize_equals_the_step_by_step_flow():
    model = SmallCNN()
    x = torch.randn(1, 3, 8, 8)
    cal = calibration(x.shape)
    direct = ptec.compile(model, (x,), quantize=ptec.Int8(calibration=cal))
    prepared = ptec.quantize.prepare(model, (x,), ptec.Int8())
    for batch in cal:
        prepared(*batch)
    converted = ptec.quantize.convert(prepared)
    assert converted.eval() is converted
    assert ptec.compile(converted, (x,)).buffer == direct.buffer


def test_torchao_converted_module_compiles_and_weight_quantize_folds():
    """A module converted by torchao itself (which forbids .eval()), with the
    weights' quantize left in the graph (fold_quantize=False): the compiler
    folds each quantize_per_channel of a constant into an int8 constant."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    model, x = SmallCNN().eval(), torch.randn(1, 3, 8, 8)
    prepared = prepare_pt2e(torch.export.export(model, (x,)).module(),
                            families.PtecQuantizer(ptec.Int8()))
    for batch in calibration(x.shape):
        prepared(*batch)
    converted = convert_pt2e(prepared, fold_quantize=False)
    assert len(calls(converted, qd.quantize_per_channel.default)) == 8
    program = ptec.compile(converted, (x,))
    ops = [info.operator for info in program.instructions]
    assert "quantized_decomposed::quantize_per_channel.out" not in ops
    assert ops.count("quantized_decomposed::dequantize_per_channel.out") == 8
    with torch.no_grad():
        assert sqnr(converted(x), ptec.load(program.buffer)(x)[0]) > 30.0


def test_bad_configurations():
    with pytest.raises(ValueError, match="activations"):
        ptec.Int8(activations="int4")
    with pytest.raises(ValueError, match="observer"):
        ptec.Int8(observer="percentile")
    model, x = SmallCNN(), torch.randn(1, 3, 8, 8)
    with pytest.raises(ptec.CompileError, match="quantize must be"):
        ptec.compile(model, (x,), quantize="int8")
    with pytest.raises(ptec.CompileError, match="calibration data is empty"):
        ptec.compile(model, (x,), quantize=ptec.Int8(calibration=[]))


def test_every_annotated_family_is_a_dq_op_q_pattern():
    """In the converted graph each compute op reads its float tensors
    through DQ and writes (itself or its fused clamp) into a Q."""
    gm = convert(SmallCNN(), (torch.randn(1, 3, 8, 8),))
    compute = families.WEIGHTED_OPS | families.BINARY_OPS | families.POOL_OPS
    seen = 0
    for op in calls(gm):
        if op.target not in compute:
            continue
        tensors = [a for a in op.args if isinstance(a, torch.fx.Node)]
        assert all(qdq.is_dequantize(a) for a in tensors), op
        (user,) = op.users
        if user.target in families.CLAMP_OPS:
            (user,) = user.users
        assert qdq.is_quantize(user), op
        seen += 1
    assert seen == 7  # conv1, dw, conv3, add, max pool, adaptive avg pool, linear


def requantization_scales(gm: torch.fx.GraphModule) -> list[torch.Tensor]:
    """s_in * s_w[c] / s_out of every conv and linear: what the integer kernels
    will apply to their int32 accumulators."""
    scales = []
    for op in calls(gm, aten.conv2d.default) + calls(gm, aten.linear.default):
        s_in = torch.tensor(op.args[0].args[1], dtype=torch.float64)
        s_w = attr(gm, op.args[1].args[1]).double()
        (user,) = op.users
        if user.target in families.CLAMP_OPS:
            (user,) = user.users
        scales.append(s_in * s_w / user.args[1])
    return scales


@pytest.mark.parametrize("config", [ptec.Int8, ptec.A16W8])
def test_requantization_scales_fit_tosa(config):
    """Every accumulator scale is a TOSA multiplier and shift (shift in [2, 62])."""
    model, inputs = EXAMPLES["ds_cnn"]()
    gm = convert(model, inputs, config(calibration=calibration(inputs[0].shape)))
    scales = requantization_scales(gm)
    assert len(scales) == 10
    for per_channel in scales:
        multipliers, shifts = tosa_math.compute_multipliers_and_shifts(per_channel.numpy())
        assert ((shifts >= 2) & (shifts <= 62)).all()
        approx = multipliers.astype(float) * 2.0 ** -shifts.astype(float)
        assert abs(approx / per_channel.numpy() - 1).max() < 2**-30


# --------------------------------------------------------------- end to end


def run_quantized(model: nn.Module, inputs: tuple, config, name: str) -> dict:
    """Quantize, compile, run in C; compare with the converted module and fp32."""
    model = model.eval()
    converted = ptec.quantize.quantize(model, inputs, config)
    program = ptec.compile(converted, inputs)
    g = torch.Generator().manual_seed(7)
    test_inputs = tuple(torch.randn(t.shape, generator=g) for t in inputs)
    got = ptec.load(program.buffer)(*test_inputs)[0]
    with torch.no_grad():
        fake = converted(*test_inputs)
        fake = fake[0] if isinstance(fake, (tuple, list)) else fake
        # The integer program's oracle: the same fake-quantized model evaluated
        # exactly (float32 PyTorch rounds some codes across a step midpoint).
        exact = float64_reference(converted)(*test_inputs)
        exact = (exact[0] if isinstance(exact, (tuple, list)) else exact).to(torch.float32)
        ref = model(*test_inputs)
    (last_dq,) = [n for n in converted.graph.nodes if n.op == "output"][0].args[0]
    lsb = (got - exact).abs() / last_dq.args[1]  # in steps of the output's quantization
    stats = {
        "c_vs_fake_quant": sqnr(fake, got),
        "fake_quant_vs_fp32": sqnr(ref, fake),
        "c_vs_fp32": sqnr(ref, got),
        "max_steps_off": lsb.round().max().item(),
        "equal_fraction": (lsb.round() == 0).float().mean().item(),
        "pte_bytes": len(program.buffer),
    }
    print(f"\n{name} ({config.name}): SQNR C runtime vs fp32 {stats['c_vs_fp32']:.1f} dB, "
          f"fake-quant vs fp32 {stats['fake_quant_vs_fp32']:.1f} dB, C vs fake-quant "
          f"{stats['c_vs_fake_quant']:.1f} dB ({stats['equal_fraction']:.1%} of the outputs "
          f"equal, the others {stats['max_steps_off']:.0f} step(s) off), "
          f"{stats['pte_bytes']:,} bytes")
    return stats


def assert_matches_fake_quant(stats: dict, equal_fraction: float = 1.0) -> None:
    """Against the exactly evaluated fake-quantized model: the integer kernels
    are bit-exact where the whole model is integer; a float fallback between a
    DQ and a Q may round a value to the other side of a step, moving an output
    by a step or two, never more."""
    assert stats["max_steps_off"] <= 2
    assert stats["equal_fraction"] >= equal_fraction
    assert stats["c_vs_fake_quant"] > 30.0


@pytest.mark.parametrize("config", [ptec.Int8, ptec.A16W8])
def test_small_cnn_end_to_end(config):
    x = torch.randn(1, 3, 8, 8)
    stats = run_quantized(SmallCNN(), (x,), config(calibration=calibration(x.shape, 8)),
                          "small CNN")
    assert_matches_fake_quant(stats, equal_fraction=0.8)
    assert stats["c_vs_fp32"] > (30.0 if config is ptec.Int8 else 40.0)


def test_ds_cnn_end_to_end():
    model, inputs = EXAMPLES["ds_cnn"]()
    stats = run_quantized(model, inputs, ptec.Int8(calibration=calibration(inputs[0].shape)),
                          "DS-CNN")
    assert_matches_fake_quant(stats, equal_fraction=0.8)
    assert stats["c_vs_fp32"] > 25.0


def test_mobilenet_v2_end_to_end():
    model, inputs = EXAMPLES["mobilenet_v2"](resolution=64, width_mult=0.5)
    stats = run_quantized(model, inputs, ptec.Int8(calibration=calibration(inputs[0].shape)),
                          "MobileNetV2 64x64 x0.5")
    assert_matches_fake_quant(stats, equal_fraction=0.99)
    # Random weights and random BatchNorm statistics through 52 layers: int8
    # keeps ~14 dB here (a trained network keeps far more; see examples/digits.py).
    assert stats["c_vs_fp32"] > 10.0


def test_quantized_ds_cnn_under_sanitizers(tmp_path):
    """The quantized program in the ASan/UBSan command-line runner."""
    runner = Path(os.environ.get("PTEC_RUN_ASAN",
                                 Path(__file__).resolve().parents[2] / "build/asan/ptec-run"))
    if not runner.is_file():
        pytest.fail(f"{runner} is missing: build it with `make build-asan`")
    model, inputs = EXAMPLES["ds_cnn"]()
    converted = ptec.quantize.quantize(model, inputs,
                                       ptec.Int8(calibration=calibration(inputs[0].shape)))
    program = ptec.compile(converted, inputs)
    program.save(tmp_path / "ds_cnn_int8.pte")
    np.save(tmp_path / "in0.npy", inputs[0].contiguous().numpy())
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    result = subprocess.run([str(runner), str(tmp_path / "ds_cnn_int8.pte"), "--input",
                             str(tmp_path / "in0.npy"), "--output-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "runtime error" not in result.stderr
    got = torch.from_numpy(np.load(tmp_path / "output0.npy"))
    with torch.no_grad():
        assert sqnr(converted(*inputs), got) > 30.0
