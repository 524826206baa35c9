"""ExecuTorch's ETDump schema (executorch/devtools/etdump/etdump_schema_flatcc.fbs) as
ptec.pte dataclasses: `read_etdump(bytes)` reads ptec's and ExecuTorch's profiles.

Only the profile side is spelled out; debug and allocation events are kept as
tables with their scalar fields so a file that has them still reads.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ..pte.fbtypes import scalar, string, table, vector
from ..pte.flatbuffer import FlatBufferError, decode


@dataclass
class ProfileEvent:
    name: str | None = string()
    chain_index: int = scalar("int")
    instruction_id: int = scalar("int", -1)
    delegate_debug_id_int: int = scalar("int", -1)
    delegate_debug_id_str: str | None = string()
    delegate_debug_metadata: list[int] | None = vector("ubyte")
    start_time: int = scalar("ulong")
    end_time: int = scalar("ulong")


@dataclass
class AllocationEvent:
    allocator_id: int = scalar("int")
    allocation_size: int = scalar("ulong")


@dataclass
class Event:
    profile_event: ProfileEvent | None = table(ProfileEvent)
    allocation_event: AllocationEvent | None = table(AllocationEvent)


@dataclass
class Allocator:
    name: str | None = string()


@dataclass
class RunData:
    name: str | None = string()
    bundled_input_index: int = scalar("int", -1)
    allocators: list[Allocator] | None = vector(Allocator)
    events: list[Event] | None = vector(Event)


@dataclass
class ETDump:
    version: int = scalar("uint")
    run_data: list[RunData] | None = vector(RunData)


def read_etdump(data: bytes) -> ETDump:
    """An ETDump file (size-prefixed, as ExecuTorch's ETDumpGen and ptec write it)."""
    if len(data) < 12:
        raise FlatBufferError(f"{len(data)} bytes is too short for an ETDump")
    (size,) = struct.unpack_from("<I", data)
    if size != len(data) - 4 or data[8:12] != b"ED00":
        raise FlatBufferError("not a size-prefixed ETDump (identifier ED00)")
    return decode(ETDump, data[4:], file_identifier=b"ED00")
