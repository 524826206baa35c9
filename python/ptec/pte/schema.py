"""ExecuTorch's program schema (schema/program.fbs, file identifier ET12) as dataclasses.

One dataclass per table, fields in .fbs declaration order (the order fixes the
vtable slots). Vector, string and table fields default to None, meaning
"absent from the buffer"; an empty list is a present, empty vector. The C
runtime reads the same tables, so the field names here are the contract named
in docs/pte-format.md.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .fbtypes import blob, scalar, string, table, union, vector

FILE_IDENTIFIER = b"ET12"
#: Program.version written by ExecuTorch's exir/version.py.
SCHEMA_VERSION = 0


class ScalarType(enum.IntEnum):
    """Element types (schema/scalar_type.fbs, numbered as c10::ScalarType)."""
    BYTE = 0
    CHAR = 1
    SHORT = 2
    INT = 3
    LONG = 4
    HALF = 5
    FLOAT = 6
    DOUBLE = 7
    COMPLEX_HALF = 8
    COMPLEX_FLOAT = 9
    COMPLEX_DOUBLE = 10
    BOOL = 11
    QINT8 = 12
    QUINT8 = 13
    QINT32 = 14
    BFLOAT16 = 15
    QUINT4X2 = 16
    QUINT2X4 = 17
    BITS16 = 22
    FLOAT8E5M2 = 23
    FLOAT8E4M3FN = 24
    FLOAT8E5M2FNUZ = 25
    FLOAT8E4M3FNUZ = 26
    UINT16 = 27
    UINT32 = 28
    UINT64 = 29


class TensorShapeDynamism(enum.IntEnum):
    STATIC = 0
    DYNAMIC_BOUND = 1
    DYNAMIC_UNBOUND = 2


class TensorDataLocation(enum.IntEnum):
    SEGMENT = 0
    EXTERNAL = 1


class DeviceType(enum.IntEnum):
    CPU = 0
    CUDA = 1


class DataLocation(enum.IntEnum):
    INLINE = 0
    SEGMENT = 1


@dataclass
class ContainerMetadata:
    encoded_inp_str: str | None = string()
    encoded_out_str: str | None = string()


@dataclass
class Null:
    pass


@dataclass
class AllocationDetails:
    memory_id: int = scalar("uint")
    memory_offset_low: int = scalar("uint")
    memory_offset_high: int = scalar("uint")

    @property
    def offset(self) -> int:
        """The 64-bit offset in planned buffer `memory_id` (1-based)."""
        return self.memory_offset_low | (self.memory_offset_high << 32)


@dataclass
class ExtraTensorInfo:
    mutable_data_segments_idx: int = scalar("ulong")
    fully_qualified_name: str | None = string()
    location: int = scalar("byte", enum=TensorDataLocation)
    device_type: int = scalar("byte", DeviceType.CPU, enum=DeviceType)
    device_index: int = scalar("byte")


@dataclass
class Tensor:
    scalar_type: int = scalar("byte", enum=ScalarType)
    storage_offset: int = scalar("int")
    sizes: list[int] | None = vector("int")
    dim_order: list[int] | None = vector("ubyte")
    requires_grad: bool = scalar("bool")
    data_buffer_idx: int = scalar("uint")
    allocation_info: AllocationDetails | None = table(AllocationDetails)
    layout: int = scalar("byte")
    shape_dynamism: int = scalar("byte", enum=TensorShapeDynamism)
    extra_tensor_info: ExtraTensorInfo | None = table(ExtraTensorInfo)


@dataclass
class Int:
    int_val: int = scalar("long")


@dataclass
class Bool:
    bool_val: bool = scalar("bool")


@dataclass
class Double:
    double_val: float = scalar("double")


@dataclass
class String:
    string_val: str | None = string()


@dataclass
class IntList:
    """Boxed: items are value indices of Int values, not the integers."""
    items: list[int] | None = vector("long")


@dataclass
class DoubleList:
    items: list[float] | None = vector("double")


@dataclass
class BoolList:
    items: list[bool] | None = vector("bool")


@dataclass
class TensorList:
    """Items are value indices of Tensor values."""
    items: list[int] | None = vector("int")


@dataclass
class OptionalTensorList:
    """Items are value indices of Tensor values, or -1 for None."""
    items: list[int] | None = vector("int")


#: The `KernelTypes` union, in tag order (tag = position + 1).
KERNEL_TYPES = (Null, Int, Bool, Double, Tensor, String, IntList, DoubleList, BoolList,
                TensorList, OptionalTensorList)


@dataclass
class EValue:
    val: object | None = union(*KERNEL_TYPES)


@dataclass
class Operator:
    name: str | None = string()
    overload: str | None = string()

    @property
    def qualified_name(self) -> str:
        """The runtime's lookup key: name, then "." and the overload if there is one."""
        return f"{self.name}.{self.overload}" if self.overload else (self.name or "")


