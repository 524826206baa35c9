"""Cortex-A (AArch64 Linux) targets: the example models through ptec.load(..., target=
"cortex-a76") and target="aarch64" (the cross-built ptec-run under qemu-aarch64, NEON
kernels with SDOT or SMLAL) give the host's outputs: int8 bit for bit, fp32 within 1e-5
relative (docs/kernels-cpu.md). Needs `make build-aarch64` and qemu-user."""
from __future__ import annotations

import functools

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.cpu import pack_conv_weights_sdot
from ptec.device import AARCH64_CPUS, aarch64_ptec_run
from ptec.targets import get_target

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402
from test_tosa_lowering import SIZES, _random_like  # noqa: E402  (the small sizes)


pytestmark = pytest.mark.skipif(
    shutil.which("qemu-aarch64") is None or
    not all(aarch64_ptec_run(cpu).is_file() for cpu in AARCH64_CPUS),
    reason="needs qemu-aarch64 and `make build-aarch64`")


def test_targets_are_data():
    host = get_target("host").passes
    for name in ("cortex-a76", "aarch64"):
        t = get_target(name)
        assert t.memories is None and t.board is None
    assert get_target("aarch64").passes == host
    # cortex-a76: the host's passes plus the SDOT weight packing before the out variants
    a76 = get_target("cortex-a76").passes
    assert a76 == host[:-1] + (pack_conv_weights_sdot, host[-1])
    assert "dotprod" in get_target("cortex-a76").isa_features


@functools.lru_cache(maxsize=None)
def _programs(name: str):
    model, inputs = EXAMPLES[name](**SIZES[name])
    g = torch.Generator().manual_seed(0)
    prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
    ptec.quantize.calibrate(prepared, [tuple(_random_like(t, g) for t in inputs)
                                       for _ in range(4)])
    test = tuple(_random_like(t, g) for t in inputs)
    q = ptec.quantize.convert(prepared)
    return name, {"int8": ptec.compile(q, inputs).buffer,
                  "fp32": ptec.compile(model, inputs).buffer,
                  # int8 convolution weights packed for SDOT (ptec.cpu.pack_sdot)
                  "int8-packed": ptec.compile(q, inputs, target="cortex-a76").buffer}, test


def _compare(name, tag, got, want):
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        g, w = g.numpy(), w.numpy()
        assert g.shape == w.shape and g.dtype == w.dtype
        if tag.startswith("int8") or not np.issubdtype(w.dtype, np.floating):
            assert np.array_equal(g, w), f"{name} {tag}: outputs differ from the host's"
        else:
            scale = float(np.abs(w).max())
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * scale,
                                       err_msg=f"{name} {tag}")


#: Every model on the cortex-a76 build; the plain Armv8-A build runs the two small
#: ones (qemu time).
CASES = [(name, "cortex-a76") for name in sorted(SIZES)] + [
    ("ds_cnn", "aarch64"), ("transformer", "aarch64")]


@pytest.mark.parametrize("name,cpu", CASES)
def test_example_models_match_host(name, cpu):
    name, progs, test = _programs(name)
    want = {}
    for tag, program in progs.items():
        if tag == "int8-packed":
            if cpu != "cortex-a76":
                continue
            # equal to the unpacked program on the host, bit for bit
            want[tag] = want["int8"]
        else:
            want[tag] = ptec.load(program)(*test)
        got = ptec.load(program, target=cpu)(*test)
        _compare(name, tag, got, want[tag])


def test_runtime_error_is_a_ptec_error():
    name, progs, test = _programs("ds_cnn")
    bad = tuple(t[..., :1] for t in test)  # wrong input shape
    with pytest.raises(ptec.runtime.PtecError):
        ptec.load(progs["int8"], target="cortex-a76")(*bad)
