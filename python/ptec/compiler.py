"""ptec.compile: nn.Module to .pte, the whole flow in one place.

export (core ATen) -> the target's passes -> schedule -> memory plan -> emit
-> kernel check. Each step lives in its own module; this one only wires them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import torch

from . import kernels as kernel_list
from .dynamic_shapes import prepare_dynamic_shapes
from .emit import InstructionInfo, emit_program
from .errors import CompileError
from .ethosu.report import npu_report_data
from .export import export_core_aten
from .memory import MemoryPlan, plan_memory_by_lifetimes
from .placement import Placed, format_placement, place
from .pte import schema as pte
from .pte import serialize_program
from .quant import flow as quant_flow
from .quant.config import Int8
from .quant.lower import INTEGER_IO, IO_QUANTIZATION
from .report import format_report
from .schedule import build_schedule
from .state import StateLayout, state_buffers
from .targets import get_target

#: Alignment of segment starts in ptec's files (ExecuTorch uses 128): 16 is
#: what tensors need, and the smallest files on flash.
SEGMENT_ALIGNMENT = 16


@dataclass
class CompiledProgram:
    """A compiled model: the program, its bytes, and what the compiler decided."""
    target: str
    program: pte.Program
    segments: list[bytes]
    instructions: list[InstructionInfo]
    memory: MemoryPlan
    constant_bytes: int
    kernel_problems: list[kernel_list.KernelProblem] | None
    kernel_source: str
    #: With integer_io: {"inputs": {name: QParams}, "outputs": {index: QParams}},
    #: how to quantize the inputs and read the outputs.
    io_quantization: dict | None = None
    #: Where the program and its arena go in the target's memories (device targets).
    placement: list[Placed] | None = None
    #: An Ethos-U target's NPU (accelerator, system config, memory mode).
    npu: Any = None
    #: The PT2E-converted (fake-quantized) model a quantized program was compiled
    #: from: the numerical debugger's integer reference (ptec.debug).
    quantized_model: Any = None

    @cached_property
    def buffer(self) -> bytes:
        """The .pte file's bytes."""
        return serialize_program(self.program, self.segments,
                                 segment_alignment=SEGMENT_ALIGNMENT)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.buffer)

    def report(self, html: str | Path | None = None, profile=None, debug=None) -> str:
        """The compiler's report as text. With `html`, also writes it as one
        self-contained HTML page there (ptec.devtools.html), with a run's `profile`
        (ptec.devtools.Profile) and a numerical `debug` report if given."""
        if html is not None:
            from .devtools.html import write_html
            write_html(html, self.buffer, f"ptec program for {self.target}", compiled=self,
                       profile=profile, debug=debug)
        text = format_report(self.target, self.program, self.instructions, self.memory,
                             self.constant_bytes, self.kernel_problems, self.kernel_source,
                             self.io_quantization,
                             self.report_data()["npu"] if self.npu is not None else None)
        if self.placement:  # a device: where the program and its arena go
            text += "\n" + format_placement(self.target, get_target(self.target).memories,
                                            self.placement)
        # Per-layer int8/int16 (ptec.quant.mixed): which layers are int16, and why.
        choice = getattr(getattr(self, "quantized_model", None), "ptec_a16w8", None)
        return text + "\n" + choice.describe() if choice is not None else text

    def report_data(self) -> dict:
        """The report's figures as data (JSON-ready): placement of every instruction,
        memory, and for an Ethos-U target the NPU section (Vela's estimates)."""
        from .report import runs_on

        data = {
            "target": self.target,
            "instructions": [{"node": i.node, "operator": i.operator, "runs_on": runs_on(i),
                              "why": i.delegation or i.lowering} for i in self.instructions],
            "planned_arena_bytes": self.memory.arena_bytes,
            "constant_bytes": self.constant_bytes,
            "program_bytes": len(self.buffer),
        }
        if self.placement:
            data["placement"] = [{"what": p.what, "region": p.region, "offset": p.offset,
                                  "bytes": p.nbytes} for p in self.placement]
        if self.npu is not None:
            data["npu"] = npu_report_data(self.instructions, self.npu)
        return data


