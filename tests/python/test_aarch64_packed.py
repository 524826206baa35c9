"""Int8 convolution weights packed at compile time for the cortex-a76 target (SDOT):
python/ptec/cpu/pack_sdot.py, runtime/src/kernels/neon/conv2d_s8_packed_dotprod.c, under
qemu-aarch64.

- random convolutions (test_packed_weights' generator: kernel sizes, strides, padding,
  dilation, channel counts that are not multiples of 4, 16 or 32, biases that can and
  cannot fold, 1x1 layers read in place) compiled for "host" and "cortex-a76": the packed
  program through the cortex-a76 build (the SDOT packed kernel), on 1 and 3 threads, and
  through the Armv8-A build (no dotprod: quantized_conv2d's SMLAL path on the original
  weight) equals the host program through the host build, bit for bit;
- a bank of panels over 1 MiB (tiles grouped by 4 per pass over the panels), likewise.
"""
from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.device import AARCH64_CPUS, aarch64_ptec_run
from test_packed_weights import _ops, _quantized, _random_net

PACKED = "ptec::quantized_conv2d_packed.out"

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-aarch64") is None or
    not all(aarch64_ptec_run(cpu).is_file() for cpu in AARCH64_CPUS),
    reason="needs qemu-aarch64 and `make build-aarch64`")


def _check(q: nn.Module, inputs, what: str, threads=(1, 3), cpus=("cortex-a76", "aarch64")):
    host = ptec.compile(q, inputs)
    packed = ptec.compile(q, inputs, target="cortex-a76")
    assert PACKED not in _ops(host)
    want = ptec.load(host.buffer)(*inputs)
    for cpu in cpus:
        for t in threads if cpu == "cortex-a76" else (1,):
            got = ptec.load(packed.buffer, target=cpu, threads=t)(*inputs)
            assert len(got) == len(want) == 1
            assert np.array_equal(got[0].numpy(), want[0].numpy()), f"{what}: {cpu}, {t} threads"
    return _ops(packed).count(PACKED)


def test_random_convolutions_packed_sdot_equal_host(seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    packed_calls = 0
    for case in range(4):  # qemu and compiling cost: 4 nets of 1-3 layers, fallback on 2
        model, inputs = _random_net(rng)
        q = _quantized(model, inputs, nrng)
        packed_calls += _check(q, inputs, f"case {case} (seed {seed}): {model}",
                               cpus=("cortex-a76", "aarch64") if case < 2 else ("cortex-a76",))
    assert packed_calls > 0


def test_large_bank_groups_tiles(seed):
    """512 filters of 2304 values: 1.2 MB of panels, so four tiles share each pass."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(256, 512, 3, padding=1), nn.ReLU()).eval()
    inputs = (torch.randn(1, 256, 3, 5),)
    q = _quantized(model, inputs, np.random.default_rng(seed))
    assert _check(q, inputs, f"large bank (seed {seed})", threads=(1, 2), cpus=("cortex-a76",)) == 1
