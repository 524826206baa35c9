"""Pointwise ops: activations and math, float32 (and int where PyTorch
allows), contiguous and channels-last."""
import pytest
import torch
import torch.nn.functional as F

from op_testing import Fn, check_edited_program, check_module, randint, randn, rename_operator

SHAPES = [(7,), (2, 3, 4), (2, 4, 3, 3), ()]

FLOAT_OPS = {
    "relu": (torch.relu, "aten::relu.out"),
    "relu6": (F.relu6, "aten::hardtanh.out"),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.75), "aten::hardtanh.out"),
    "clamp": (lambda x: torch.clamp(x, -0.3, 0.4), "aten::clamp.out"),
    "clamp_min": (lambda x: torch.clamp(x, min=0.1), "aten::clamp.out"),
    "clamp_max": (lambda x: torch.clamp(x, max=-0.2), "aten::clamp.out"),
    "clamp_inverted": (lambda x: torch.clamp(x, 0.5, -0.5), "aten::clamp.out"),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), "aten::leaky_relu.out"),
    "gelu": (F.gelu, "aten::gelu.out"),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), "aten::gelu.out"),
    # Core ATen would decompose these; ptec keeps them whole (ptec.export.KEPT_WHOLE)
    # so that a quantized one is a single lookup table.
    "silu": (F.silu, "aten::silu.out"),
    "hardswish": (F.hardswish, "aten::hardswish.out"),
    "hardsigmoid": (F.hardsigmoid, "aten::hardsigmoid.out"),
    "sigmoid": (torch.sigmoid, "aten::sigmoid.out"),
    "tanh": (torch.tanh, "aten::tanh.out"),
    "neg": (torch.neg, "aten::neg.out"),
    "abs": (torch.abs, "aten::abs.out"),
    "exp": (torch.exp, "aten::exp.out"),
    "log": (lambda x: torch.log(x.abs() + 0.01), "aten::log.out"),
    "sqrt": (lambda x: torch.sqrt(x.abs()), "aten::sqrt.out"),
    "rsqrt": (lambda x: torch.rsqrt(x.abs() + 0.01), "aten::rsqrt.out"),
    "reciprocal": (lambda x: torch.reciprocal(x + 4.0), "aten::reciprocal.out"),
    "erf": (torch.erf, "aten::erf.out"),
    "sin": (torch.sin, "aten::sin.out"),
    "cos": (torch.cos, "aten::cos.out"),
    "floor": (torch.floor, "aten::floor.out"),
    "ceil": (torch.ceil, "aten::ceil.out"),
    "round": (lambda x: torch.round(x * 2) / 2, "aten::round.out"),  # ties: half to even
    "trunc": (torch.trunc, "aten::trunc.out"),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op", FLOAT_OPS, ids=str)
def test_float(seed, op, shape):
    fn, name = FLOAT_OPS[op]
    check_module(Fn(fn), (randn(*shape) * 3,), expect_ops=[name])


@pytest.mark.parametrize("op", ["relu", "hardswish", "gelu", "sigmoid", "clamp", "exp"])
def test_channels_last(seed, op):
    fn, name = FLOAT_OPS[op]
    check_module(Fn(fn), (randn(2, 5, 3, 4, channels_last=True) * 3,), expect_ops=[name])


def test_permuted_input(seed):
    """An input whose layout differs from the output's: a transposed view
    inside the graph feeding a pointwise op."""
    check_module(Fn(lambda x: torch.tanh(x.transpose(0, 1))), (randn(6, 9),))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("op", ["relu", "neg", "abs", "clamp_int", "floor"])
def test_integer(seed, op, dtype):
    fn = {"relu": torch.relu, "neg": torch.neg, "abs": torch.abs,
          "clamp_int": lambda x: torch.clamp(x, -3, 4), "floor": lambda x: torch.floor(x * 3)}[op]
    check_module(Fn(fn), (randint(-10, 10, 3, 4, dtype=dtype),))


@pytest.mark.parametrize("op", ["exp", "sigmoid", "sqrt"])
def test_integer_input_float_result(seed, op):
    fn = {"exp": torch.exp, "sigmoid": torch.sigmoid, "sqrt": torch.sqrt}[op]
    check_module(Fn(fn), (randint(0, 5, 6, dtype=torch.int32),))


def test_special_values(seed):
    x = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-30, -1e30])
    for op in ["relu", "hardtanh", "clamp", "sigmoid", "tanh", "neg", "abs", "exp"]:
        check_module(Fn(FLOAT_OPS[op][0]), (x,), equal_nan=True)
    # PyTorch's gelu(inf) is NaN (an artefact of its vectorised erf); ptec's is inf.
    check_module(Fn(F.gelu), (x[torch.isfinite(x) | x.isnan()],), equal_nan=True)


@pytest.mark.parametrize("op,reference", [
    ("aten::silu.out", F.silu),
    ("aten::hardswish.out", F.hardswish),
    ("aten::hardsigmoid.out", F.hardsigmoid),
])
def test_decomposed_kernels(seed, op, reference):
    """Kernels for ops core ATen decomposes (ExecuTorch programs built with
    preserved ops may still call them), run from a renamed relu call."""
    for x in (randn(3, 4, 5) * 4, randn(2, 3, 4, 5, channels_last=True) * 4):
        check_edited_program(Fn(torch.relu), (x,), rename_operator("aten::relu.out", op),
                             reference)
