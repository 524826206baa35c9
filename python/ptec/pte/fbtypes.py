"""How a schema field is laid out in a FlatBuffer.

`ptec.pte.schema` declares each table as a dataclass whose fields carry one of
these descriptors in their metadata. The generic codec (`ptec.pte.flatbuffer`)
reads only these descriptors, so the schema is written once, as data, and the
encoder and decoder cannot drift from it or from each other.

Slots follow the .fbs rule: fields take consecutive vtable slots in
declaration order, and a union takes two (its `_type` byte, then the value).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import flatbuffers.number_types as N

#: FlatBuffer scalar type name -> flatbuffers number flags (size, packer).
SCALAR_FLAGS: dict[str, Any] = {
    "bool": N.BoolFlags,
    "byte": N.Int8Flags,
    "ubyte": N.Uint8Flags,
    "short": N.Int16Flags,
    "ushort": N.Uint16Flags,
    "int": N.Int32Flags,
    "uint": N.Uint32Flags,
    "long": N.Int64Flags,
    "ulong": N.Uint64Flags,
    "float": N.Float32Flags,
    "double": N.Float64Flags,
}

#: numpy dtype of each scalar type, for whole-vector reads and writes.
SCALAR_NUMPY: dict[str, str] = {
    "bool": "<?", "byte": "<i1", "ubyte": "<u1", "short": "<i2", "ushort": "<u2",
    "int": "<i4", "uint": "<u4", "long": "<i8", "ulong": "<u8", "float": "<f4",
    "double": "<f8",
}


@dataclass(frozen=True)
class ScalarField:
    """An inline scalar; `enum` (an IntEnum) names its values when decoding."""
    type: str
    default: Any = 0
    enum: type | None = None


@dataclass(frozen=True)
class StringField:
    """A UTF-8 string, decoded to `str`."""


@dataclass(frozen=True)
class TableField:
    """A sub-table, decoded to an instance of `cls`."""
    cls: type


@dataclass(frozen=True)
class UnionField:
    """A union: the value is an instance of one member; tag = index + 1 (0 = NONE)."""
    members: tuple[type, ...]


@dataclass(frozen=True)
class VectorField:
    """A vector of scalars (`element` is a type name), strings (`str`) or tables (a class)."""
    element: Any


@dataclass(frozen=True)
class BytesField:
    """A `[ubyte]` holding raw data, decoded to `bytes`, with its `force_align`."""
    align: int = 1


def _field(descriptor: Any, default: Any = None) -> Any:
    return dataclasses.field(default=default, metadata={"fb": descriptor})


def scalar(type_: str, default: Any = 0, enum: type | None = None) -> Any:
    """A scalar field; absent in a buffer means `default`."""
    if type_ not in SCALAR_FLAGS:
        raise ValueError(f"unknown FlatBuffer scalar type {type_!r}")
    if enum is not None:
        default = enum(default)
    elif type_ == "bool":
        default = bool(default)
    elif type_ in ("float", "double"):
        default = float(default)
    return _field(ScalarField(type_, default, enum), default)


def string() -> Any:
    """An optional string field (None = absent)."""
    return _field(StringField())


def table(cls: type) -> Any:
    """An optional sub-table field (None = absent)."""
    return _field(TableField(cls))


def union(*members: type) -> Any:
    """A union field whose value is an instance of one of `members` or None."""
    return _field(UnionField(tuple(members)))


def vector(element: Any) -> Any:
    """An optional vector field (None = absent, [] = present and empty)."""
    if isinstance(element, str) and element not in SCALAR_FLAGS:
        raise ValueError(f"unknown FlatBuffer scalar type {element!r}")
    return _field(VectorField(element))


def blob(align: int = 1) -> Any:
    """An optional `[ubyte]` data field with the schema's `force_align`."""
    return _field(BytesField(align))


@dataclass(frozen=True)
class Slot:
    """One dataclass field placed in its table: name, descriptor, vtable slot."""
    name: str
    kind: Any
    slot: int


_LAYOUTS: dict[type, tuple[tuple[Slot, ...], int]] = {}


def table_layout(cls: type) -> tuple[tuple[Slot, ...], int]:
    """The fields of table `cls` with their vtable slots, and the slot count."""
    cached = _LAYOUTS.get(cls)
    if cached is not None:
        return cached
    slots = []
    next_slot = 0
    for f in dataclasses.fields(cls):
        kind = f.metadata.get("fb")
        if kind is None:
            raise TypeError(f"{cls.__name__}.{f.name} has no FlatBuffer descriptor")
        slots.append(Slot(f.name, kind, next_slot))
        next_slot += 2 if isinstance(kind, UnionField) else 1
    layout = (tuple(slots), next_slot)
    _LAYOUTS[cls] = layout
    return layout
