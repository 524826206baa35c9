"""AArch64 int8 GEMM versions chosen at run time from the CPU's features (issue 12):
runtime/src/platform/posix.c (ptec_posix_cpu_features: getauxval HWCAP_ASIMDDP and
HWCAP2_I8MM), ptec_method_set_cpu_features, and kernels/neon/gemm_s8_neon.c's pick among
SMLAL (dot_s8_neon.c), SDOT (dot_s8_dotprod.c) and SMMLA (dot_s8_i8mm.c).

The same plain Armv8-A binary (build/aarch64, PTEC_RUN_AARCH64) runs on three emulated CPUs:
  - `max`:        dotprod and i8mm -> SMMLA blocks (SDOT for single rows)
  - `cortex-a76`: dotprod, no i8mm -> SDOT
  - `cortex-a53`: neither          -> SMLAL (an SDOT or SMMLA would stop it: SIGILL)
- test_cpu_features_from_the_os: the feature word ptec-run hands to the method is the one
  each CPU model has;
- test_int8_gemm_equal_on_every_cpu: random int8 convolutions (k = C*KH*KW not a multiple of
  16: the zero-padded tail; channel counts not multiples of 4), linear layers on 1 to 5 rows
  and a matmul of two activations (both zero points nonzero: every zero-point correction of
  the SMMLA block) give the host's outputs bit for bit on all three CPUs, and through the
  cortex-a76 build on `max` (dotprod from the build, i8mm from the CPU);
- test_random_zero_points_equal_tosa_on_every_cpu: ptec's quantizer gives zero points of 0,
  so one-op programs (test_quantized_kernels' generators: random input and weight zero
  points, scales, biases, activation ranges; NHWC convolutions, linear layers) check the
  zero-point corrections of every version against the TOSA reference bit for bit;
- test_packed_conv_equal_on_every_cpu: random convolutions compiled for target cortex-a76
  (weights packed for SDOT at compile time: ptec::quantized_conv2d_packed) run the SMMLA
  block on those panels on `max` (conv2d_s8_packed_i8mm.c, k tails of 4-12 through SDOT),
  the SDOT block on `cortex-a76` and the unpacked SMLAL fallback on `cortex-a53`, all equal
  to the host's unpacked program bit for bit.
"""
from __future__ import annotations

import random
import shutil
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.device import AARCH64_CPUS, aarch64_ptec_run
from program_builder import build
from test_packed_weights import _ops, _quantized, _random_net
from test_quantized_kernels import REGIMES, conv_args, conv_case, linear_case, order4

#: QEMU CPU model: the PTEC_CPU_* word (ptec.h) its auxiliary vector gives.
CPUS = {"max": 0x3, "cortex-a76": 0x1, "cortex-a53": 0x0}

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-aarch64") is None or
    not all(aarch64_ptec_run(cpu).is_file() for cpu in AARCH64_CPUS),
    reason="needs qemu-aarch64 and `make build-aarch64`")


class Net(nn.Module):
    """conv -> ReLU -> flatten -> linear -> (q @ k^T): quantized_conv2d, quantized_linear
    and quantized_matmul, the three users of the NEON int8 GEMM."""

    def __init__(self, c: int, oc: int, k: int, hw: int, feat: int, d: int):
        super().__init__()
        self.conv = nn.Conv2d(c, oc, k, padding=k // 2)
        self.fc = nn.Linear(oc * hw * hw, feat)
        self.q, self.k = nn.Linear(feat, d), nn.Linear(feat, d)

    def forward(self, x):
        z = self.fc(torch.relu(self.conv(x)).flatten(1))
        return self.q(z) @ self.k(z).transpose(0, 1)


def test_cpu_features_from_the_os(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4)).eval()
    path = tmp_path / "m.pte"
    path.write_bytes(ptec.compile(model, (torch.randn(1, 4),)).buffer)
    for cpu, want in CPUS.items():
        for mask, got_want in ((None, want), ("0", 0), ("0x2", want & 0x2)):
            cmd = ["qemu-aarch64", "-cpu", cpu, str(aarch64_ptec_run("aarch64")), str(path),
                   "--describe"] + (["--cpu-features", mask] if mask else [])
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            assert f"ptec-run: cpu features {got_want:#x}" in done.stderr, \
                f"{cpu}, mask {mask}: {done.stderr}"


