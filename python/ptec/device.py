"""Run Cortex-M firmware under QEMU, and `.pte` programs on the emulated boards.

`run_firmware(elf, board, args)` starts `qemu-system-arm` on one of the boards
of targets/ with semihosting (the firmware reads and writes host files and
gets `args` as its command line) and `-icount shift=0` (one instruction = 1 ns
of virtual time, so SysTick counts repeat exactly). It returns QEMU's exit
code, which is the firmware's, and everything the firmware printed.

`run_program` (used by `ptec run --target`) and `DeviceProgram` (what
`ptec.load(..., target="cortex-m55")` returns) run a `.pte` with the board's
ptec-runner firmware (targets/common/runner.c).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from . import boards

QEMU = os.environ.get("PTEC_QEMU", "qemu-system-arm")


class DeviceError(RuntimeError):
    """The firmware could not be run, or it failed."""


def qemu_command(elf_path: str | os.PathLike, board: str, args: Sequence[str] = ()) -> list[str]:
    """The QEMU command line that runs `elf_path` on `board` with `args`."""
    boards.get_board(board)  # unknown board: a clear error, not a QEMU one
    argv = [Path(elf_path).name, *map(str, args)]
    for a in argv:
        # QEMU joins the arguments with spaces for SYS_GET_CMDLINE, and a comma
        # would end the -semihosting-config option.
        if not a or " " in a or "," in a:
            raise DeviceError(f"firmware argument {a!r}: no spaces, commas or empty arguments")
    config = "enable=on,target=native," + ",".join(f"arg={a}" for a in argv)
    return [QEMU, "-M", board, "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", config, "-icount", "shift=0", "-kernel", str(elf_path)]


def run_firmware(elf_path: str | os.PathLike, board: str, args: Sequence[str] = (),
                 timeout: float = 120.0, cwd: str | os.PathLike | None = None) -> tuple[int, str]:
    """Runs the firmware to its semihosting exit: (exit code, stdout + stderr).

    Raises DeviceError if QEMU is missing, or the run exceeds `timeout` seconds
    (wall clock: a hung firmware, not a slow one, is what this catches).
    """
    if shutil.which(QEMU) is None:
        raise DeviceError(f"{QEMU} not found: apt-get install qemu-system-arm")
    if not Path(elf_path).is_file():
        raise DeviceError(f"no firmware at {elf_path}: build it with `make build-m55` (or -m4, -m7)")
    elf_path = Path(elf_path).resolve()  # `cwd` must not change which file runs
    cmd = qemu_command(elf_path, board, args)
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise DeviceError(f"{Path(elf_path).name} on {board} did not finish in {timeout:.0f} s;"
                          f" output so far:\n{out}") from None
    return done.returncode, done.stdout.decode(errors="replace")


# ----------------------------------------------------------------- the runner

def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def build_dir(cpu: str) -> Path:
    """Where `make build-<cpu>` puts the firmware: build/m55, build/m7, build/m4."""
    env = os.environ.get("PTEC_FIRMWARE_DIR_" + cpu.replace("-", "_").upper())
    if env:
        return Path(env)
    return repo_root() / "build" / cpu.replace("cortex-", "")


def runner_elf(cpu: str) -> Path:
    return build_dir(cpu) / "ptec-runner.elf"


@dataclass
class OpTicks:
    """One executed instruction of the method: its SysTick ticks."""
    index: int
    name: str
    ticks: int


@dataclass
class DeviceRun:
    """What one run of the runner firmware reported."""
    board: str
    exit_code: int
    output: str
    ticks: int = 0                         # whole execute
    instructions_per_tick: float = 0.0     # 1e9 / SysTick clock under -icount shift=0
    ops: list[OpTicks] = field(default_factory=list)
    placement: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # what -> (region, address, bytes)
    method_memory: int = 0
    scratch: int = 0
    planned: list[int] = field(default_factory=list)
    structs: tuple[int, int] = (0, 0)      # sizeof(ptec_program), sizeof(ptec_method)
    stack_init: int = 0                    # runtime stack peak in method init
    stack_execute: int = 0                 # ... and in execute
    etdump: bytes | None = None            # the run's ETDump (run_program(etdump=True))
    cases: list[tuple[int, float, bool]] = field(default_factory=list)  # --verify: (case, max error, passed)

    @property
    def instructions(self) -> float:
        """Executed Arm instructions (ticks x instructions per tick)."""
        return self.ticks * self.instructions_per_tick


_LINE = re.compile(r"^ptec-runner: (\w+)(?: (.*))?$")
_RUNTIME_ERROR = re.compile(r"^ptec-runner: error: (\w+) failed: (PTEC_STATUS_\w+): (.*)$",
                            re.MULTILINE)


def parse_runner_output(board: str, rc: int, text: str) -> DeviceRun:
    """Reads the runner's `ptec-runner: <key> <values>` lines."""
    run = DeviceRun(board=board, exit_code=rc, output=text)
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        key, rest = m.group(1), (m.group(2) or "").split()
        if key == "case" and len(rest) >= 3:
            run.cases.append((int(rest[0]), int(rest[1]) / 1e6, rest[2] == "ok"))
        elif key == "op" and len(rest) >= 3:
            run.ops.append(OpTicks(int(rest[0]), rest[1], int(rest[2])))
        elif key == "ticks" and len(rest) >= 2:
            run.ticks = int(rest[0])
            run.instructions_per_tick = 1e9 / int(rest[1])
        elif key == "place" and len(rest) >= 4:
            run.placement[rest[0]] = (rest[1], int(rest[2], 16), int(rest[3]))
        elif key == "structs" and len(rest) >= 2:
            run.structs = (int(rest[0]), int(rest[1]))
        elif key == "stack" and len(rest) >= 2:
            fields = dict(zip(rest[::2], rest[1::2]))
            run.stack_init = int(fields.get("init", 0))
            run.stack_execute = int(fields.get("execute", 0))
        elif key == "memory" and len(rest) >= 2:
            run.method_memory, run.scratch = int(rest[0]), int(rest[1])
            run.planned = [int(x) for x in rest[2:]]
    return run


