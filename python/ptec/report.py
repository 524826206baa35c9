"""The compile report: where each instruction runs, memory, and what is missing.

Plain text for people; every figure in it is also an attribute of the
CompiledProgram for tools.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .emit import InstructionInfo
from .ethosu.report import format_npu_section
from .kernels import KernelProblem
from .memory import MemoryPlan
from .pte import schema as pte

#: Where a kernel call runs.
PORTABLE = "portable kernel"
INTEGER = "integer kernel"
FLOAT_FALLBACK = "float kernel"
QUANTIZE = "quantize"
DEQUANTIZE = "dequantize"
DELEGATE = "delegate"
#: A jump or move of a torch.cond (passes/control_flow.py): no kernel.
CONTROL = "control flow"


def runs_on(info: InstructionInfo) -> str:
    """The report's "runs on" for one instruction."""
    if info.operator.startswith("delegate "):
        return DELEGATE
    if info.operator in ("jump_false", "jump", "move"):
        return CONTROL
    if info.operator.startswith("quantized_decomposed::quantize"):
        return QUANTIZE
    if info.operator.startswith("quantized_decomposed::dequantize"):
        return DEQUANTIZE
    if info.lowering is None:
        return PORTABLE
    return INTEGER if info.lowering == "integer" else FLOAT_FALLBACK


def _io_lines(io: dict | None) -> list[str]:
    if not io or not (io["inputs"] or io["outputs"]):
        return []
    lines = ["integer I/O: real = scale * (q - zero_point)"]
    for kind, entries in (("input", io["inputs"]), ("output", io["outputs"])):
        for key, p in entries.items():
            lines.append(f"  {kind} {key}: {_dtype_name(p.dtype)}, scale {p.scale!r}, "
                         f"zero_point {p.zero_point}")
    return lines + [""]


def _quantization_summary(instructions: Sequence[InstructionInfo]) -> list[str]:
    """Counts and the reason for every op left in float, for quantized programs."""
    places = [runs_on(i) for i in instructions]
    if INTEGER not in places and FLOAT_FALLBACK not in places:
        return []
    lines = [f"quantized: {places.count(INTEGER)} integer kernel calls, "
             f"{places.count(FLOAT_FALLBACK)} float fallbacks, "
             f"{places.count(QUANTIZE)} quantize and {places.count(DEQUANTIZE)} dequantize calls"]
    for index, (info, place) in enumerate(zip(instructions, places)):
        if place == FLOAT_FALLBACK:
            lines.append(f"  #{index} {info.node} ({info.operator}) stays float: {info.lowering}")
    return lines + [""]


def _delegation_summary(instructions: Sequence[InstructionInfo]) -> list[str]:
    """On a delegating target: what each delegate replaced, and why every
    instruction left on the CPU stayed there."""
    if not any(i.delegation is not None for i in instructions):
        return []
    calls = [i for i in instructions if runs_on(i) == DELEGATE]
    cpu = [(k, i) for k, i in enumerate(instructions) if runs_on(i) != DELEGATE]
    lines = [f"delegation: {len(calls)} delegate calls running "
             f"{sum(i.delegate_operators for i in calls)} TOSA operators; "
             f"{len(cpu)} instructions on the CPU"]
    for info in calls:
        if info.delegate_details is not None:
            continue  # an NPU delegate: its own section says more
        lines.append(f"  {info.node}: {info.delegate_operators} TOSA operators for "
                     f"{len(info.delegated_nodes)} graph nodes, {info.delegate_bytes:,} bytes "
                     "of TOSA flatbuffer (weights included)")
    for index, info in cpu:
        lines.append(f"  #{index} {info.node} ({info.operator}) on the CPU: "
                     f"{info.delegation or 'not considered'}")
    return lines + [""]


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _shapes(outputs: Sequence[tuple[tuple[int, ...], torch.dtype]]) -> str:
    return ", ".join(f"{_dtype_name(d)}{list(s)}" for s, d in outputs)


def format_report(target: str, program: pte.Program, instructions: Sequence[InstructionInfo],
                  memory: MemoryPlan, constant_bytes: int,
                  kernel_problems: Sequence[KernelProblem] | None, kernel_source: str,
                  io_quantization: dict | None = None, npu_data: dict | None = None) -> str:
    plan = program.execution_plan[0]
    lines = [f"ptec program for target '{target}': method '{plan.name}', "
             f"{len(instructions)} instructions, {len(plan.values)} values, "
             f"{len(plan.operators)} operators", ""]
    width = max([len(i.operator) for i in instructions] + [len("operator")])
    nodes = max([len(i.node) for i in instructions] + [len("node")])
    lines.append(f"{'#':>4}  {'node':<{nodes}}  {'operator':<{width}}  {'runs on':<15}  output")
    for index, info in enumerate(instructions):
        lines.append(f"{index:>4}  {info.node:<{nodes}}  {info.operator:<{width}}  "
                     f"{runs_on(info):<15}  {_shapes(info.outputs)}")
    n_constants = max(len(program.constant_segment.offsets) - 1, 0)
    lines += [
        "",
        *_delegation_summary(instructions),
        *(format_npu_section(npu_data) if npu_data is not None else []),
        *_quantization_summary(instructions),
        *_io_lines(io_quantization),
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
