"""The .pte format: schema codec, file layout, and agreement with ExecuTorch's files."""
import dataclasses
import functools
import importlib.util
import struct

import pytest
import torch

from ptec.pte import (
    FlatBufferError,
    constant_bytes,
    decode,
    delegate_bytes,
    deserialize_program,
    encode,
    pack_constant_segment,
    read_extended_header,
    segment_bytes,
    serialize_program,
)
from ptec.pte import schema as s

BIG = 5 * 2**32 + 12345  # an offset that needs the high 32 bits


def tensor(sizes, dtype=s.ScalarType.FLOAT, **kw):
    return s.Tensor(scalar_type=dtype, sizes=list(sizes), dim_order=list(range(len(sizes))), **kw)


def full_program() -> s.Program:
    """A program touching every table, union member, and None/empty/64-bit edge."""
    values = [
        s.EValue(tensor([1, 3, 8, 8], allocation_info=s.AllocationDetails(1, BIG & 0xFFFFFFFF,
                                                                           BIG >> 32))),
        s.EValue(tensor([4], data_buffer_idx=1)),
        s.EValue(tensor([], dtype=s.ScalarType.LONG, extra_tensor_info=s.ExtraTensorInfo(
            mutable_data_segments_idx=2**40, fully_qualified_name="block.weight",
            location=s.TensorDataLocation.EXTERNAL, device_type=s.DeviceType.CUDA,
            device_index=3), shape_dynamism=s.TensorShapeDynamism.DYNAMIC_BOUND)),
        s.EValue(s.Null()),
        s.EValue(s.Int(-2**63)),
        s.EValue(s.Int(2**63 - 1)),
        s.EValue(s.Bool(True)),
        s.EValue(s.Double(-0.5)),
        s.EValue(s.Double(float("inf"))),
        s.EValue(s.String("naïve ✓")),
        s.EValue(s.IntList([4, 5])),
        s.EValue(s.IntList([])),
        s.EValue(s.DoubleList([1.5, -2.25e300])),
        s.EValue(s.BoolList([True, False, True])),
        s.EValue(s.TensorList([0, 1])),
        s.EValue(s.OptionalTensorList([0, -1])),
        s.EValue(None),  # union NONE
        s.EValue(s.String(None)),
    ]
    chain = s.Chain(
        inputs=[0], outputs=[],
        instructions=[
            s.Instruction(s.KernelCall(op_index=0, args=[0, 1, 4, 0, 0])),
            s.Instruction(s.DelegateCall(delegate_index=1, args=[0, 3])),
            s.Instruction(s.MoveCall(move_from=4, move_to=5)),
            s.Instruction(s.JumpFalseCall(cond_value_index=6, destination_instruction=0)),
            s.Instruction(s.FreeCall(value_index=0)),
            s.Instruction(None),
        ],
        stacktrace=[s.FrameList([s.Frame("model.py", 12, "forward", "x + 1")]), s.FrameList([])],
    )
    plan = s.ExecutionPlan(
        name="forward",
        container_meta_type=s.ContainerMetadata("[1, {}]", ""),
        values=values, inputs=[0], outputs=[],
        chains=[chain],
        operators=[s.Operator("aten::add", "out"), s.Operator("aten::relu", "")],
        delegates=[
            s.BackendDelegate("TOSABackend", s.BackendDelegateDataReference(
                s.DataLocation.INLINE, 0), [s.CompileSpec("tosa_spec", b"TOSA-1.0+INT"),
                                            s.CompileSpec("empty", b"")]),
            s.BackendDelegate("EthosUBackend", s.BackendDelegateDataReference(
                s.DataLocation.SEGMENT, 1), []),
        ],
        non_const_buffer_sizes=[0, BIG],
        non_const_buffer_device=[s.NonConstBufferDevice(1, s.DeviceType.CPU, 0)],
    )
    return s.Program(
        version=7,
        execution_plan=[plan, s.ExecutionPlan(name="empty_method", values=[], inputs=[],
                                              outputs=[], non_const_buffer_sizes=[0])],
        constant_buffer=[s.Buffer(b""), s.Buffer(b"\x01\x02\x03")],
        backend_delegate_data=[s.BackendDelegateInlineData(b"inline-blob" * 5)],
        segments=None,
        constant_segment=s.SubsegmentOffsets(segment_index=0, offsets=[0, 0, BIG]),
        mutable_data_segments=[],
        named_data=[s.NamedData("weights", 2)],
    )


