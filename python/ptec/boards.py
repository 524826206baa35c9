"""The Cortex-M boards ptec builds firmware for: CPUs, clocks and memories.

These are QEMU's models of Arm's MPS2/MPS3 FPGA boards. The same facts, for
the firmware, are in targets/<board>/board.c and link.ld; keep them in sync.

A board's memories are split by role:
- `code`: the firmware (vectors, runtime, kernels); not for models;
- `data`: the firmware's own .data/.bss/heap/stack; not for models;
- `flash`: holds the program (weights included), read-only at run time;
- `ram`: planned buffers (the arena) and the method memory, first fit in the
  order listed (fastest first);
- `ddr`: off-chip DRAM beside the flash. Ethos-U builds put a program that
  does not fit the flash there (ExecuTorch's Corstone-300/320 examples keep
  the model in DDR), and the simulated NPU's work memory; CPU-only builds do
  not use it (their programs must fit the flash).
"""
from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True)
class Region:
    name: str
    base: int
    size: int
    role: str  # "code" | "data" | "flash" | "ram" | "ddr"
    note: str = ""


@dataclass(frozen=True)
class Board:
    name: str            # QEMU machine name
    cpu: str             # ptec target name
    systick_hz: int      # SysTick counts the processor clock
    regions: tuple[Region, ...]

    def by_role(self, role: str) -> tuple[Region, ...]:
        return tuple(r for r in self.regions if r.role == role)

    @property
    def instructions_per_tick(self) -> float:
        """Under QEMU -icount shift=0 (1 instruction per ns)."""
        return 1e9 / self.systick_hz


BOARDS: dict[str, Board] = {
    "mps3-an547": Board("mps3-an547", "cortex-m55", 32_000_000, (
        Region("itcm", 0x0000_0000, 512 * KiB, "code"),
        Region("dtcm-firmware", 0x2000_0000, 128 * KiB, "data"),
        Region("flash", 0x6000_0000, 8 * MiB, "flash",
               "the board's 8 MiB QSPI flash; under QEMU the runner keeps the program in DDR"),
        Region("dtcm", 0x2002_0000, 384 * KiB, "ram"),
        Region("sram", 0x0100_0000, 2 * MiB, "ram"),
        Region("isram", 0x2100_0000, 4 * MiB, "ram"),
        # QEMU's mps2-tz.c maps the board's DDR at 0x6000_0000 (MPS3_DDR_SIZE, 2 GiB);
        # the flash's stand-in is its first 8 MiB, this is the next 248 MiB.
        Region("ddr", 0x6080_0000, 248 * MiB, "ddr",
               "the Corstone-300's DDR after the flash's stand-in: Ethos-U programs too large "
               "for the flash, the simulated NPU's work memory"),
    )),
    "mps2-an500": Board("mps2-an500", "cortex-m7", 25_000_000, (
        Region("ssram1", 0x0000_0000, 4 * MiB, "code"),
        Region("sram-firmware", 0x203C_0000, 256 * KiB, "data"),
        Region("flash", 0x6000_0000, 16 * MiB, "flash", "PSRAM standing in for flash"),
        Region("sram", 0x2000_0000, 4 * MiB - 256 * KiB, "ram"),
    )),
    "mps2-an386": Board("mps2-an386", "cortex-m4", 25_000_000, (
        Region("ssram1", 0x0000_0000, 4 * MiB, "code"),
        Region("sram-firmware", 0x203C_0000, 256 * KiB, "data"),
        Region("flash", 0x2100_0000, 16 * MiB, "flash", "PSRAM standing in for flash"),
        Region("sram", 0x2000_0000, 4 * MiB - 256 * KiB, "ram"),
    )),
}

CPU_BOARDS = {b.cpu: b.name for b in BOARDS.values()}


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; known: {', '.join(sorted(BOARDS))}") from None


def board_for_cpu(cpu: str) -> str:
    """The QEMU board that emulates target `cpu` ("cortex-m55" -> "mps3-an547")."""
    try:
        return CPU_BOARDS[cpu]
    except KeyError:
        raise ValueError(f"no emulated board for target {cpu!r}; "
                         f"device targets: {', '.join(sorted(CPU_BOARDS))}") from None
