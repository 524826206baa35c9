"""ptec::linear_8da4w's kernels against each other and against a numpy model of their
arithmetic (issue 14, docs/llm.md "Weight quantization"): the stored per-output weight sums
(the zero point's term, quant_ops.weight_sums) and prompts' rows blocked inside the
AVX-512 VNNI and AVX2 blocks.

- Randomized shapes (seed printed; PTEC_SEED replays): an odd number of groups, N odd and
  past the 16- and 8-output blocks, M 1..11 (rows of x not a multiple of the four-row
  block), through the host build (AVX-512 VNNI here), the same build under valgrind (which
  has no AVX-512: the AVX2 variant), three threads, the reference build and the
  cortex-a76 (SDOT) build under qemu: all equal the numpy model bit for bit.
- A prompt's rows equal the same rows computed one at a time (row blocking changes no bit).
- The kernels read the stored sums: a sum off by one moves every output by zp * xs.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import torch

import ptec
from ptec.llm import quant_ops
from ptec.llm.quantize import quantize_int4_groups
from test_llm_quant import _model_8da4w, _Ops, _reference_runner, _x
from test_x86_kernels import _run_cli

BUILD = Path(__file__).resolve().parents[2] / "build"


def _cases(rng, shapes):
    cases, inputs = [], []
    for m, n, k in shapes:
        w = torch.from_numpy(rng.normal(0, 1, (n, k)).astype(np.float32))
        packed, scales = quantize_int4_groups(w)
        bias = torch.from_numpy(rng.normal(0, 1, n).astype(np.float32))
        cases.append((packed, scales, quant_ops.weight_sums(packed, scales), bias))
        inputs.append(_x(rng, m, k))
    return cases, inputs


def _random_shapes(rng):
    # groups odd (K = 32 * odd), N odd: under a block, between the 8- and 16-output blocks,
    # past both, past the 512-output span of prompts; M past one and two four-row blocks
    shapes = []
    for n_range in ((1, 8), (9, 16), (17, 160), (513, 560)):
        m = int(rng.integers(1, 12))
        n = int(rng.integers(*n_range)) | 1
        k = 32 * (2 * int(rng.integers(0, 20)) + 1)
        shapes.append((m, n, k))
    return shapes


def test_variants_equal_model_bit_for_bit(tmp_path, seed):
    rng = np.random.default_rng(seed)
    cases, inputs = _cases(rng, _random_shapes(rng))
    module = _Ops(quant_ops.linear_8da4w, cases)
    program = ptec.compile(module, tuple(inputs)).buffer
    host = BUILD / "host" / "ptec-run"
    got = {"host (AVX-512 VNNI)": _run_cli(host, program, inputs, tmp_path / "host"),
           "reference build": _run_cli(_reference_runner(), program, inputs, tmp_path / "ref")}
    three = ptec.load(program, threads=3)(*inputs)
    got["host, 3 threads"] = [t.numpy() for t in three]
    a76 = ptec.load(program, target="cortex-a76")(*inputs)
    got["cortex-a76 (SDOT, qemu)"] = [t.numpy() for t in a76]
    for i, (x, (packed, scales, wsum, bias)) in enumerate(zip(inputs, cases)):
        want = _model_8da4w(x, packed, scales, wsum, bias)
        shape = f"case {i}: M {x.shape[0]} K {x.shape[1]} N {packed.shape[0]} (seed {seed})"
        for name, outs in got.items():
            assert np.array_equal(outs[i], want), f"{name}, {shape}"


def test_avx2_variant_equals_model_bit_for_bit(tmp_path, seed):
    """valgrind reports a CPU without AVX-512, so the host build takes its AVX2 variant."""
    rng = np.random.default_rng(seed)
    shapes = [(int(rng.integers(1, 8)), int(rng.integers(9, 40)) | 1, 32 * 3),
              (5, 17, 32 * int(rng.integers(1, 6)))]
    cases, inputs = _cases(rng, shapes)
    program = ptec.compile(_Ops(quant_ops.linear_8da4w, cases), tuple(inputs)).buffer
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "m.pte").write_bytes(program)
    args = ["valgrind", "-q", "--error-exitcode=3", str(BUILD / "host" / "ptec-run"),
            str(tmp_path / "m.pte"), "--output-dir", str(tmp_path)]
    for i, x in enumerate(inputs):
        np.save(tmp_path / f"in{i}.npy", x.numpy())
        args += ["--input", str(tmp_path / f"in{i}.npy")]
    subprocess.run(args, check=True, capture_output=True)
    outs = [np.load(p) for p in sorted(tmp_path.glob("output*.npy"))]
    for i, (x, (packed, scales, wsum, bias)) in enumerate(zip(inputs, cases)):
        assert np.array_equal(outs[i], _model_8da4w(x, packed, scales, wsum, bias)), \
            f"case {i}: M {x.shape[0]} K {x.shape[1]} N {packed.shape[0]} (seed {seed})"


def test_prompt_rows_equal_rows_alone(seed):
    rng = np.random.default_rng(seed)
    (case,), (x,) = _cases(rng, [(7, 37, 32 * 5)])  # 4 + 3 rows in the blocked kernels
    program = ptec.load(ptec.compile(_Ops(quant_ops.linear_8da4w, [case]), (x,)).buffer)
    prompt = program(x)[0].numpy()
    single = ptec.load(ptec.compile(_Ops(quant_ops.linear_8da4w, [case]), (x[:1],)).buffer)
    for m in range(x.shape[0]):
        assert np.array_equal(single(x[m:m + 1])[0].numpy(), prompt[m:m + 1]), \
            f"row {m} of 7 (seed {seed})"


def test_kernels_read_the_stored_sums(seed):
    rng = np.random.default_rng(seed)
    ((packed, scales, wsum, bias),), (x,) = _cases(rng, [(3, 24, 64)])
    x = x.abs() + 0.5  # positive rows: zero point -128
    q, xs, zp = quant_ops.quantize_activations(x)
    assert (zp != 0).all()
    outs = []
    for sums in (wsum, wsum + 1.0):
        module = _Ops(quant_ops.linear_8da4w, [(packed, scales, sums, bias)])
        outs.append(ptec.load(ptec.compile(module, (x,)).buffer)(x)[0].numpy())
    moved = outs[0] - outs[1]  # = zp * xs per row, up to rounding
    want = (zp * xs).numpy()
    np.testing.assert_allclose(moved, np.broadcast_to(want, moved.shape), rtol=1e-3,
                               atol=1e-4 * np.abs(outs[0]).max())


def test_weight_sums_are_the_scaled_group_sums(seed):
    rng = np.random.default_rng(seed)
    w = torch.from_numpy(rng.normal(0, 1, (9, 32 * 7)).astype(np.float32))
    packed, scales = quantize_int4_groups(w)
    exact = (quant_ops.unpack_int4(packed).double().unflatten(1, (7, 32)).sum(-1)
             * scales.double()).sum(1)
    got = quant_ops.weight_sums(packed, scales).double()
    bound = 8 * 2.0 ** -24 * (quant_ops.unpack_int4(packed).double().abs().unflatten(1, (7, 32))
                              .sum(-1) * scales.double()).sum(1)
    assert ((got - exact).abs() <= bound).all()