SEGMENTS = [b"\x11" * 20, b"\x22" * 33, b""]


def test_flatbuffer_roundtrip_every_table():
    program = full_program()
    assert decode(s.Program, encode(program, b"ET12"), b"ET12") == program


def test_none_and_empty_vectors_stay_distinct():
    program = s.Program(execution_plan=[s.ExecutionPlan(name="m", values=[], inputs=None)])
    back = decode(s.Program, encode(program, b"ET12"))
    assert back.execution_plan[0].values == [] and back.execution_plan[0].inputs is None
    assert back.constant_buffer is None and back.constant_segment is None


def test_program_file_roundtrip_with_segments():
    program = full_program()
    data = serialize_program(program, SEGMENTS)
    back, segment_data = deserialize_program(data)
    assert back == dataclasses.replace(program, segments=[
        s.DataSegment(0, 20), s.DataSegment(32, 33), s.DataSegment(80, 0)])
    assert [segment_bytes(back, segment_data, i) for i in range(3)] == SEGMENTS


def test_header_layout_and_root_offset():
    data = serialize_program(full_program(), SEGMENTS, segment_alignment=64)
    assert data[4:8] == b"ET12" and data[8:12] == b"eh00"
    length, program_size, base, size = struct.unpack_from("<IQQQ", data, 12)
    assert length == 32
    header = read_extended_header(data)
    assert (header.program_size, header.segment_base_offset, header.segment_data_size) == (
        program_size, base, size)
    assert base % 64 == 0 and base >= program_size and base + size == len(data)
    laid_out, _ = deserialize_program(data)
    plain = encode(laid_out, b"ET12")
    assert program_size == len(plain) + 32
    # The root offset moved by the inserted header and the rest is the same FlatBuffer.
    assert struct.unpack_from("<I", data)[0] == struct.unpack_from("<I", plain)[0] + 32
    assert data[40:program_size] == plain[8:]


def test_no_header_without_segment_data():
    program = full_program()
    data = serialize_program(program)
    assert data[8:12] != b"eh00" and read_extended_header(data) is None
    assert data == encode(program, b"ET12")
    # Segments that are all empty add no data, so no header either (as in ExecuTorch).
    assert read_extended_header(serialize_program(program, [b""])) is None


@pytest.mark.parametrize("alignment", [16, 128, 4096])
def test_segment_alignment_is_a_parameter(alignment):
    data = serialize_program(full_program(), SEGMENTS, segment_alignment=alignment)
    back, _ = deserialize_program(data)
    header = read_extended_header(data)
    assert header.segment_base_offset % alignment == 0
    assert all(seg.offset % alignment == 0 for seg in back.segments)


def test_force_aligned_vectors_start_on_16_bytes():
    marker = bytes(range(1, 40))
    program = s.Program(
        constant_buffer=[s.Buffer(b"x"), s.Buffer(marker)],
        backend_delegate_data=[s.BackendDelegateInlineData(b"y"),
                               s.BackendDelegateInlineData(marker[::-1])])
    for segments in ([], [b"seg"]):
        data = serialize_program(program, segments)
        assert data.index(marker) % 16 == 0
        assert data.index(marker[::-1]) % 16 == 0


def test_reading_constants_and_delegates():
    blob, offsets = pack_constant_segment([b"\xaa" * 5, b"", b"\xbb" * 17])
    assert offsets == [0, 0, 16, 16] and len(blob) == 48
    program = dataclasses.replace(
        full_program(), constant_segment=s.SubsegmentOffsets(1, offsets))
    data = serialize_program(program, [b"delegate in a segment", blob])
    back, seg = deserialize_program(data)
    assert constant_bytes(back, seg, 1, 5) == b"\xaa" * 5
    assert constant_bytes(back, seg, 3, 17) == b"\xbb" * 17
    delegates = back.execution_plan[0].delegates
    assert delegate_bytes(back, seg, delegates[0]) == b"inline-blob" * 5
    assert delegate_bytes(back, seg, delegates[1]) == blob  # SEGMENT #1
    # The deprecated inline constant_buffer, used when there is no constant segment.
    old = dataclasses.replace(back, constant_segment=None)
    assert constant_bytes(old, seg, 1, 3) == b"\x01\x02\x03"


