"""What a .pte file contains, as plain data (for `ptec inspect` and its --json).

Works from the Python reader alone, so it describes ExecuTorch's files as
well as ptec's, including parts ptec does not write (delegates, several
methods, control-flow instructions).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from .pte import FlatBufferError, delegate_bytes, deserialize_program, read_extended_header
from .pte import schema as pte

DTYPE_NAMES = {
    pte.ScalarType.BYTE: "uint8", pte.ScalarType.CHAR: "int8", pte.ScalarType.SHORT: "int16",
    pte.ScalarType.INT: "int32", pte.ScalarType.LONG: "int64", pte.ScalarType.HALF: "float16",
    pte.ScalarType.FLOAT: "float32", pte.ScalarType.DOUBLE: "float64",
    pte.ScalarType.BOOL: "bool", pte.ScalarType.BFLOAT16: "bfloat16",
}


def dtype_name(scalar_type: int) -> str:
    if scalar_type in DTYPE_NAMES:
        return DTYPE_NAMES[scalar_type]
    try:
        return pte.ScalarType(scalar_type).name.lower()
    except ValueError:
        return f"scalar_type_{scalar_type}"


def _tensor(t: pte.Tensor) -> dict[str, Any]:
    out: dict[str, Any] = {"dtype": dtype_name(t.scalar_type), "sizes": t.sizes or [],
                           "dim_order": t.dim_order or []}
    if t.allocation_info is not None:
        out["storage"] = "planned"
        out["memory_id"] = t.allocation_info.memory_id
        out["offset"] = t.allocation_info.offset
    elif t.data_buffer_idx:
        out["storage"] = "constant"
        out["constant"] = t.data_buffer_idx
    else:
        out["storage"] = "unbound"
    if t.shape_dynamism:
        out["shape_dynamism"] = (pte.TensorShapeDynamism(t.shape_dynamism).name
                                 if t.shape_dynamism in set(pte.TensorShapeDynamism)
                                 else f"shape_dynamism_{t.shape_dynamism}")
    if t.extra_tensor_info is not None and t.extra_tensor_info.fully_qualified_name:
        out["name"] = t.extra_tensor_info.fully_qualified_name
    return out


def _value(index: int, ev: pte.EValue, values: list[pte.EValue]) -> dict[str, Any]:
    v = ev.val
    out: dict[str, Any] = {"index": index, "type": type(v).__name__ if v is not None else "None"}
    if isinstance(v, pte.Tensor):
        out.update(_tensor(v))
    elif isinstance(v, pte.Int):
        out["value"] = v.int_val
    elif isinstance(v, pte.Bool):
        out["value"] = v.bool_val
    elif isinstance(v, pte.Double):
        out["value"] = v.double_val
    elif isinstance(v, pte.String):
        out["value"] = v.string_val
    elif isinstance(v, pte.IntList):
        items = v.items or []
        out["items"] = items
        out["value"] = [values[i].val.int_val if 0 <= i < len(values)
                        and isinstance(values[i].val, pte.Int) else None for i in items]
    elif isinstance(v, (pte.DoubleList, pte.BoolList, pte.TensorList, pte.OptionalTensorList)):
        out["items"] = v.items or []
    return out


def _instruction(index: int, ins: pte.Instruction, plan: pte.ExecutionPlan) -> dict[str, Any]:
    a = ins.instr_args
    out: dict[str, Any] = {"index": index, "kind": type(a).__name__ if a is not None else "None"}
    if isinstance(a, pte.KernelCall):
        ops = plan.operators or []
        out["operator"] = (ops[a.op_index].qualified_name if 0 <= a.op_index < len(ops)
                           else f"<operator {a.op_index}>")
        out["args"] = a.args or []
    elif isinstance(a, pte.DelegateCall):
        delegates = plan.delegates or []
        out["delegate"] = a.delegate_index
        if 0 <= a.delegate_index < len(delegates):
            out["backend"] = delegates[a.delegate_index].id
        out["args"] = a.args or []
    elif a is not None:
        out.update(vars(a))
    return out


def _delegate(index: int, d: pte.BackendDelegate, program: pte.Program,
              segment_data: bytes) -> dict[str, Any]:
    ref = d.processed
    try:
        blob: bytes | None = delegate_bytes(program, segment_data, d)
    except (FlatBufferError, IndexError):
        blob = None
    out = {
        "index": index, "id": d.id,
        "location": pte.DataLocation(ref.location).name if ref is not None
        and ref.location in (0, 1) else None,
        "data_index": ref.index if ref is not None else None,
        "bytes": None if blob is None else len(blob),
        "compile_specs": [{"key": c.key, "value": _spec_value(c.value or b"")}
                          for c in d.compile_specs or []],
    }
    if d.id == "TOSABackend" and blob is not None:
        out["tosa"] = _tosa(blob)
    return out


def _tosa(blob: bytes) -> dict[str, Any]:
    """A TOSABackend delegate's graph (ptec.tosa.describe_tosa), or why it does not read."""
    from .tosa import describe_tosa
    try:
        return describe_tosa(blob)
    except (FlatBufferError, IndexError, ValueError, TypeError, UnicodeDecodeError) as e:
        return {"error": f"not a readable TOSA flatbuffer: {e}"}


