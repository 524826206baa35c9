"""ptec::quantized_softmax against its NumPy model (tosa_ref.quantized_softmax)
bit for bit, and against float softmax within one step; bad tables rejected.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import tosa_ref as R
from program_builder import Const, Input, Out, build, run
from ptec.quant.lower.softmax import exp_table
from ptec.quant.tosa_math import compute_multiplier_and_shift
from ptec.runtime import PtecError
from test_quantized_kernels import check, order4, rand_int


def _case(rng, shape, dim, in_scale, out_scale, out_zp=0, lo=-128, hi=127):
    x = rand_int(rng, np.int8, shape)
    table = exp_table(in_scale).numpy()
    m, s = compute_multiplier_and_shift(1.0 / out_scale)
    return x, [dim, Const(table), m, s, out_zp, lo, hi], R.quantized_softmax(
        x, dim, table, m, s, out_zp, lo, hi)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("dim", [-1, 1, 0])
def test_softmax_matches_model(seed, layout, dim):
    rng = np.random.default_rng(seed)
    for in_scale, out_scale, zp in [(0.05, 1 / 256, -128), (0.2, 1 / 127, 0), (0.01, 0.004, 3)]:
        x, args, expected = _case(rng, (2, 5, 3, 7), dim, in_scale, out_scale, zp)
        o = order4(layout)
        check("ptec::quantized_softmax.out", [Input(x, o), *args, Out(x.shape, np.int8, o)],
              expected)


def test_softmax_close_to_float(seed):
    """Within one output step of round(softmax(s_in * x) / s_out) everywhere."""
    rng = np.random.default_rng(seed)
    x, args, expected = _case(rng, (64, 10), -1, 0.08, 1 / 128)
    real = torch.softmax(torch.from_numpy(x.astype(np.float64)) * 0.08, -1).numpy()
    ideal = np.clip(np.round(real * 128), -128, 127)
    assert np.abs(expected - ideal).max() <= 1
    got = run(build("ptec::quantized_softmax.out", [Input(x), *args, Out(x.shape, np.int8)]))[0]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("bad", ["negative", "too_large", "zero_at_max"])
def test_bad_exp_table_rejected_at_load(seed, bad):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int8, (2, 4))
    table = exp_table(0.1).numpy().copy()
    if bad == "negative":
        table[3] = -1
    elif bad == "too_large":
        table[100] = (1 << 15) + 1
    else:
        table[255] = 0
    m, s = compute_multiplier_and_shift(128.0)
    with pytest.raises(PtecError) as info:
        run(build("ptec::quantized_softmax.out",
                  [Input(x), -1, Const(table), m, s, 0, -128, 127, Out(x.shape, np.int8)]))
    assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE", info.value
    assert "exp_table" in str(info.value)
