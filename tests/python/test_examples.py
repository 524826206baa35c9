"""End to end: every example model, compiled by ptec and run on the C runtime, matches PyTorch.

The models are random-initialised from fixed seeds (examples/models.py). The
CNNs run at 96x96 here to keep the suite fast; `make demo` runs 224x224.
"""
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402
from run_examples import RELATIVE_TOLERANCE, compare, memory_stats  # noqa: E402

import ptec  # noqa: E402

TEST_SIZES = {
    "mobilenet_v2": dict(resolution=96),
    "resnet18": dict(resolution=96),
    "ds_cnn": {},
    "transformer": {},
}
ARENA_SLACK = 1.10  # planned arena <= 1.10x the liveness lower bound


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _check_close(actual, expected, what):
    err, mag = compare(_as_list(actual), _as_list(expected))
    print(f"{what}: max abs error {err:.3e}, max |output| {mag:.3e}, ratio {err / mag:.3e}")
    assert err <= RELATIVE_TOLERANCE * mag, (
        f"{what}: max abs error {err:.3e} > {RELATIVE_TOLERANCE:.0e} x max|output| {mag:.3e}")


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def compiled(request):
    """(name, model, inputs, eager outputs, compiled program), compiled once per model."""
    name = request.param
    model, inputs = EXAMPLES[name](**TEST_SIZES[name])
    with torch.no_grad():
        expected = model(*inputs)
    return name, model, inputs, expected, ptec.compile(model, inputs)


def test_example_registry_is_complete():
    assert set(EXAMPLES) == {"mobilenet_v2", "resnet18", "ds_cnn", "transformer"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_models_are_deterministic_and_well_scaled(name):
    size = {"resolution": 64} if "resolution" in TEST_SIZES[name] else {}
    m1, x1 = EXAMPLES[name](**size)
    m2, x2 = EXAMPLES[name](**size)
    assert not m1.training
    with torch.no_grad():
        y1, y2 = m1(*x1), m2(*x2)
    assert all(torch.equal(a, b) for a, b in zip(x1, x2))
    assert torch.equal(y1, y2)
    # Random weights must give outputs that a relative tolerance can judge.
    assert 0.1 < float(y1.abs().max()) < 100.0
    assert float(y1.std()) > 0.01


def test_batchnorm_statistics_are_not_trivial():
    model, _ = EXAMPLES["ds_cnn"]()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns
    for bn in bns:
        assert bn.running_mean.abs().max() > 0.01
        assert (bn.running_var - 1).abs().max() > 0.01
        assert (bn.weight - 1).abs().max() > 0.01
        assert bn.bias.abs().max() > 0.01


def test_example_matches_pytorch(compiled):
    name, _, inputs, expected, prog = compiled
    actual = ptec.load(prog.buffer)(*inputs)
    _check_close(actual, expected, name)


def test_example_arena_is_near_lower_bound(compiled):
    name, _, _, _, prog = compiled
    arena, lower_bound, _ = memory_stats(prog)
    print(f"{name}: arena {arena} B, lower bound {lower_bound} B, ratio {arena / lower_bound:.3f}")
    assert lower_bound <= arena <= ARENA_SLACK * lower_bound


def test_channels_last_cnn_matches_pytorch():
    model, (x,) = EXAMPLES["mobilenet_v2"](resolution=96)
    model = model.to(memory_format=torch.channels_last)
    x = x.to(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = model(x)
    prog = ptec.compile(model, (x,))
    plan = prog.program.execution_plan[0]
    # The program must keep channels-last, not convert to contiguous on the way in.
    assert list(plan.values[plan.inputs[0]].val.dim_order) == [0, 2, 3, 1]
    _check_close(ptec.load(prog.buffer)(x), expected, "mobilenet_v2 channels-last")