def _spec_value(raw: bytes) -> str:
    """A compile spec's bytes as text when they are text, else hex."""
    try:
        text = raw.decode("utf-8")
        if text.isprintable():
            return text
    except UnicodeDecodeError:
        pass
    return "0x" + raw.hex()


def _method(plan: pte.ExecutionPlan, program: pte.Program, segment_data: bytes) -> dict[str, Any]:
    values = plan.values or []
    chains = plan.chains or []
    instructions = [_instruction(i, ins, plan)
                    for chain in chains for i, ins in enumerate(chain.instructions or [])]
    uses = Counter(i["operator"] for i in instructions if "operator" in i)
    return {
        "name": plan.name,
        "inputs": plan.inputs or [],
        "outputs": plan.outputs or [],
        "chains": len(chains),
        "planned_buffers": (plan.non_const_buffer_sizes or [])[1:],
        "operators": [{"index": k, "name": op.qualified_name, "uses": uses[op.qualified_name]}
                      for k, op in enumerate(plan.operators or [])],
        "values": [_value(i, ev, values) for i, ev in enumerate(values)],
        "instructions": instructions,
        "delegates": [_delegate(k, d, program, segment_data)
                      for k, d in enumerate(plan.delegates or [])],
    }


def _constants(program: pte.Program) -> dict[str, Any]:
    cs = program.constant_segment
    if cs is not None and cs.offsets and len(cs.offsets) > 1:
        segs = program.segments or []
        size = segs[cs.segment_index].size if cs.segment_index < len(segs) else None
        return {"location": "segment", "segment": cs.segment_index,
                "count": len(cs.offsets) - 1, "bytes": size}
    buffers = program.constant_buffer or []
    return {"location": "constant_buffer" if len(buffers) > 1 else "none",
            "count": max(len(buffers) - 1, 0),
            "bytes": sum(len(b.storage or b"") for b in buffers)}


def describe_pte(data: bytes) -> dict[str, Any]:
    """Everything `ptec inspect` shows, as JSON-ready data."""
    program, segment_data = deserialize_program(data)
    header = read_extended_header(data)
    return {
        "file_bytes": len(data),
        "header": None if header is None else {
            "program_size": header.program_size,
            "segment_base_offset": header.segment_base_offset,
            "segment_data_size": header.segment_data_size},
        "version": program.version,
        "segments": [{"offset": s.offset, "size": s.size} for s in program.segments or []],
        "constants": _constants(program),
        "methods": [_method(plan, program, segment_data) for plan in program.execution_plan or []],
    }
