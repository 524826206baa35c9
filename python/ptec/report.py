"""The compile report: where each instruction runs, memory, and what is missing.

Plain text for people; every figure in it is also an attribute of the
CompiledProgram for tools.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .emit import InstructionInfo
from .kernels import KernelProblem
from .memory import MemoryPlan
from .pte import schema as pte

#: Where a kernel call runs (one place for now: delegates and fused kernels come later).
PORTABLE = "portable kernel"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _shapes(outputs: Sequence[tuple[tuple[int, ...], torch.dtype]]) -> str:
    return ", ".join(f"{_dtype_name(d)}{list(s)}" for s, d in outputs)


def format_report(target: str, program: pte.Program, instructions: Sequence[InstructionInfo],
                  memory: MemoryPlan, constant_bytes: int,
                  kernel_problems: Sequence[KernelProblem] | None, kernel_source: str) -> str:
    plan = program.execution_plan[0]
    lines = [f"ptec program for target '{target}': method '{plan.name}', "
             f"{len(instructions)} instructions, {len(plan.values)} values, "
             f"{len(plan.operators)} operators", ""]
    width = max([len(i.operator) for i in instructions] + [len("operator")])
    nodes = max([len(i.node) for i in instructions] + [len("node")])
    lines.append(f"{'#':>4}  {'node':<{nodes}}  {'operator':<{width}}  {'runs on':<15}  output")
    for index, info in enumerate(instructions):
        lines.append(f"{index:>4}  {info.node:<{nodes}}  {info.operator:<{width}}  "
                     f"{PORTABLE:<15}  {_shapes(info.outputs)}")
    n_constants = max(len(program.constant_segment.offsets) - 1, 0)
    lines += [
        "",
        f"constants:      {constant_bytes:>12,} bytes in {n_constants} tensors",
        f"planned arena:  {memory.arena_bytes:>12,} bytes (memory 1)",
        f"liveness bound: {memory.lower_bound_bytes:>12,} bytes "
        f"(arena/bound = {memory.ratio:.3f})",
        "",
    ]
    if kernel_problems is None:
        lines.append(f"kernels: not checked ({kernel_source})")
    elif kernel_problems:
        lines.append(f"kernels: {len(kernel_problems)} operators cannot run on the runtime "
                     f"({kernel_source}):")
        lines += [f"  {p.operator}: {p.reason}" for p in kernel_problems]
    else:
        lines.append(f"kernels: every operator has a kernel ({kernel_source})")
    return "\n".join(lines) + "\n"
