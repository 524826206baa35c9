"""The .pte format: schema dataclasses, FlatBuffer codec, file layout."""
from . import schema
from .file import (
    ExtendedHeader,
    constant_bytes,
    delegate_bytes,
    deserialize_program,
    pack_constant_segment,
    read_extended_header,
    segment_bytes,
    serialize_program,
)
from .flatbuffer import FlatBufferError, decode, encode

__all__ = [
    "ExtendedHeader", "FlatBufferError", "constant_bytes", "decode", "delegate_bytes",
    "deserialize_program", "encode", "pack_constant_segment", "read_extended_header", "schema",
    "segment_bytes", "serialize_program",
]
