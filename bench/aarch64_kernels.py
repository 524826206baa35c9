#!/usr/bin/env python3
"""ptec's NEON kernels against its reference kernels on AArch64, under qemu-aarch64.

    .venv/bin/python bench/aarch64_kernels.py [--models ds_cnn mobilenet_v2 ...] [--repeat 5]
    .venv/bin/python bench/aarch64_kernels.py --insns [--models ds_cnn mobilenet_v2 resnet18]

Default: for each example model (small sizes, as in the tests), fp32 and int8, the execute
time that ptec-run reports (best of N, load excluded) for three statically linked AArch64
builds:
  - ref:      build/aarch64-ref (-DPTEC_ISA_KERNELS=OFF: the plain C reference kernels,
              Armv8-A; configured and built here when missing), on an emulated Cortex-A76
  - neon:     build/aarch64 (Armv8-A: SMLAL int8, FMA fp32), on an emulated Cortex-A57
  - dotprod:  build/cortex-a76 (-mcpu=cortex-a76: SDOT int8), on an emulated Cortex-A76
and ref's time over each (>1: the variant is faster). QEMU's wall time follows the guest
instruction count only roughly.

--insns: exact guest instructions of one execute per multiply-accumulate of the model's
convolutions and linear layers. Debian's qemu-user ships no TCG plugins (libinsn.so), so
the count comes from QEMU's own log: `-d in_asm,exec,nochain` prints every translated
block's instructions once and a line per block executed (chaining off, so every execution
is logged); the sum over executions of the block's length is the instruction count (equal
to a `-singlestep -d exec` count, one line per instruction, which is 8x slower). One
execute = the count with --repeat 2 minus the count with --repeat 1, so loading (and the
packed weights' check at init) is left out. Columns: the reference build; the SMLAL build;
the SDOT build on the program compiled for "host" (unpacked weights, the state before
ptec.cpu.pack_sdot); the SDOT build on the program compiled for target "cortex-a76" (int8
convolution weights packed for SDOT at compile time); the plain Armv8-A build on QEMU's `max`
CPU, which has i8mm, on the "host" program (the int8 GEMM's SMMLA blocks, picked at run time)
and on the "cortex-a76" program (SMMLA on the packed panels); --columns picks a subset; with --baseline PATH, "base": that
ptec-run (an earlier commit's cortex-a76 build) on the programs compiled for "host". This is
a benchmark, not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

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


#: Smaller ResNet-18 for --insns: QEMU's log runs at a few million guest instructions a second.
INSN_SIZES = {**SIZES, "resnet18": dict(resolution=32)}



def log_counter(tmp: Path) -> Path:
    """bench/qemu_insn_count.c, built for the host into tmp."""
    exe = tmp / "qemu_insn_count"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(ROOT / "bench" / "qemu_insn_count.c")],
                   check=True)
    return exe


def guest_insns(cmd: list[str], cpu: str, tmp: Path, counter: Path) -> int:
    """Guest instructions that `cmd` (an AArch64 program and its arguments) executes:
    QEMU's log goes through a pipe to the counter (it runs to gigabytes)."""
    fifo = tmp / "qemu.log"
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    proc = subprocess.Popen(["qemu-aarch64", "-cpu", cpu, "-d", "in_asm,exec,nochain",
                             "-D", str(fifo)] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    with open(fifo, "rb") as log:
        out = subprocess.run([str(counter)], stdin=log, capture_output=True, text=True,
                             check=True)
    if proc.wait() != 0:
        raise RuntimeError(f"{cmd[0]} failed under qemu-aarch64")
    return int(out.stdout)


def execute_insns(cmd: list[str], cpu: str, tmp: Path, counter: Path) -> int:
    """Guest instructions of one execute: --repeat 2 minus --repeat 1."""
    return (guest_insns(cmd + ["--repeat", "2"], cpu, tmp, counter) -
            guest_insns(cmd + ["--repeat", "1"], cpu, tmp, counter))


def macs(model, inputs) -> int:
    """Multiply-accumulates of the model's convolutions and linear layers."""
    total = 0

    def hook(m, args, out):
        nonlocal total
        if isinstance(m, torch.nn.Conv2d):
            total += out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            total += out.numel() * m.in_features

    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(*inputs)
    for h in hooks:
        h.remove()
    return total


#: --insns columns: (build folder, emulated CPU, compile target)
INSN_BUILDS = {
    "ref": ("aarch64-ref", "cortex-a76", "host"),
    "smlal": ("aarch64", "cortex-a57", "host"),
    "sdot": ("cortex-a76", "cortex-a76", "host"),
    "sdot-packed": ("cortex-a76", "cortex-a76", "cortex-a76"),
    # The plain Armv8-A build on QEMU's `max` CPU (dotprod and i8mm): the int8 GEMM's SMMLA
    # blocks, chosen at run time from the CPU's features (ptec_posix_cpu_features).
    "i8mm": ("aarch64", "max", "host"),
    # ... on the program compiled for "cortex-a76": SMMLA on the SDOT panels packed at compile
    # time (conv2d_s8_packed_i8mm.c).
    "i8mm-packed": ("aarch64", "max", "cortex-a76"),
}


def insn_table(names: list[str], baseline: str | None, dtypes: list[str],
               columns: list[str]) -> None:
    builds = {b: INSN_BUILDS[b] for b in columns}
    if baseline:  # another ptec-run for the Cortex-A76 (an older commit's), on unpacked programs
        builds = {"base": (baseline, "cortex-a76", "host"), **builds}
    print(f"{'model':<14} {'dtype':<5} {'MACs':>10} " +
          " ".join(f"{b:>11}" for b in builds) +
          "   (guest instructions per MAC, one execute, qemu-aarch64)")
    with tempfile.TemporaryDirectory(prefix="ptec-insn-a64-") as tmp:
        tmp = Path(tmp)
        counter = log_counter(tmp)
        for name in names:
            model, inputs = EXAMPLES[name](**INSN_SIZES[name])
            n = macs(model, inputs)
            for tag in dtypes:
                m = int8_model(model, inputs) if tag == "int8" else model
                per = {}
                for b, (folder, cpu, target) in builds.items():
                    if tag == "fp32" and target != "host":
                        per[b] = float("nan")  # nothing is packed for fp32: see "sdot"
                        continue
                    program = ptec.compile(m, inputs, target=target).buffer
                    exe = Path(folder) if b == "base" else ROOT / "build" / folder / "ptec-run"
                    run = ptec_args(exe, program, inputs, tmp, f"{name}-{tag}-{b}")
                    per[b] = execute_insns(run, cpu, tmp, counter) / n
                print(f"{name:<14} {tag:<5} {n:>10} " +
                      " ".join(f"{per[b]:11.3f}" for b in builds), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--models", nargs="*", default=["ds_cnn", "mobilenet_v2", "resnet18",
                                                    "transformer"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--insns", action="store_true",
                    help="guest instructions per MAC from QEMU's log instead of times")
    ap.add_argument("--dtypes", nargs="*", default=["fp32", "int8"], choices=["fp32", "int8"])
    ap.add_argument("--columns", nargs="*", default=list(INSN_BUILDS), choices=list(INSN_BUILDS),
                    help="with --insns: which builds to count")
    ap.add_argument("--baseline", help="with --insns: a column for another Cortex-A76 ptec-run "
                    "(e.g. an earlier commit's build) on the unpacked programs")
    args = ap.parse_args()
    ensure_reference_build()
    if args.insns:
        insn_table(args.models, args.baseline, args.dtypes, args.columns)
        return 0
    print(f"{'model':<14} {'dtype':<5} " + " ".join(f"{b:>9}" for b in BUILDS) +
          f" {'ref/neon':>9} {'ref/dotprod':>11}   (ms under qemu-aarch64, best of {args.repeat})")
    with tempfile.TemporaryDirectory(prefix="ptec-bench-a64-") as tmp:
        for name in args.models:
            model, inputs = EXAMPLES[name](**SIZES[name])
            programs = {"fp32": ptec.compile(model, inputs).buffer,
                        "int8": ptec.compile(int8_model(model, inputs), inputs,
                                             target="cortex-a76").buffer}
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
