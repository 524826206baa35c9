"""The TOSA twin of an Ethos-U program: the same program with every NPU delegate
replaced by the TOSA graph Vela compiled it from (a TOSABackend delegate).

ptec's C TOSA executor runs the twin bit-exactly on any CPU, so the twin's
outputs are what the NPU must produce; tests compare it with the host int8
build, and the NPU simulator with it. It works for ExecuTorch's programs too,
given the TOSA graphs its Arm backend handed to Vela.
"""
from __future__ import annotations

import copy
from typing import Sequence

from ..pte import schema as pte
from ..pte.file import deserialize_program, segment_bytes, serialize_program
from ..tosa.pte import BACKEND_ID as TOSA_BACKEND_ID
from .blob import BACKEND_ID
from .report import npu_delegates


def _swap_delegates(program: pte.Program, graphs: Sequence[bytes]) -> pte.Program:
    """A copy of `program` whose EthosUBackend delegates, in order, run `graphs`
    inline on the TOSA executor."""
    program = copy.deepcopy(program)
    npu = [d for d in program.execution_plan[0].delegates or [] if d.id == BACKEND_ID]
    if len(npu) != len(graphs):
        raise ValueError(f"{len(npu)} EthosUBackend delegates, {len(graphs)} TOSA graphs")
    program.backend_delegate_data = list(program.backend_delegate_data or [])
    for delegate, tosa in zip(npu, graphs):
        delegate.id = TOSA_BACKEND_ID
        delegate.compile_specs = []
        delegate.processed = pte.BackendDelegateDataReference(
            location=pte.DataLocation.INLINE, index=len(program.backend_delegate_data))
        program.backend_delegate_data.append(pte.BackendDelegateInlineData(data=tosa))
    return program


def tosa_twin(compiled) -> bytes:
    """The .pte bytes of `compiled` (a CompiledProgram for an Ethos-U target) with
    its EthosUBackend delegates run by the TOSA executor instead."""
    from ..compiler import SEGMENT_ALIGNMENT

    graphs = [info.delegate_details.tosa for info in npu_delegates(compiled.instructions)]
    return serialize_program(_swap_delegates(compiled.program, graphs), compiled.segments,
                             segment_alignment=SEGMENT_ALIGNMENT)


def tosa_twin_of_pte(buffer: bytes, graphs: Sequence[bytes], segment_alignment: int = 128) -> bytes:
    """The twin of any .pte (ExecuTorch's included): `graphs` are the TOSA graphs
    of its EthosUBackend delegates, in order."""
    program, data = deserialize_program(buffer)
    segments = [segment_bytes(program, data, i) for i in range(len(program.segments or []))]
    return serialize_program(_swap_delegates(program, graphs), segments,
                             segment_alignment=segment_alignment)
