"""The Helium (MVE) and DSP (SMLAD) kernel variants equal the reference kernels bit for bit.

Builds tests/cortex_m's kernel-tests firmware for the Cortex-M55 (Helium) and the Cortex-M4
(DSP) and runs it under QEMU: for every fused integer kernel, random shapes, layouts, zero
points, scales and data from a printed seed go through the reference kernel, the runtime's
dispatching kernel and the variant called directly, and the firmware compares the outputs
byte for byte (a variant that declines must leave its output untouched). Set PTEC_SEED to
replay a run; PTEC_ISA_CASES changes the number of cases per kernel (default 120).
"""
from __future__ import annotations

import os
import random
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cortex_m"))

import firmware  # noqa: E402

KERNELS = ["conv2d", "depthwise_conv2d", "linear", "matmul", "add", "mul", "avg_pool2d",
           "max_pool2d"]
# Kernels with a variant on each CPU: those must actually run it in some cases.
VARIANTS = {
    "cortex-m55": set(KERNELS),
    "cortex-m4": {"conv2d", "depthwise_conv2d", "linear", "matmul", "add", "mul"},
}
LINE = re.compile(r"kernel-tests: (\w+) cases (\d+) variant (\d+) mismatches (\d+)")

needs_toolchain = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (see docs/kernels-cortex-m.md)")


def seed() -> int:
    return int(os.environ.get("PTEC_SEED", random.randrange(1, 2**31)))


@needs_toolchain
@pytest.mark.parametrize("cpu", ["cortex-m55", "cortex-m4"])
def test_variants_equal_reference(cpu):
    s = seed()
    cases = os.environ.get("PTEC_ISA_CASES", "120")
    print(f"{cpu}: PTEC_SEED={s} cases={cases}")
    rc, out = firmware.run_kernel_tests(cpu, ["--seed", str(s), "--cases", cases], timeout=600)
    print(out)
    results = {m.group(1): tuple(map(int, m.group(2, 3, 4))) for m in LINE.finditer(out)}
    assert set(results) == set(KERNELS), f"firmware did not report every kernel (seed {s}):\n{out}"
    isa = "mve" if cpu == "cortex-m55" else "dsp"
    assert f"isa {isa}" in out, f"firmware built without the {isa} variants:\n{out}"
    for name, (n, ran, bad) in results.items():
        assert n == int(cases), name
        assert bad == 0, f"{name}: {bad} of {n} cases differ from the reference (seed {s})"
        if name in VARIANTS[cpu]:
            assert ran > 0, f"{name}: the {isa} variant never ran in {n} cases"
        else:
            assert ran == 0, f"{name}: no {isa} variant exists, yet one ran"
    assert rc == 0, out
