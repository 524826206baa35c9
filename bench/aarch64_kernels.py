#!/usr/bin/env python3
"""ptec's NEON kernels against its reference kernels on AArch64, under qemu-aarch64.

    .venv/bin/python bench/aarch64_kernels.py [--models ds_cnn mobilenet_v2 ...] [--repeat 5]

For each example model (small sizes, as in the tests), fp32 and int8, the execute time that
ptec-run reports (best of N, load excluded) for three statically linked AArch64 builds:
  - ref:      build/aarch64-ref (-DPTEC_ISA_KERNELS=OFF: the plain C reference kernels,
              Armv8-A; configured and built here when missing), on an emulated Cortex-A76
  - neon:     build/aarch64 (Armv8-A: SMLAL int8, FMA fp32), on an emulated Cortex-A57
  - dotprod:  build/cortex-a76 (-mcpu=cortex-a76: SDOT int8), on an emulated Cortex-A76
and ref's time over each (>1: the variant is faster). qemu-aarch64 translates each guest
instruction into a few host ones, so these ratios follow the guest instruction counts, not a
real Cortex-A's timing (NEON instructions cost QEMU more host work than scalar ones, which
understates the gain). An exact instruction count would need QEMU's TCG plugins
(libinsn.so); Debian's qemu-user does not ship them, and the script says so when they are
missing. This is a benchmark, not a test: nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import glob
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "python"))
from cpu_kernels import EXAMPLES, int8_model, ptec_args, time_ptec  # noqa: E402

import ptec  # noqa: E402

SIZES = {"mobilenet_v2": dict(resolution=96, width_mult=0.5), "resnet18": dict(resolution=64),
         "ds_cnn": {}, "transformer": {}}
BUILDS = {  # name: (build folder, emulated CPU)
    "ref": ("aarch64-ref", "cortex-a76"),
    "neon": ("aarch64", "cortex-a57"),
    "dotprod": ("cortex-a76", "cortex-a76"),
}


def ensure_reference_build() -> Path:
    out = ROOT / "build" / "aarch64-ref"
    if not (out / "ptec-run").exists():
        cmake = str(ROOT / ".venv" / "bin" / "cmake")
        subprocess.run([cmake, "-S", str(ROOT / "runtime"), "-B", str(out),
                        "-DCMAKE_BUILD_TYPE=Release", "-DPTEC_ISA_KERNELS=OFF",
                        "-DPTEC_BUILD_SHARED=OFF",
                        f"-DCMAKE_TOOLCHAIN_FILE={ROOT}/cmake/toolchains/aarch64-linux.cmake"],
                       check=True, capture_output=True)
        subprocess.run([cmake, "--build", str(out), "--target", "ptec-run", "-j", "2"],
                       check=True, capture_output=True)
    return out / "ptec-run"


def insn_plugin() -> str | None:
    """QEMU's instruction-count plugin where distributions put TCG plugins, if any."""
    for pattern in ("/usr/lib/*/qemu/plugins/libinsn.so", "/usr/lib/qemu/plugins/libinsn.so",
                    "/usr/libexec/qemu/plugins/libinsn.so", "/usr/local/lib/qemu/plugins/libinsn.so"):
        found = glob.glob(pattern)
        if found:
            return found[0]
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["ds_cnn", "mobilenet_v2", "resnet18",
                                                    "transformer"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ensure_reference_build()
    plugin = insn_plugin()
    print("instruction counts: " + (f"TCG plugin {plugin} found (not used yet)" if plugin else
          "n/a (no TCG plugin libinsn.so in this qemu-user; wall-time ratios only)"))
    print(f"{'model':<14} {'dtype':<5} " + " ".join(f"{b:>9}" for b in BUILDS) +
          f" {'ref/neon':>9} {'ref/dotprod':>11}   (ms under qemu-aarch64, best of {args.repeat})")
    with tempfile.TemporaryDirectory(prefix="ptec-bench-a64-") as tmp:
        for name in args.models:
            model, inputs = EXAMPLES[name](**SIZES[name])
            programs = {"fp32": ptec.compile(model, inputs).buffer,
                        "int8": ptec.compile(int8_model(model, inputs), inputs).buffer}
            for tag, program in programs.items():
                ms = {}
                for b, (folder, cpu) in BUILDS.items():
                    runner = ROOT / "build" / folder / "ptec-run"
                    run = ptec_args(runner, program, inputs, Path(tmp), f"{name}-{tag}")
                    ms[b] = time_ptec(["qemu-aarch64", "-cpu", cpu] + run, args.repeat)
                print(f"{name:<14} {tag:<5} " + " ".join(f"{ms[b]:9.2f}" for b in BUILDS) +
                      f" {ms['ref'] / ms['neon']:8.1f}x {ms['ref'] / ms['dotprod']:10.1f}x",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