def run_program(pte_path: str | os.PathLike, input_paths: Sequence[str | os.PathLike],
                output_dir: str | os.PathLike, cpu: str = "cortex-m55", method: str = "forward",
                timeout: float = 300.0, profile: bool = True,
                plan_only: bool = False, etdump: bool = False,
                verify: bool = False) -> DeviceRun:
    """Runs a `.pte` on `cpu`'s board with .npy inputs; writes outputN.npy to `output_dir`.
    With `etdump`, the run's profile comes back as an ExecuTorch ETDump too. With
    `verify`, the file is a bundled program whose test cases run (`cases`).

    File names are passed relative to a scratch directory QEMU runs in, so
    paths with spaces elsewhere still work.
    """
    board = boards.board_for_cpu(cpu)
    elf = runner_elf(cpu)
    with tempfile.TemporaryDirectory(prefix="ptec-device-") as tmp:
        tmp_path = Path(tmp)
        os.symlink(Path(pte_path).resolve(), tmp_path / "model.pte")
        args = ["model.pte", "--method", method, "--output-dir", "out"]
        for i, p in enumerate(input_paths):
            os.symlink(Path(p).resolve(), tmp_path / f"in{i}.npy")
            args += ["--input", f"in{i}.npy"]
        if profile:
            args.append("--profile")
        if plan_only:
            args.append("--plan-only")
        if etdump:
            args += ["--etdump", "profile.etdp"]
        if verify:
            args.append("--verify")
        (tmp_path / "out").mkdir()
        rc, text = run_firmware(elf, board, args, timeout=timeout, cwd=tmp)
        run = parse_runner_output(board, rc, text)
        if rc == 0 and etdump:
            run.etdump = (tmp_path / "profile.etdp").read_bytes()
        if rc == 0:
            out = Path(output_dir)
            out.mkdir(parents=True, exist_ok=True)
            for f in sorted((tmp_path / "out").glob("output*.npy")):
                shutil.copy(f, out / f.name)
    return run


class DeviceProgram:
    """A `.pte` program run on an emulated board: call it like the module.

    Each call writes the inputs as .npy files, runs the board's runner
    firmware under QEMU and reads the outputs back. `last_run` keeps what the
    firmware reported (ticks per operator, placement, memory). A runtime
    error status raises ptec.runtime.PtecError, as on the host.
    """

    def __init__(self, data: bytes, cpu: str, timeout: float = 300.0, profile: bool = True):
        self.cpu = cpu
        self.board = boards.board_for_cpu(cpu)
        self.data = data
        self.timeout = timeout
        self.profile = profile
        self.last_run: DeviceRun | None = None
        self.last_profile = None  # a ptec.devtools.Profile after run(..., profile=True)
        if not runner_elf(cpu).is_file():
            raise DeviceError(f"no runner firmware for {cpu} at {runner_elf(cpu)}: "
                              f"build it with `make build-{cpu.replace('cortex-', '')}`")

    def run(self, inputs: Sequence, method: str = "forward", profile: bool = False) -> list:
        """With `profile`, `last_profile` then holds the run's ETDump and its events in
        SysTick ticks (a ptec.devtools.Profile), as the host's run(..., profile=True)."""
        import numpy as np
        import torch

        from .devtools import Profile

        with tempfile.TemporaryDirectory(prefix="ptec-load-") as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "model.pte").write_bytes(self.data)
            paths = []
            for k, t in enumerate(inputs):
                t = t if isinstance(t, torch.Tensor) else torch.as_tensor(t)
                path = tmp_path / f"input{k}.npy"
                np.save(path, t.detach().cpu().contiguous().numpy())
                paths.append(path)
            run = run_program(tmp_path / "model.pte", paths, tmp_path / "out", cpu=self.cpu,
                              method=method, timeout=self.timeout, profile=self.profile,
                              etdump=profile)
            self._check(run)
            if run.etdump is not None:
                self.last_profile = Profile.from_etdump(run.etdump)
            outputs = sorted((tmp_path / "out").glob("output*.npy"),
                             key=lambda p: int(p.stem.removeprefix("output")))
            return [torch.from_numpy(np.load(p)) for p in outputs]

    def __call__(self, *inputs) -> list:
        return self.run(inputs)

    def method(self, name: str = "forward") -> "DeviceProgram":
        """Loads and initialises method `name` on the device without running
        it (the runner's --plan-only): raises PtecError where init fails."""
        with tempfile.TemporaryDirectory(prefix="ptec-load-") as tmp:
            (Path(tmp) / "model.pte").write_bytes(self.data)
            self._check(run_program(Path(tmp) / "model.pte", [], Path(tmp) / "out",
                                    cpu=self.cpu, method=name, timeout=self.timeout,
                                    profile=False, plan_only=True))
        return self

    def _check(self, run: DeviceRun) -> None:
        self.last_run = run
        if run.exit_code == 2:  # a runtime status: the same error the host raises
            m = _RUNTIME_ERROR.search(run.output)
            if m:
                from .runtime import PtecError
                raise PtecError(m.group(2), m.group(3), m.group(1))
        if run.exit_code != 0:
            errors = [l for l in run.output.splitlines() if "error" in l] or [run.output]
            raise DeviceError(f"{self.cpu} ({self.board}) runner failed with exit code "
                              f"{run.exit_code}: " + "\n".join(errors))


