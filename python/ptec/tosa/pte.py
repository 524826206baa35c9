"""A TOSA flatbuffer wrapped in a `.pte` program: one TOSABackend delegate call.

`delegate_program(tosa_bytes, graph)` gives a program whose `forward` takes
the graph's inputs and returns its outputs (planned tensors of the same
dtypes and shapes, contiguous) by calling the delegate once. The compiler's
TOSA lowering embeds its delegates the same way, one call per subgraph; the
tests use this to run single-operator graphs through the C runtime.
"""
from __future__ import annotations

from ptec.pte import schema as s
from ptec.pte.file import serialize_program

from .graph import GraphBuilder
from .schema import DType

BACKEND_ID = "TOSABackend"

_SCALAR_TYPES = {
    DType.BOOL: s.ScalarType.BOOL, DType.INT8: s.ScalarType.CHAR,
    DType.INT16: s.ScalarType.SHORT, DType.INT32: s.ScalarType.INT,
    DType.FP32: s.ScalarType.FLOAT, DType.FP16: s.ScalarType.HALF,
    DType.BF16: s.ScalarType.BFLOAT16,
}
_SIZES = {DType.BOOL: 1, DType.INT8: 1, DType.INT16: 2, DType.INT32: 4, DType.FP32: 4,
          DType.FP16: 2, DType.BF16: 2}


def delegate_program(tosa: bytes, graph: GraphBuilder, *, alignment: int = 16,
                     unsigned: frozenset[str] = frozenset()) -> bytes:
    """The .pte bytes of forward(*graph inputs) -> graph outputs through the delegate.

    Graph I/O tensors named in `unsigned` (INT8 ones, read or written by a RESCALE
    with input_unsigned / output_unsigned) are uint8 tensors of the program."""
    values: list[s.EValue] = []
    offset = 0
    io: list[int] = []
    for name in list(graph.inputs) + list(graph.outputs):
        t = graph.tensors[name]
        nbytes = _SIZES[t.dtype]
        for d in t.shape:
            nbytes *= d
        alloc = s.AllocationDetails(memory_id=1, memory_offset_low=offset)
        offset += max((nbytes + alignment - 1) // alignment * alignment, alignment)
        io.append(len(values))
        scalar_type = s.ScalarType.BYTE if name in unsigned else _SCALAR_TYPES[t.dtype]
        values.append(s.EValue(s.Tensor(scalar_type=scalar_type, sizes=list(t.shape),
                                        dim_order=list(range(len(t.shape))),
                                        allocation_info=alloc)))
    inputs, outputs = io[:len(graph.inputs)], io[len(graph.inputs):]
    call = s.DelegateCall(delegate_index=0, args=io)
    delegate = s.BackendDelegate(
        id=BACKEND_ID,
        processed=s.BackendDelegateDataReference(location=s.DataLocation.INLINE, index=0),
        compile_specs=[])
    plan = s.ExecutionPlan(
        name="forward", values=values, inputs=inputs, outputs=outputs,
        chains=[s.Chain(inputs=inputs, outputs=outputs, instructions=[s.Instruction(call)])],
        operators=[], delegates=[delegate], non_const_buffer_sizes=[0, max(offset, alignment)])
    program = s.Program(version=s.SCHEMA_VERSION, execution_plan=[plan],
                        backend_delegate_data=[s.BackendDelegateInlineData(data=tosa)])
    return serialize_program(program)