@dataclass
class KernelCall:
    op_index: int = scalar("int")
    args: list[int] | None = vector("int")


@dataclass
class DelegateCall:
    delegate_index: int = scalar("int")
    args: list[int] | None = vector("int")


@dataclass
class MoveCall:
    move_from: int = scalar("int")
    move_to: int = scalar("int")


@dataclass
class JumpFalseCall:
    cond_value_index: int = scalar("int")
    destination_instruction: int = scalar("int")


@dataclass
class FreeCall:
    value_index: int = scalar("int")


#: The `InstructionArguments` union, in tag order.
INSTRUCTION_ARGUMENTS = (KernelCall, DelegateCall, MoveCall, JumpFalseCall, FreeCall)


@dataclass
class Instruction:
    instr_args: object | None = union(*INSTRUCTION_ARGUMENTS)


@dataclass
class Frame:
    filename: str | None = string()
    lineno: int = scalar("int")
    name: str | None = string()
    context: str | None = string()


@dataclass
class FrameList:
    items: list[Frame] | None = vector(Frame)


@dataclass
class BackendDelegateDataReference:
    location: int = scalar("byte", enum=DataLocation)
    index: int = scalar("uint")


@dataclass
class CompileSpec:
    key: str | None = string()
    value: bytes | None = blob()


@dataclass
class BackendDelegate:
    id: str | None = string()
    processed: BackendDelegateDataReference | None = table(BackendDelegateDataReference)
    compile_specs: list[CompileSpec] | None = vector(CompileSpec)


@dataclass
class Chain:
    inputs: list[int] | None = vector("int")
    outputs: list[int] | None = vector("int")
    instructions: list[Instruction] | None = vector(Instruction)
    stacktrace: list[FrameList] | None = vector(FrameList)


@dataclass
class NonConstBufferDevice:
    buffer_idx: int = scalar("int")
    device_type: int = scalar("byte", DeviceType.CPU, enum=DeviceType)
    device_index: int = scalar("byte")


@dataclass
class ExecutionPlan:
    name: str | None = string()
    container_meta_type: ContainerMetadata | None = table(ContainerMetadata)
    values: list[EValue] | None = vector(EValue)
    inputs: list[int] | None = vector("int")
    outputs: list[int] | None = vector("int")
    chains: list[Chain] | None = vector(Chain)
    operators: list[Operator] | None = vector(Operator)
    delegates: list[BackendDelegate] | None = vector(BackendDelegate)
    non_const_buffer_sizes: list[int] | None = vector("long")
    non_const_buffer_device: list[NonConstBufferDevice] | None = vector(NonConstBufferDevice)


@dataclass
class Buffer:
    storage: bytes | None = blob(align=16)


@dataclass
class BackendDelegateInlineData:
    data: bytes | None = blob(align=16)


@dataclass
class DataSegment:
    offset: int = scalar("ulong")
    size: int = scalar("ulong")


@dataclass
class SubsegmentOffsets:
    segment_index: int = scalar("uint")
    offsets: list[int] | None = vector("ulong")


@dataclass
class NamedData:
    key: str | None = string()
    segment_index: int = scalar("uint")


@dataclass
class Program:
    version: int = scalar("uint")
    execution_plan: list[ExecutionPlan] | None = vector(ExecutionPlan)
    constant_buffer: list[Buffer] | None = vector(Buffer)
    backend_delegate_data: list[BackendDelegateInlineData] | None = vector(
        BackendDelegateInlineData)
    segments: list[DataSegment] | None = vector(DataSegment)
    constant_segment: SubsegmentOffsets | None = table(SubsegmentOffsets)
    mutable_data_segments: list[SubsegmentOffsets] | None = vector(SubsegmentOffsets)
    named_data: list[NamedData] | None = vector(NamedData)