# ------------------------------------------------------- Cortex-A (AArch64 Linux)

#: Cortex-A targets: the build folder of their ptec-run (`make build-aarch64`) and the
#: CPU qemu-aarch64 emulates for them.
AARCH64_CPUS = {"cortex-a76": ("cortex-a76", "cortex-a76"), "aarch64": ("aarch64", "cortex-a57")}
QEMU_AARCH64 = os.environ.get("PTEC_QEMU_AARCH64", "qemu-aarch64")


def aarch64_ptec_run(cpu: str) -> Path:
    """The statically linked AArch64 ptec-run for `cpu` (PTEC_RUN_CORTEX_A76 /
    PTEC_RUN_AARCH64 override build/<folder>/ptec-run)."""
    env = os.environ.get("PTEC_RUN_" + cpu.replace("-", "_").upper())
    # Absolute: the program runs in a temporary folder (make test passes build/... paths).
    return Path(env).resolve() if env else repo_root() / "build" / AARCH64_CPUS[cpu][0] / "ptec-run"


class LinuxUserProgram:
    """A `.pte` program run by the cross-built ptec-run of a Cortex-A CPU under
    qemu-aarch64 (user mode: the Linux process is emulated, not a board). Call it
    like the module; a runtime error status raises ptec.runtime.PtecError."""

    def __init__(self, data: bytes, cpu: str, timeout: float = 300.0, threads: int = 1):
        self.cpu, self.data, self.timeout, self.threads = cpu, data, timeout, threads
        self.exe = aarch64_ptec_run(cpu)
        if not self.exe.is_file():
            raise DeviceError(f"no ptec-run for {cpu} at {self.exe}: build it with "
                              "`make build-aarch64`")
        if shutil.which(QEMU_AARCH64) is None:
            raise DeviceError(f"{QEMU_AARCH64} not found: apt-get install qemu-user")

    def run(self, inputs: Sequence, method: str = "forward") -> list:
        import numpy as np
        import torch

        with tempfile.TemporaryDirectory(prefix="ptec-load-") as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "model.pte").write_bytes(self.data)
            (tmp_path / "out").mkdir()
            cmd = [QEMU_AARCH64, "-cpu", AARCH64_CPUS[self.cpu][1], str(self.exe), "model.pte",
                   "--method", method, "--output-dir", "out", "--threads", str(self.threads)]
            for k, t in enumerate(inputs):
                t = t if isinstance(t, torch.Tensor) else torch.as_tensor(t)
                np.save(tmp_path / f"input{k}.npy", t.detach().cpu().contiguous().numpy())
                cmd += ["--input", f"input{k}.npy"]
            try:
                done = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise DeviceError(f"ptec-run on {self.cpu} did not finish in "
                                  f"{self.timeout:.0f} s") from None
            err = done.stderr.decode(errors="replace")
            if done.returncode == 2:
                m = re.search(r"^ptec-run: (\w+) failed: (PTEC_STATUS_\w+): (.*)$", err,
                              re.MULTILINE)
                if m:
                    from .runtime import PtecError
                    raise PtecError(m.group(2), m.group(3), m.group(1))
            if done.returncode != 0:
                raise DeviceError(f"ptec-run on {self.cpu} failed with exit code "
                                  f"{done.returncode}: {err}")
            outputs = sorted((tmp_path / "out").glob("output*.npy"),
                             key=lambda p: int(p.stem.removeprefix("output")))
            return [torch.from_numpy(np.load(p)) for p in outputs]

    def __call__(self, *inputs) -> list:
        return self.run(inputs)