def test_malformed_files_raise():
    data = serialize_program(full_program(), SEGMENTS)
    with pytest.raises(FlatBufferError):
        deserialize_program(b"\x08\0\0\0ET13" + data[8:])
    with pytest.raises(FlatBufferError):
        deserialize_program(data[:6])
    with pytest.raises(FlatBufferError):
        deserialize_program(data[:60])  # header promises more than the file holds
    with pytest.raises(FlatBufferError):
        deserialize_program(b"\xff\xff\0\0ET12" + bytes(16))


# --------------------------------------------------------------- ExecuTorch files

# ExecuTorch is only a test reference (requirements-interop.txt).
requires_executorch = pytest.mark.skipif(importlib.util.find_spec("executorch") is None,
                                         reason="executorch is not installed")


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        y = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(y.mean(dim=(2, 3))) * 2.0, y


@functools.lru_cache(maxsize=None)
def _executorch_pte() -> tuple[bytes, torch.nn.Module]:
    from executorch.exir import to_edge
    torch.manual_seed(0)
    model = _Tiny().eval()
    ep = torch.export.export(model, (torch.randn(1, 3, 10, 10),))
    return bytes(to_edge(ep).to_executorch().buffer), model


@requires_executorch
def test_reads_executorch_pte():
    data, model = _executorch_pte()
    program, segment_data = deserialize_program(data)
    plan = program.execution_plan[0]
    assert plan.name == "forward" and plan.non_const_buffer_sizes[0] == 0
    names = {op.qualified_name for op in plan.operators}
    assert {"aten::convolution.out", "aten::max_pool2d_with_indices.out",
            "aten::mean.out"} <= names
    for ins in plan.chains[0].instructions:
        for arg in ins.instr_args.args:
            assert 0 <= arg < len(plan.values)
    # The conv weight is the first constant, byte for byte.
    weight = plan.values[0].val
    assert weight.sizes == [4, 3, 3, 3] and weight.data_buffer_idx == 1
    stored = constant_bytes(program, segment_data, 1, 4 * 3 * 3 * 3 * 4)
    assert stored == model.conv.weight.detach().numpy().tobytes()


@requires_executorch
def test_reserialising_executorch_pte_is_lossless():
    data, _ = _executorch_pte()
    program, segment_data = deserialize_program(data)
    segments = [segment_bytes(program, segment_data, i) for i in range(len(program.segments))]
    again = serialize_program(program, segments, segment_alignment=128)
    back, back_segments = deserialize_program(again)
    assert back == program and back_segments == segment_data
    # ExecuTorch's writer and ptec's produce the very same bytes.
    assert again == data


@functools.lru_cache(maxsize=None)
def _xnnpack_pte(extract_segments: bool) -> bytes:
    import executorch.backends.xnnpack.partition.xnnpack_partitioner as xnn
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    ep = torch.export.export(model, (torch.randn(2, 4),))
    edge = to_edge_transform_and_lower(ep, partitioner=[xnn.XnnpackPartitioner()])
    config = ExecutorchBackendConfig(extract_delegate_segments=extract_segments)
    return bytes(edge.to_executorch(config).buffer)


@requires_executorch
@pytest.mark.parametrize("location", [s.DataLocation.SEGMENT, s.DataLocation.INLINE])
def test_reads_executorch_delegates(location):
    data = _xnnpack_pte(location == s.DataLocation.SEGMENT)
    program, segment_data = deserialize_program(data)
    delegate = program.execution_plan[0].delegates[0]
    assert delegate.id == "XnnpackBackend" and delegate.processed.location == location
    blob = delegate_bytes(program, segment_data, delegate)
    assert len(blob) > 0
    calls = [i.instr_args for i in program.execution_plan[0].chains[0].instructions]
    assert any(isinstance(c, s.DelegateCall) for c in calls)
    segments = [segment_bytes(program, segment_data, i) for i in range(len(program.segments))]
    back, _ = deserialize_program(serialize_program(program, segments, segment_alignment=128))
    assert back == program