def _equal_on_every_cpu(program, inputs, want, what, monkeypatch):
    runs = [("aarch64", cpu) for cpu in CPUS] + [("cortex-a76", "max")]
    for build, cpu in runs:
        monkeypatch.setitem(AARCH64_CPUS, build, (AARCH64_CPUS[build][0], cpu))
        got = ptec.load(program.buffer, target=build)(*inputs)[0].numpy()
        assert np.array_equal(got, want), f"{what}: the {build} build on {cpu}"


def test_int8_gemm_equal_on_every_cpu(seed, monkeypatch):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    for case in range(2):
        c, oc, k = rng.choice([1, 3, 5, 7]), rng.choice([4, 9, 23]), rng.choice([1, 3])
        hw, feat, d = rng.choice([3, 5, 6]), rng.choice([7, 19, 40]), rng.choice([5, 17, 24])
        rows = rng.choice([1, 2, 5])
        model = Net(c, oc, k, hw, feat, d).eval()
        # Shifted inputs: nonzero input zero points for every layer.
        inputs = (torch.randn(rows, c, hw, hw) + rng.uniform(-1, 2),)
        q = _quantized(model, inputs, nrng)
        program = ptec.compile(q, inputs)
        ops = {i.operator for i in program.instructions}
        assert {"ptec::quantized_conv2d.out", "ptec::quantized_linear.out",
                "ptec::quantized_matmul.out"} <= ops, ops
        want = ptec.load(program.buffer)(*inputs)[0].numpy()
        what = f"case {case} (seed {seed}): c {c} oc {oc} k {k} hw {hw} feat {feat} d {d} " \
               f"rows {rows}"
        _equal_on_every_cpu(program, inputs, want, what, monkeypatch)


def test_random_zero_points_equal_tosa_on_every_cpu(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    nhwc = order4("nhwc")
    for case in range(24):  # w_zp != 0 in 3 of 7 draws; small one-op programs are quick
        regime = REGIMES[case % len(REGIMES)]
        k = conv_case(rng, case, regime=regime)
        conv = build("ptec::quantized_conv2d.out", conv_args(k, nhwc, nhwc, nhwc))
        args, expected = linear_case(rng, case, 8, regime)
        linear = build("ptec::quantized_linear.out", args)
        for what, program, want in (("conv", conv, k["expected"]), ("linear", linear, expected)):
            for cpu in CPUS:
                monkeypatch.setitem(AARCH64_CPUS, "aarch64", ("aarch64", cpu))
                got = ptec.load(program.data, target="aarch64")(
                    *[torch.from_numpy(np.ascontiguousarray(a)) for a in program.inputs])
                np.testing.assert_array_equal(
                    got[0].contiguous().numpy().astype(np.int64), want,
                    err_msg=f"{what} case {case} (seed {seed}) on {cpu}")


def test_packed_conv_equal_on_every_cpu(seed, monkeypatch):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    packed_calls = 0
    for case in range(3):
        model, inputs = _random_net(rng)
        q = _quantized(model, inputs, nrng)
        want = ptec.load(ptec.compile(q, inputs).buffer)(*inputs)[0].numpy()
        packed = ptec.compile(q, inputs, target="cortex-a76")
        packed_calls += _ops(packed).count("ptec::quantized_conv2d_packed.out")
        _equal_on_every_cpu(packed, inputs, want, f"case {case} (seed {seed}): {model}",
                            monkeypatch)
    assert packed_calls > 0
