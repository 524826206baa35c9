"""Builds and runs tests/cortex_m's kernel-tests firmware (used by
tests/python/test_isa_kernels.py and bench/cortex_m_kernels.py).

    elf = build_kernel_tests("cortex-m55")      # build/kernel-tests-m55/.../kernel-tests.elf
    rc, out = run_kernel_tests("cortex-m55", ["--seed", "7"])
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from ptec import boards  # noqa: E402
from ptec.device import run_firmware  # noqa: E402

BOARDS = {"cortex-m55": "mps3-an547", "cortex-m7": "mps2-an500", "cortex-m4": "mps2-an386"}


def cmake() -> str:
    venv = ROOT / ".venv" / "bin" / "cmake"
    return str(venv) if venv.exists() else (shutil.which("cmake") or "cmake")


def build_dir(cpu: str) -> Path:
    return ROOT / "build" / ("kernel-tests-" + cpu.replace("cortex-", ""))


def build_kernel_tests(cpu: str) -> Path:
    """Configures (once) and builds kernel-tests.elf for `cpu`; returns its path."""
    out = build_dir(cpu)
    toolchain = ROOT / "cmake" / "toolchains" / f"{cpu}.cmake"
    if not (out / "CMakeCache.txt").exists():
        subprocess.run([cmake(), "-S", str(ROOT / "targets"), "-B", str(out),
                        f"-DCMAKE_TOOLCHAIN_FILE={toolchain}", "-DCMAKE_BUILD_TYPE=Release",
                        f"-DPTEC_BOARD={BOARDS[cpu]}"],
                       check=True, stdout=subprocess.DEVNULL)
    jobs = os.environ.get("PTEC_JOBS", "2")
    done = subprocess.run([cmake(), "--build", str(out), "--target", "kernel-tests", "-j", jobs],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building kernel-tests for {cpu} failed:\n{done.stdout[-4000:]}")
    return out / "tests-cortex-m" / "kernel-tests.elf"


def run_kernel_tests(cpu: str, args: list[str], timeout: float = 600.0,
                     cwd: str | os.PathLike | None = None) -> tuple[int, str]:
    """Runs kernel-tests.elf (built if needed) on `cpu`'s QEMU board."""
    elf = build_kernel_tests(cpu)
    boards.get_board(BOARDS[cpu])
    return run_firmware(elf, BOARDS[cpu], args, timeout=timeout, cwd=cwd)
