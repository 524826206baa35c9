"""Builds a one-instruction `.pte` program around any operator, for kernel tests.

    from program_builder import Input, Const, Out, build, run

    program = build("ptec::quantized_add.out",
                    [Input(a, CHANNELS_LAST), Const(b), 0, m, s, ..., Out(shape, np.int8)])
    (y,) = run(program)                      # through ptec.load (ctypes)

Arguments are given in the operator's schema order, out arguments included;
the builder appends the return slot (the out tensor, or a TensorList of the
outs when there are several), as ExecuTorch's emitter does. Each argument
becomes one value of the program:

  Input(array, dim_order)   planned tensor, a method input; run() passes `array`
  Const(array, dim_order)   constant tensor in the constant segment, stored in dim_order
  Out(shape, dtype, dim_order)  planned tensor, a method output
  int / bool / float / str / None / list[int] / list[float] / list[bool]
                            Int / Bool / Double / String / Null / IntList (boxed: it lists
                            the indices of one Int value per item) / DoubleList / BoolList

Planned tensors share one buffer (memory id 1) at 16-byte aligned offsets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

import ptec
from ptec.pte import schema as s
from ptec.pte.file import pack_constant_segment, serialize_program

CONTIGUOUS_4D = (0, 1, 2, 3)
CHANNELS_LAST = (0, 2, 3, 1)

_SCALAR_TYPES = {
    np.dtype(np.uint8): s.ScalarType.BYTE, np.dtype(np.int8): s.ScalarType.CHAR,
    np.dtype(np.int16): s.ScalarType.SHORT, np.dtype(np.int32): s.ScalarType.INT,
    np.dtype(np.int64): s.ScalarType.LONG, np.dtype(np.float32): s.ScalarType.FLOAT,
    np.dtype(np.float64): s.ScalarType.DOUBLE, np.dtype(np.bool_): s.ScalarType.BOOL,
    np.dtype(np.float16): s.ScalarType.HALF, np.dtype(np.complex64): s.ScalarType.COMPLEX_FLOAT,
    np.dtype(np.complex128): s.ScalarType.COMPLEX_DOUBLE,
}

ALIGNMENT = 16


@dataclass
class Input:
    array: np.ndarray
    dim_order: Sequence[int] | None = None


@dataclass
class Const:
    array: np.ndarray
    dim_order: Sequence[int] | None = None


@dataclass
class Out:
    shape: Sequence[int]
    dtype: Any
    dim_order: Sequence[int] | None = None


@dataclass
class Program:
    """A built program: its bytes, its schema object and its run-time inputs."""
    data: bytes
    program: s.Program
    segments: list[bytes]
    inputs: list[np.ndarray] = field(default_factory=list)

    def reserialize(self) -> "Program":
        """The bytes again after editing `program` (e.g. a value of the plan)."""
        self.data = serialize_program(self.program, self.segments)
        return self

    def save(self, path: Path) -> Path:
        path.write_bytes(self.data)
        return path


def _order(dim_order, rank: int) -> list[int]:
    order = list(range(rank)) if dim_order is None else list(dim_order)
    if sorted(order) != list(range(rank)):
        raise ValueError(f"dim_order {order} is not a permutation of rank {rank}")
    return order


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _scalar_type(dtype) -> int:
    return _SCALAR_TYPES[np.dtype(dtype)]


def build(op: str, args: Sequence[Any]) -> Program:
    """A program whose forward() runs `op` ("ns::name.overload") once."""
    name, _, overload = op.partition(".")
    values: list[s.EValue] = []
    constants: list[bytes] = []
    inputs: list[int] = []
    outputs: list[int] = []
    run_inputs: list[np.ndarray] = []
    offset = 0

    def planned(shape, dtype, dim_order) -> s.Tensor:
        nonlocal offset
        shape = [int(d) for d in shape]
        alloc = s.AllocationDetails(memory_id=1, memory_offset_low=offset)
        offset += _align(max(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize, 1))
        return s.Tensor(scalar_type=_scalar_type(dtype), sizes=shape,
                        dim_order=_order(dim_order, len(shape)), allocation_info=alloc)

    arg_indices = []
    for arg in args:
        index = len(values)
        if isinstance(arg, Input):
            a = np.asarray(arg.array)
            values.append(s.EValue(planned(a.shape, a.dtype, arg.dim_order)))
            inputs.append(index)
            run_inputs.append(a)
        elif isinstance(arg, Out):
            values.append(s.EValue(planned(arg.shape, arg.dtype, arg.dim_order)))
            outputs.append(index)
        elif isinstance(arg, Const):
            a = np.asarray(arg.array)
            order = _order(arg.dim_order, a.ndim)
            constants.append(np.ascontiguousarray(a.transpose(order)).tobytes())
            values.append(s.EValue(s.Tensor(scalar_type=_scalar_type(a.dtype),
                                            sizes=list(a.shape), dim_order=order,
                                            data_buffer_idx=len(constants))))
        elif arg is None:
            values.append(s.EValue(s.Null()))
        elif isinstance(arg, (bool, np.bool_)):
            values.append(s.EValue(s.Bool(bool(arg))))
        elif isinstance(arg, (int, np.integer)):
            values.append(s.EValue(s.Int(int(arg))))
        elif isinstance(arg, (float, np.floating)):
            values.append(s.EValue(s.Double(float(arg))))
        elif isinstance(arg, str):
            values.append(s.EValue(s.String(arg)))
        elif isinstance(arg, (list, tuple)):
            if all(isinstance(v, (bool, np.bool_)) for v in arg) and arg:
                values.append(s.EValue(s.BoolList([bool(v) for v in arg])))
            elif all(isinstance(v, (int, np.integer)) for v in arg):
                # Boxed: the list holds value indices of Int values.
                boxed = list(range(index, index + len(arg)))
                values.extend(s.EValue(s.Int(int(v))) for v in arg)
                index = len(values)
                values.append(s.EValue(s.IntList(boxed)))
            else:
                values.append(s.EValue(s.DoubleList([float(v) for v in arg])))
        else:
            raise TypeError(f"cannot make a program value of {type(arg).__name__}")
        arg_indices.append(index)

    if len(outputs) == 1:
        arg_indices.append(outputs[0])
    else:
        arg_indices.append(len(values))
        values.append(s.EValue(s.TensorList(list(outputs))))

    segment, offsets = pack_constant_segment(constants)
    call = s.KernelCall(op_index=0, args=arg_indices)
    plan = s.ExecutionPlan(
        name="forward", values=values, inputs=inputs, outputs=outputs,
        chains=[s.Chain(inputs=inputs, outputs=outputs, instructions=[s.Instruction(call)])],
        operators=[s.Operator(name, overload)], delegates=[],
        non_const_buffer_sizes=[0, max(offset, ALIGNMENT)])
    program = s.Program(version=s.SCHEMA_VERSION, execution_plan=[plan],
                        constant_segment=s.SubsegmentOffsets(segment_index=0, offsets=offsets))
    segments = [segment + bytes(ALIGNMENT)]
    return Program(serialize_program(program, segments), program, segments, run_inputs)


def run(program: Program) -> list[np.ndarray]:
    """Loads the program into ptec's C runtime (ptec.load) and runs it on its
    inputs; the outputs come back as NumPy arrays in logical order."""
    runner = ptec.load(program.data)
    outs = runner(*[torch.from_numpy(np.ascontiguousarray(a)) for a in program.inputs])
    return [o.contiguous().numpy() for o in outs]


def run_op(op: str, args: Sequence[Any]) -> np.ndarray:
    """build + run for a single-output operator."""
    (out,) = run(build(op, args))
    return out
