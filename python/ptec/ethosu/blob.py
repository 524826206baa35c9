"""The EthosUBackend delegate blob: ExecuTorch's `vela_bin_stream`, byte for byte.

A sequence of blocks, each a 32-byte header then its payload padded with zeros
to a multiple of 16:

    char   name[16]      NUL-padded (at most 15 characters)
    uint32 size          the payload's size before padding
    uint8  external      0: the payload is inline (ptec writes 0 only)
    uint8  reserved[11]  zero

in this order: vela_bin_stream (empty), cmd_data (Vela's COP1 stream),
weight_data, scratch_size (uint32), inputs, outputs (int32 count, then per
tensor int32 shape[6], elem_size, offset, region), vela_end_stream (empty,
ending exactly at the end of the blob). ExecuTorch's `arm_vela.py` writes it
and its `VelaBinStream.cpp` reads it; ptec's C reader is
runtime/src/backends/ethosu/vela_bin.c.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .vela import VelaIO, VelaOutput

BACKEND_ID = "EthosUBackend"
HEADER = struct.Struct("<16sIB11s")
IO_ENTRY = struct.Struct("<9i")
BLOCK_ORDER = ("vela_bin_stream", "cmd_data", "weight_data", "scratch_size", "inputs",
               "outputs", "vela_end_stream")


class BlobError(ValueError):
    """A malformed EthosUBackend blob."""


def _pad16(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 16)


def _pack_io(ios: list[VelaIO]) -> bytes:
    out = struct.pack("<i", len(ios))
    for io in ios:
        if len(io.shape) != 6:
            raise BlobError(f"Vela I/O shapes are 6-D, got {io.shape}")
        out += IO_ENTRY.pack(*io.shape, io.elem_size, io.offset, io.region)
    return out


def pack_blocks(blocks: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, payload in blocks:
        raw = name.encode()[:15]
        out += HEADER.pack(raw, len(payload), 0, b"\0" * 11) + _pad16(payload)
    return out


def pack_blob(vela: VelaOutput) -> bytes:
    """The delegate blob of one Vela compilation."""
    return pack_blocks([
        ("vela_bin_stream", b""),
        ("cmd_data", vela.cmd_data),
        ("weight_data", vela.weight_data),
        ("scratch_size", struct.pack("<I", vela.scratch_size)),
        ("inputs", _pack_io(vela.inputs)),
        ("outputs", _pack_io(vela.outputs)),
        ("vela_end_stream", b""),
    ])


@dataclass
class Blob:
    cmd_data: bytes
    weight_data: bytes
    scratch_size: int
    inputs: list[VelaIO]
    outputs: list[VelaIO]
    #: (name, offset of the header, payload size) of every block, in order.
    blocks: list[tuple[str, int, int]]


def _unpack_io(payload: bytes, what: str) -> list[VelaIO]:
    if len(payload) < 4:
        raise BlobError(f"block '{what}' is shorter than its count")
    (count,) = struct.unpack_from("<i", payload)
    if count < 0 or len(payload) != 4 + count * IO_ENTRY.size:
        raise BlobError(f"block '{what}' holds {len(payload)} bytes for {count} tensors")
    ios = []
    for k in range(count):
        v = IO_ENTRY.unpack_from(payload, 4 + k * IO_ENTRY.size)
        ios.append(VelaIO(tuple(v[:6]), v[6], v[7], v[8]))
    return ios


def parse_blob(blob: bytes) -> Blob:
    """Reads and checks a blob (ExecuTorch's or ptec's); BlobError says what is wrong."""
    found: dict[str, bytes] = {}
    blocks = []
    pos = 0
    while pos < len(blob):
        if len(blob) - pos < HEADER.size:
            raise BlobError(f"a block header at byte {pos} runs past the end")
        raw, size, external, _ = HEADER.unpack_from(blob, pos)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if external:
            raise BlobError(f"block '{name}' is external (named data), not inline")
        start = pos + HEADER.size
        end = start + size
        if end > len(blob):
            raise BlobError(f"block '{name}' ({size} bytes) runs past the end")
        expected = BLOCK_ORDER[len(blocks)] if len(blocks) < len(BLOCK_ORDER) else None
        if name != expected:
            raise BlobError(f"block {len(blocks)} is '{name}', expected '{expected}'")
        blocks.append((name, pos, size))
        found[name] = blob[start:end]
        pos = start + size + (-size % 16)
        if name == "vela_end_stream":
            if size != 0 or pos != len(blob):
                raise BlobError("vela_end_stream must be empty and end the blob")
            break
    if len(blocks) != len(BLOCK_ORDER):
        raise BlobError("the blob ends before vela_end_stream")
    if len(found["scratch_size"]) != 4:
        raise BlobError("block 'scratch_size' must hold 4 bytes")
    cmd = found["cmd_data"]
    if cmd[:4] not in (b"COP1", b"COP2"):
        raise BlobError("cmd_data does not start with COP1 or COP2")
    return Blob(cmd, found["weight_data"], struct.unpack("<I", found["scratch_size"])[0],
                _unpack_io(found["inputs"], "inputs"), _unpack_io(found["outputs"], "outputs"),
                blocks)


def compile_specs(vela: VelaOutput, preserve_io_quantization: bool = False) -> list[tuple[str, bytes]]:
    """The compile specs ExecuTorch's EthosUCompileSpec writes (in its order)."""
    npu = vela.npu
    return [
        ("tosa_spec", npu.tosa_spec.encode()),
        ("compile_flags", " ".join(npu.vela_flags()).encode()),
        ("output_format", b"vela"),
        ("preserve_io_quantization", str(bool(preserve_io_quantization)).encode()),
        ("target", npu.accelerator.encode()),
    ]
