"""Files written with Python flatbuffers 25.2.10 load (issue 14).

That version (pinned by tosa-tools, so by ExecuTorch's Arm extras) caches
vtables by their field offsets only, so a table can share the vtable of an
earlier, smaller one: the `DataSegment{offset, size}` of a program reuses the
vtable of `SubsegmentOffsets{segment_index: uint32, offsets}` and its recorded
table size (8) ends before its `size` field (bytes 12-20). ptec's reader
refused such files ("field outside its table"); it now checks each field
against the data, as FlatBuffers' own verifier does.

data/linear_relu_flatbuffers_25_2_10.pte: `ptec.compile(Sequential(Linear(4, 3),
ReLU()), (randn(1, 4),))` after `torch.manual_seed(0)`, saved with flatbuffers
25.2.10 first on sys.path (`pip install --target DIR flatbuffers==25.2.10`;
PYTHONPATH=DIR). No download at test time: the bytes are committed.
"""
import struct
from pathlib import Path

import torch

import ptec
from ptec.pte import deserialize_program, serialize_program

DATA = Path(__file__).parent / "data" / "linear_relu_flatbuffers_25_2_10.pte"


def _u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def _first_segment_table(data: bytes) -> tuple[int, int, list[int]]:
    """(table size recorded in its vtable, field offsets) of Program.segments[0]."""
    header = 40 if data[8:12] == b"eh00" else 0  # the extended header is inside the root
    root = _u32(data, 0)

    def table(pos):
        vtable = pos - struct.unpack_from("<i", data, pos)[0]
        vt_size, tbl_size = struct.unpack_from("<HH", data, vtable)
        fields = list(struct.unpack_from(f"<{(vt_size - 4) // 2}H", data, vtable + 4))
        return tbl_size, fields

    _, root_fields = table(root)
    segments_field = root + root_fields[4]  # Program field 4: segments
    vector = segments_field + _u32(data, segments_field)
    first = vector + 4 + _u32(data, vector + 4)
    assert header == 0 or first > header
    return table(first)


def test_fixture_has_a_shared_vtable_smaller_than_its_table():
    data = DATA.read_bytes()
    tbl_size, fields = _first_segment_table(data)
    # DataSegment: two uint64 fields; the recorded size ends before the last.
    assert len(fields) == 2 and max(fields) + 8 > tbl_size, (tbl_size, fields)


def test_flatbuffers_25_2_10_file_loads_and_runs(seed):
    from executorch.runtime import Runtime

    data = DATA.read_bytes()
    program = ptec.load(data)
    x = torch.randn(1, 4, generator=torch.Generator().manual_seed(seed))
    (got,) = program(x)
    # ExecuTorch's runtime on the same bytes, and ptec on the same program
    # written again by the pinned flatbuffers, agree.
    (expected,) = Runtime.get().load_program(data).load_method("forward").execute([x])
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    decoded, segments = deserialize_program(data)
    rewritten = serialize_program(decoded, [segments[:decoded.segments[0].size]])
    assert deserialize_program(rewritten)[0] == decoded
    torch.testing.assert_close(ptec.load(rewritten)(x)[0], got, rtol=0, atol=0)
