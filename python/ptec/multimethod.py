"""ptec.compile_methods: several methods in one .pte sharing weights and state.

An LLM's `prefill` (a prompt of T tokens) and `decode` (one token) are the
same module traced with two input shapes. Both methods read the same
weights (stored once: the constant segment is shared) and the same mutable
buffers (the KV cache: state.py lays every buffer out at the same offset of
the state memory in every method, and the runtime gives the methods one
buffer there). Constant methods (ExecuTorch's LLM metadata: `get_max_seq_len`,
`get_vocab_size`, `get_bos_id`, `use_kv_cache`, ...) return one value each.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from .compiler import SEGMENT_ALIGNMENT, CompiledProgram, _check_against_runtime
from .emit import MethodToEmit, emit_methods
from .errors import CompileError
from .export import export_core_aten
from .memory import plan_memory_by_lifetimes
from .schedule import build_schedule
from .state import StateLayout, state_buffers
from .targets import get_target


def compile_methods(methods: dict[str, tuple[torch.nn.Module, Sequence[Any]]],
                    target: str = "host", *, constant_methods: dict[str, Any] | None = None,
                    check_kernels: bool = True) -> CompiledProgram:
    """Compiles each (module, example_inputs) as a method of one program.

    Buffers any method mutates are state in every method (a method that only
    reads the cache still reads the live one). Float models only; `memory`
    and `instructions` of the result are those of the first method, the
    report lists every method's instructions.
    """
    if not methods:
        raise CompileError("compile_methods needs at least one method")
    spec = get_target(target)
    if spec.memories is not None or spec.npu is not None:
        raise CompileError(f"compile_methods targets host CPUs; {target} is a device")
    exported = {name: export_core_aten(m, inputs) for name, (m, inputs) in methods.items()}
    names = sorted({b.name for e in exported.values() for b in state_buffers(e.graph_module)})
    for name, (module, inputs) in methods.items():
        if sorted(b.name for b in state_buffers(exported[name].graph_module)) != names:
            exported[name] = export_core_aten(module, inputs, state_names=names)
    to_emit, buffers = [], []
    for name, e in exported.items():
        gm = e.graph_module
        for graph_pass in spec.passes:
            graph_pass(gm)
        schedule = build_schedule(gm)
        memory = plan_memory_by_lifetimes([t.lifetime for t in schedule.planned])
        to_emit.append(MethodToEmit(name, gm, schedule, memory, e.in_spec, e.out_spec))
        buffers += state_buffers(gm)
    emitted = emit_methods(to_emit, SEGMENT_ALIGNMENT, StateLayout.of(buffers), constant_methods)
    problems, source = _check_against_runtime(emitted.program)
    if check_kernels and problems:
        raise CompileError("the runtime has no kernel for these operators:\n"
                           + "\n".join(f"  {p.operator}: {p.reason}" for p in problems))
    if check_kernels and problems is None:
        raise CompileError(f"cannot check kernels: {source}")
    return CompiledProgram(spec.name, emitted.program, emitted.segments, emitted.instructions,
                           to_emit[0].plan, emitted.constant_bytes, problems, source)
