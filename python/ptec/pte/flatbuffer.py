"""A generic FlatBuffer encoder and decoder driven by the dataclass schema.

Any dataclass whose fields carry `ptec.pte.fbtypes` descriptors can be written
with the `flatbuffers` package's Builder and read back with its low-level
Table accessors. No generated code: the descriptors are the schema, which is
why adding a field to `schema.py` is all a format change needs.
"""
from __future__ import annotations

import struct
from typing import Any

import flatbuffers
import flatbuffers.number_types as N
import numpy as np
from flatbuffers.table import Table

from .fbtypes import (
    SCALAR_FLAGS,
    SCALAR_NUMPY,
    BytesField,
    ScalarField,
    StringField,
    TableField,
    UnionField,
    VectorField,
    table_layout,
)

_UOFFSET = N.UOffsetTFlags.bytewidth


class FlatBufferError(ValueError):
    """The bytes are not a FlatBuffer of the expected schema."""


# ------------------------------------------------------------------ encoding

def encode(root: Any, file_identifier: bytes | None = None) -> bytes:
    """Serialises the table `root` (a schema dataclass) to FlatBuffer bytes."""
    builder = flatbuffers.Builder(1024)
    offset = _encode_table(builder, root)
    builder.Finish(offset, file_identifier=file_identifier)
    return bytes(builder.Output())


def _encode_table(builder: flatbuffers.Builder, obj: Any) -> int:
    slots, num_slots = table_layout(type(obj))
    # Children first: a FlatBuffer table can only point backwards.
    refs: dict[str, int] = {}
    for s in slots:
        value = getattr(obj, s.name)
        if value is not None and not isinstance(s.kind, ScalarField):
            refs[s.name] = _encode_reference(builder, s.kind, value, f"{type(obj).__name__}.{s.name}")
    builder.StartObject(num_slots)
    for s in slots:
        value = getattr(obj, s.name)
        kind = s.kind
        if isinstance(kind, ScalarField):
            flags = SCALAR_FLAGS[kind.type]
            builder.PrependSlot(flags, s.slot, _coerce(kind.type, value), kind.default)
        elif value is None:
            continue
        elif isinstance(kind, UnionField):
            builder.PrependUint8Slot(s.slot, _union_tag(kind, value), 0)
            builder.PrependUOffsetTRelativeSlot(s.slot + 1, refs[s.name], 0)
        else:
            builder.PrependUOffsetTRelativeSlot(s.slot, refs[s.name], 0)
    return builder.EndObject()


def _coerce(type_: str, value: Any) -> Any:
    if type_ == "bool":
        return bool(value)
    if type_ in ("float", "double"):
        return float(value)
    return int(value)


def _union_tag(kind: UnionField, value: Any) -> int:
    for i, member in enumerate(kind.members):
        if type(value) is member:
            return i + 1
    raise TypeError(f"{type(value).__name__} is not a member of union "
                    f"{[m.__name__ for m in kind.members]}")


def _encode_reference(builder: flatbuffers.Builder, kind: Any, value: Any, where: str) -> int:
    if isinstance(kind, StringField):
        return builder.CreateString(value)
    if isinstance(kind, TableField):
        if type(value) is not kind.cls:
            raise TypeError(f"{where}: expected {kind.cls.__name__}, got {type(value).__name__}")
        return _encode_table(builder, value)
    if isinstance(kind, UnionField):
        _union_tag(kind, value)
        return _encode_table(builder, value)
    if isinstance(kind, BytesField):
        return _encode_aligned_bytes(builder, bytes(value), kind.align)
    if isinstance(kind, VectorField):
        return _encode_vector(builder, kind.element, value)
    raise TypeError(f"{where}: unknown field kind {kind!r}")


def _encode_aligned_bytes(builder: flatbuffers.Builder, data: bytes, align: int) -> int:
    """A [ubyte] whose first byte sits at a multiple of `align` (force_align)."""
    builder.StartVector(1, len(data), align)
    builder.head = builder.Head() - len(data)
    builder.Bytes[builder.Head():builder.Head() + len(data)] = data
    return builder.EndVector()


