"""A TOSA flatbuffer as text: version, tensors, operators with attributes.

`ptec inspect` prints this for every TOSABackend delegate of a .pte.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any

from . import schema as s
from .serialize import decode_graph


def _name(enum_cls: type, v: Any) -> str:
    try:
        return enum_cls(v).name
    except ValueError:
        return f"<{enum_cls.__name__} {v}>"


def _attr_text(op: s.TosaOperator) -> str:
    a = op.attribute
    if a is None:
        return ""
    parts = []
    for f in dataclasses.fields(a):
        v = getattr(a, f.name)
        if v is None:
            continue
        if isinstance(v, enum.Enum):
            v = v.name
        elif isinstance(v, bytes):
            v = "0x" + v.hex()
        parts.append(f"{f.name}={v}")
    return " {" + ", ".join(parts) + "}" if parts else ""


def describe_tosa(data: bytes) -> dict[str, Any]:
    """A TOSA flatbuffer as JSON-ready data (one entry per block)."""
    g = decode_graph(data)
    v = g.version
    out: dict[str, Any] = {
        "version": f"{v._major}.{v._minor}.{v._patch}" + (" draft" if v._draft else ""),
        "blocks": []}
    for region in g.regions or []:
        for block in region.blocks or []:
            tensors = []
            for t in block.tensors or []:
                tensors.append({"name": t.name, "shape": list(t.shape or []),
                                "dtype": _name(s.DType, t.type),
                                "const_bytes": None if t.data is None else len(t.data)})
            ops = [{"op": _name(s.Op, o.op), "inputs": list(o.inputs or []),
                    "outputs": list(o.outputs or []), "attributes": _attr_text(o).strip()}
                   for o in block.operators or []]
            out["blocks"].append({"region": region.name, "name": block.name,
                                  "inputs": list(block.inputs or []),
                                  "outputs": list(block.outputs or []),
                                  "tensors": tensors, "operators": ops})
    return out


def format_tosa(d: dict[str, Any], indent: str = "") -> str:
    """describe_tosa's data as text."""
    lines = [f"{indent}TOSA {d['version']}"]
    for b in d["blocks"]:
        shapes = {t["name"]: t for t in b["tensors"]}

        def sig(name: str) -> str:
            t = shapes.get(name)
            return f"{name}:{t['dtype']}{t['shape']}" if t else f"{name}:?"

        consts = [t for t in b["tensors"] if t["const_bytes"] is not None]
        lines.append(f"{indent}block {b['region']}/{b['name']}: {len(b['operators'])} operators, "
                     f"{len(b['tensors'])} tensors ({len(consts)} constant, "
                     f"{sum(t['const_bytes'] for t in consts):,} bytes)")
        lines.append(f"{indent}  inputs:  " + ", ".join(sig(n) for n in b["inputs"]))
        lines.append(f"{indent}  outputs: " + ", ".join(sig(n) for n in b["outputs"]))
        for k, o in enumerate(b["operators"]):
            if o["op"] in ("CONST", "CONST_SHAPE"):
                continue
            attrs = f" {o['attributes']}" if o["attributes"] else ""
            lines.append(f"{indent}  [{k}] {o['op']}({', '.join(o['inputs'])}) -> "
                         f"{', '.join(sig(n) for n in o['outputs'])}{attrs}")
    return "\n".join(lines)


def dump(data: bytes) -> str:
    """The text of a TOSA flatbuffer."""
    return format_tosa(describe_tosa(data))