def _check_against_runtime(program: pte.Program) -> tuple[list | None, str]:
    """Problems with the runtime's kernels (None if its op list is not found), and the list."""
    ops_def = kernel_list.OPS_DEF
    if not ops_def.is_file():
        return None, f"runtime op list not found at {ops_def}"
    return kernel_list.check_kernels(program, kernel_list.read_ops_def(ops_def)), str(ops_def)


def compile(module: torch.nn.Module, example_inputs: Sequence[Any], target: str = "host",
            *, quantize: Int8 | None = None, integer_io: bool = False,
            check_kernels: bool = True, system_config: str | None = None,
            memory_mode: str | None = None) -> CompiledProgram:
    """Compiles `module` for `target`, tracing it with `example_inputs`.

    With quantize (ptec.Int8(calibration=...) or ptec.A16W8(...)), the model is
    quantized first: exported, observed on the calibration inputs and
    converted (ptec.quantize). A module converted already (by
    ptec.quantize.convert or torchao's convert_pt2e) compiles as it is.

    With integer_io, a quantized program takes and returns the integer tensors
    its first quantizes and last dequantizes would have made (int8 from a
    sensor, say); CompiledProgram.io_quantization gives their parameters.

    With check_kernels (the default), fails with CompileError if the program
    calls an operator the runtime has no kernel for; the report lists them
    either way.

    For an Ethos-U target ("ethos-u55-128", "ethos-u85-256", ...: Vela's
    accelerator names), system_config and memory_mode pick the sections of
    Vela's Arm/vela.ini the NPU is compiled for; ExecuTorch's defaults
    otherwise (docs/ethos-u.md). The model must be quantized: the NPU runs int8
    (and a16w8) graphs.
    """
    spec = get_target(target, system_config=system_config, memory_mode=memory_mode)
    if spec.npu is not None and quantize is None and not quant_flow.is_quantized(module):
        raise CompileError(f"{target} runs quantized models: pass quantize=ptec.Int8(...) "
                           "(or a model converted with PT2E)")
    if quantize is not None:
        if not isinstance(quantize, Int8):
            raise CompileError(f"quantize must be ptec.Int8(...) or ptec.A16W8(...), "
                               f"not {type(quantize).__name__}")
        # TOSA and NPU targets get softmax/layer norm as TOSA-friendly chains.
        tosa = spec.npu is not None or spec.name.startswith("tosa")
        module = quant_flow.quantize(module, example_inputs, quantize.for_target(tosa))
    elif quant_flow.is_quantized(module):
        quant_flow.allow_eval(module)
    exported = export_core_aten(module, example_inputs)
    gm = exported.graph_module
    prepare_dynamic_shapes(gm)  # nonzero / masked_select: bounded dynamic shapes
    if integer_io and not quant_flow.is_quantized(gm):
        raise CompileError("integer_io needs a quantized model (pass quantize=ptec.Int8(...))")
    gm.meta[INTEGER_IO] = integer_io
    for graph_pass in spec.passes:
        graph_pass(gm)
    schedule = build_schedule(gm)
    memory = plan_memory_by_lifetimes([t.lifetime for t in schedule.planned])
    emitted = emit_program(gm, schedule, memory, exported.in_spec, exported.out_spec,
                           SEGMENT_ALIGNMENT, StateLayout.of(state_buffers(gm)))
    problems, source = _check_against_runtime(emitted.program)
    if check_kernels:
        if problems is None:
            raise CompileError(f"cannot check kernels: {source} "
                               "(pass check_kernels=False to skip the check)")
        if problems:
            raise CompileError(
                "the runtime has no kernel for these operators:\n"
                + "\n".join(f"  {p.operator}: {p.reason}" for p in problems)
                + "\n(pass check_kernels=False to compile anyway)")
    compiled = CompiledProgram(spec.name, emitted.program, emitted.segments,
                               emitted.instructions, memory, emitted.constant_bytes, problems,
                               source, gm.meta.get(IO_QUANTIZATION), npu=spec.npu)
    if quant_flow.is_quantized(module):
        compiled.quantized_model = module
    if spec.memories is not None:  # a device: the program must fit its flash and RAM
        compiled.placement = place(spec.name, spec.memories, len(compiled.buffer),
                                   [memory.arena_bytes], weights_bytes=emitted.constant_bytes)
    return compiled