def _encode_vector(builder: flatbuffers.Builder, element: Any, items: list) -> int:
    if isinstance(element, str):
        return builder.CreateNumpyVector(np.asarray(items, dtype=SCALAR_NUMPY[element]).reshape(-1))
    if element is str:
        offsets = [builder.CreateString(s) for s in items]
    else:
        offsets = [_encode_table(builder, item) for item in items]
    builder.StartVector(_UOFFSET, len(offsets), _UOFFSET)
    for off in reversed(offsets):
        builder.PrependUOffsetTRelative(off)
    return builder.EndVector()


# ------------------------------------------------------------------ decoding

def decode(cls: type, data: bytes, file_identifier: bytes | None = None) -> Any:
    """Reads the root table of `data` as an instance of `cls`."""
    if len(data) < 8:
        raise FlatBufferError(f"{len(data)} bytes is too short for a FlatBuffer")
    if file_identifier is not None and bytes(data[4:8]) != file_identifier:
        raise FlatBufferError(f"file identifier {bytes(data[4:8])!r}, expected {file_identifier!r}")
    root = int.from_bytes(data[0:4], "little")
    if root + 4 > len(data):
        raise FlatBufferError(f"root table offset {root} is outside the {len(data)}-byte buffer")
    try:
        return _decode_table(cls, data, root)
    except FlatBufferError:
        raise
    except (IndexError, ValueError, TypeError, struct.error) as e:
        # TypeError: the flatbuffers package's check of an offset that went negative.
        raise FlatBufferError(f"malformed {cls.__name__} FlatBuffer: {e}") from e


def _decode_table(cls: type, buf: bytes, pos: int) -> Any:
    slots, _ = table_layout(cls)
    tab = Table(buf, pos)
    values: dict[str, Any] = {}
    for s in slots:
        kind = s.kind
        o = tab.Offset(4 + 2 * s.slot)
        if isinstance(kind, ScalarField):
            values[s.name] = (_decode_scalar(kind, tab.Get(SCALAR_FLAGS[kind.type], tab.Pos + o))
                              if o else kind.default)
        elif not o:
            values[s.name] = None
        elif isinstance(kind, UnionField):
            values[s.name] = _decode_union(kind, tab, o, s.slot)
        else:
            values[s.name] = _decode_reference(kind, tab, o)
    return cls(**values)


def _decode_scalar(kind: ScalarField, value: Any) -> Any:
    if kind.enum is not None:
        try:
            return kind.enum(value)
        except ValueError:
            return value  # a newer schema's value: keep the number
    return value


def _decode_union(kind: UnionField, tab: Table, type_offset: int, slot: int) -> Any:
    tag = tab.Get(N.Uint8Flags, tab.Pos + type_offset)
    value_offset = tab.Offset(4 + 2 * (slot + 1))
    if tag == 0 or not value_offset:
        return None
    if tag > len(kind.members):
        raise FlatBufferError(f"union tag {tag} is not one of {len(kind.members)} members")
    member = kind.members[tag - 1]
    return _decode_table(member, tab.Bytes, tab.Indirect(tab.Pos + value_offset))


def _decode_reference(kind: Any, tab: Table, o: int) -> Any:
    if isinstance(kind, StringField):
        return tab.String(tab.Pos + o).decode("utf-8")
    if isinstance(kind, TableField):
        return _decode_table(kind.cls, tab.Bytes, tab.Indirect(tab.Pos + o))
    if isinstance(kind, BytesField):
        start = tab.Vector(o)
        return bytes(tab.Bytes[start:start + tab.VectorLen(o)])
    if isinstance(kind, VectorField):
        return _decode_vector(kind.element, tab, o)
    raise TypeError(f"unknown field kind {kind!r}")


def _decode_vector(element: Any, tab: Table, o: int) -> list:
    if isinstance(element, str):
        return tab.GetVectorAsNumpy(SCALAR_FLAGS[element], o).tolist()
    start, length = tab.Vector(o), tab.VectorLen(o)
    if element is str:
        return [tab.String(start + _UOFFSET * i).decode("utf-8") for i in range(length)]
    return [_decode_table(element, tab.Bytes, tab.Indirect(start + _UOFFSET * i))
            for i in range(length)]
