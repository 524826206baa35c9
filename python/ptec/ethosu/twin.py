"""The TOSA twin of an Ethos-U program: the same program with every NPU delegate
replaced by the TOSA graph Vela compiled it from (a TOSABackend delegate).

ptec's C TOSA executor runs the twin bit-exactly on any CPU, so the twin's
outputs are what the NPU must produce; tests compare it with the host int8
build, and the NPU simulator with it.
"""
from __future__ import annotations

import copy

from ..pte import schema as pte
from ..tosa.pte import BACKEND_ID as TOSA_BACKEND_ID
from .blob import BACKEND_ID
from .report import npu_delegates


def tosa_twin(compiled) -> bytes:
    """The .pte bytes of `compiled` (a CompiledProgram for an Ethos-U target) with
    its EthosUBackend delegates run by the TOSA executor instead."""
    from ..compiler import SEGMENT_ALIGNMENT
    from ..pte import serialize_program

    program: pte.Program = copy.deepcopy(compiled.program)
    graphs = [info.delegate_details.tosa for info in npu_delegates(compiled.instructions)]
    plan = program.execution_plan[0]
    npu = [d for d in plan.delegates if d.id == BACKEND_ID]
    if len(npu) != len(graphs):
        raise ValueError(f"{len(npu)} EthosUBackend delegates, {len(graphs)} TOSA graphs")
    for delegate, tosa in zip(npu, graphs):
        delegate.id = TOSA_BACKEND_ID
        delegate.compile_specs = []
        program.backend_delegate_data[delegate.processed.index] = \
            pte.BackendDelegateInlineData(data=tosa)
    return serialize_program(program, compiled.segments, segment_alignment=SEGMENT_ALIGNMENT)
