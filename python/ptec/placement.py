"""Placing a program in a device's memories, or saying why it cannot fit.

The program file (weights included) goes into the target's flash (an Ethos-U
target's program that does not fit it, into the board's DDR); each
planned buffer (the arena), then the method memory, goes first-fit into its
RAM regions in the order the target lists them (fastest first). The Cortex-M
runner (targets/common/runner.c) places them the same way on the board, so
what the compiler reports is where they end up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .errors import CompileError

ALIGNMENT = 16


@dataclass(frozen=True)
class Placed:
    what: str      # "program", "planned0", ..., "method_memory"
    region: str
    offset: int    # from the region's start
    nbytes: int


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.2f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} B"


def place(target_name: str, memories, program_bytes: int, planned: Sequence[int],
          method_memory: int = 0, weights_bytes: int | None = None) -> list[Placed]:
    """Places the program and its buffers in `memories` (targets.Memory with roles).

    Raises CompileError naming what does not fit, how much it needs and what
    the target has.
    """
    flash = [m for m in memories if m.role == "flash"]
    ram = [m for m in memories if m.role == "ram"]
    ddr = [m for m in memories if m.role == "ddr"]  # Ethos-U targets: flash's overflow
    used = {m.name: 0 for m in memories}
    placed: list[Placed] = []

    def put(what: str, nbytes: int, regions) -> Placed | None:
        for m in regions:
            start = -(-used[m.name] // ALIGNMENT) * ALIGNMENT
            if start + nbytes <= m.size:
                used[m.name] = start + nbytes
                return Placed(what, m.name, start, nbytes)
        return None

    p = put("program", program_bytes, flash) or put("program", program_bytes, ddr)
    if p is None:
        largest = max((m.size for m in flash + ddr), default=0)
        weights = f" ({_size(weights_bytes)} of weights)" if weights_bytes is not None else ""
        raise CompileError(
            f"the program does not fit {target_name}: it needs {_size(program_bytes)} of flash"
            f"{weights}, the target has {_size(largest)}"
            + (f" ({', '.join(f'{m.name} {_size(m.size)}' for m in flash + ddr)})"
               if flash or ddr else "")
            + "; use a smaller model or quantize it (ptec.Int8)")
    placed.append(p)
    for k, nbytes in enumerate(planned):
        p = put(f"planned{k}", nbytes, ram)
        if p is None:
            free = ", ".join(f"{m.name} {_size(m.size - used[m.name])} free of {_size(m.size)}"
                             for m in ram)
            raise CompileError(
                f"the arena does not fit {target_name}: planned buffer {k} needs "
                f"{_size(nbytes)} in one RAM region; the target's RAM: {free}; use a smaller "
                "input resolution or width, or quantize the model (ptec.Int8)")
        placed.append(p)
    if method_memory:
        p = put("method_memory", method_memory, ram)
        if p is None:
            raise CompileError(f"the method memory ({_size(method_memory)}) does not fit "
                               f"{target_name}'s RAM after the arena")
        placed.append(p)
    return placed


def format_placement(target_name: str, memories, placed: Sequence[Placed]) -> str:
    """One line per placed item, then how full each used region is."""
    lines = [f"memory placement on {target_name}:"]
    roles = {m.name: m.role for m in memories}
    for p in placed:
        why = " (larger than the flash)" if roles[p.region] == "ddr" else ""
        lines.append(f"  {p.what:<14} {_size(p.nbytes):>11}  in {p.region} at +0x{p.offset:x}"
                     + why)
    sizes = {m.name: m.size for m in memories}
    for region in dict.fromkeys(p.region for p in placed):
        used = max(p.offset + p.nbytes for p in placed if p.region == region)
        lines.append(f"  {region}: {_size(used)} of {_size(sizes[region])} used "
                     f"({100 * used / sizes[region]:.1f}%)")
    return "\n".join(lines) + "\n"
