"""The .pte file: FlatBuffer program, optional extended header, data segments.

Layout (ExecuTorch's, see docs/pte-format.md):

    [0:4)   root table offset (counts the inserted header)
    [4:8)   file identifier "ET12"
    [8:40)  extended header "eh00": length 32, program_size, segment_base_offset,
            segment_data_size (all little-endian, u32 then three u64)
    [40:..) rest of the FlatBuffer, then zero padding, then the segments,
            each starting at a multiple of `segment_alignment` from the base.

The header is present only when there is segment data, as in ExecuTorch, so
a program without constants is a plain FlatBuffer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from . import flatbuffer
from .schema import FILE_IDENTIFIER, BackendDelegate, DataLocation, DataSegment, Program

HEADER_MAGIC = b"eh00"
HEADER_OFFSET = 8
#: Bytes the header itself needs (magic, length, three u64); ExecuTorch writes 32.
HEADER_LENGTH = 32
#: Oldest header ExecuTorch accepts: without segment_data_size.
HEADER_MIN_LENGTH = 24
#: Largest force_align in the schema; the header is padded to it so that the
#: FlatBuffer's aligned vectors stay aligned after the insertion.
MAX_FORCE_ALIGN = 16
#: Alignment of each constant tensor inside the constant segment.
CONSTANT_TENSOR_ALIGNMENT = 16


@dataclass(frozen=True)
class ExtendedHeader:
    program_size: int
    segment_base_offset: int
    segment_data_size: int
    length: int = HEADER_LENGTH

    def to_bytes(self) -> bytes:
        return (HEADER_MAGIC + HEADER_LENGTH.to_bytes(4, "little")
                + self.program_size.to_bytes(8, "little")
                + self.segment_base_offset.to_bytes(8, "little")
                + self.segment_data_size.to_bytes(8, "little"))


def _align(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def read_extended_header(data: bytes) -> ExtendedHeader | None:
    """The header at byte 8 if its magic is there, else None (a plain FlatBuffer)."""
    if len(data) < HEADER_OFFSET + HEADER_MIN_LENGTH or data[8:12] != HEADER_MAGIC:
        return None
    length = int.from_bytes(data[12:16], "little")
    if length < HEADER_MIN_LENGTH:
        raise flatbuffer.FlatBufferError(f"extended header length {length} < {HEADER_MIN_LENGTH}")
    has_data_size = length >= HEADER_LENGTH and len(data) >= HEADER_OFFSET + HEADER_LENGTH
    return ExtendedHeader(
        program_size=int.from_bytes(data[16:24], "little"),
        segment_base_offset=int.from_bytes(data[24:32], "little"),
        segment_data_size=int.from_bytes(data[32:40], "little") if has_data_size else 0,
        length=length)


def layout_segments(segments: Sequence[bytes], alignment: int) -> tuple[list[DataSegment], bytes]:
    """Places segments one after the other, each start aligned; returns table and bytes."""
    table: list[DataSegment] = []
    blob = bytearray()
    for seg in segments:
        start = _align(len(blob), alignment)
        blob.extend(bytes(start - len(blob)))
        table.append(DataSegment(offset=start, size=len(seg)))
        blob.extend(seg)
    return table, bytes(blob)


def serialize_program(program: Program, segments: Sequence[bytes] = (), *,
                      segment_alignment: int = 16) -> bytes:
    """The .pte bytes of `program` followed by `segments`.

    When `segments` are given, `program.segments` is replaced (in the written
    copy) by their layout; otherwise it is written as it is. ExecuTorch aligns
    segments to 128 bytes; ptec defaults to 16, the alignment its tensors need.
    """
    if segment_alignment <= 0 or segment_alignment & (segment_alignment - 1):
        raise ValueError(f"segment alignment {segment_alignment} is not a power of two")
    if segments:
        table, blob = layout_segments(segments, segment_alignment)
        program = dataclasses.replace(program, segments=table)
    else:
        blob = b""
    fb = flatbuffer.encode(program, FILE_IDENTIFIER)
    if not blob:
        return fb
    header_length = _align(HEADER_LENGTH, MAX_FORCE_ALIGN)
    program_size = len(fb) + header_length
    base = _align(program_size, segment_alignment)
    header = ExtendedHeader(program_size, base, len(blob)).to_bytes()
    header += bytes(header_length - len(header))
    root = int.from_bytes(fb[0:4], "little") + header_length
    out = bytearray(root.to_bytes(4, "little") + fb[4:8] + header + fb[8:])
    out.extend(bytes(base - len(out)))
    out.extend(blob)
    return bytes(out)


def deserialize_program(data: bytes) -> tuple[Program, bytes]:
    """Reads a .pte (ptec's or ExecuTorch's): the Program and its segment data.

    The segment data starts at the header's segment_base_offset, so
    `program.segments[i].offset` indexes it directly; it is empty when the
    file has no header.
    """
    data = bytes(data)
    header = read_extended_header(data)
    program_end = len(data)
    segment_data = b""
    if header is not None:
        if header.program_size > len(data):
            raise flatbuffer.FlatBufferError(
                f"program_size {header.program_size} exceeds the {len(data)}-byte file")
        program_end = header.program_size
        if header.segment_base_offset:
            end = (header.segment_base_offset + header.segment_data_size
                   if header.segment_data_size else len(data))
            if end > len(data) or header.segment_base_offset < program_end:
                raise flatbuffer.FlatBufferError(
                    f"segments [{header.segment_base_offset}, {end}) fall outside the file")
            segment_data = data[header.segment_base_offset:end]
    program = flatbuffer.decode(Program, data[:program_end], FILE_IDENTIFIER)
    return program, segment_data


# ------------------------------------------------------------ reading data

def segment_bytes(program: Program, segment_data: bytes, index: int) -> bytes:
    """The bytes of segment `index`."""
    segs = program.segments or []
    if not 0 <= index < len(segs):
        raise IndexError(f"segment {index} of {len(segs)}")
    seg = segs[index]
    if seg.offset + seg.size > len(segment_data):
        raise flatbuffer.FlatBufferError(
            f"segment {index} [{seg.offset}, {seg.offset + seg.size}) is outside the segment data")
    return segment_data[seg.offset:seg.offset + seg.size]


def constant_bytes(program: Program, segment_data: bytes, buffer_idx: int, nbytes: int) -> bytes:
    """The `nbytes` of constant `buffer_idx` (constant segment or deprecated constant_buffer)."""
    cs = program.constant_segment
    if cs is not None and cs.offsets and len(cs.offsets) > 1:
        if not 0 < buffer_idx < len(cs.offsets):
            raise IndexError(f"constant {buffer_idx} of {len(cs.offsets)}")
        seg = segment_bytes(program, segment_data, cs.segment_index)
        start = cs.offsets[buffer_idx]
        if start + nbytes > len(seg):
            raise flatbuffer.FlatBufferError(f"constant {buffer_idx} overruns its segment")
        return seg[start:start + nbytes]
    buffers = program.constant_buffer or []
    if not 0 < buffer_idx < len(buffers):
        raise IndexError(f"constant {buffer_idx} of {len(buffers)} constant buffers")
    storage = buffers[buffer_idx].storage or b""
    if nbytes > len(storage):
        raise flatbuffer.FlatBufferError(f"constant {buffer_idx} has {len(storage)} bytes, "
                                         f"needs {nbytes}")
    return storage[:nbytes]


def delegate_bytes(program: Program, segment_data: bytes, delegate: BackendDelegate) -> bytes:
    """The processed blob of a delegate, INLINE in the program or in a SEGMENT."""
    ref = delegate.processed
    if ref is None:
        raise flatbuffer.FlatBufferError(f"delegate {delegate.id!r} has no processed data")
    if ref.location == DataLocation.INLINE:
        inline = program.backend_delegate_data or []
        if not 0 <= ref.index < len(inline):
            raise IndexError(f"inline delegate data {ref.index} of {len(inline)}")
        return inline[ref.index].data or b""
    if ref.location == DataLocation.SEGMENT:
        return segment_bytes(program, segment_data, ref.index)
    raise flatbuffer.FlatBufferError(f"delegate {delegate.id!r}: unknown location {ref.location}")


def pack_constant_segment(tensors: Sequence[bytes],
                          alignment: int = CONSTANT_TENSOR_ALIGNMENT) -> tuple[bytes, list[int]]:
    """The constant segment and its offsets; offsets[0] is ExecuTorch's reserved placeholder.

    Constant k (1-based, as Tensor.data_buffer_idx counts) starts at offsets[k];
    every tensor is padded to `alignment` so the next one starts aligned.
    """
    blob = bytearray()
    offsets = [0]
    for data in tensors:
        offsets.append(len(blob))
        blob.extend(data)
        blob.extend(bytes(_align(len(blob), alignment) - len(blob)))
    return bytes(blob), offsets
