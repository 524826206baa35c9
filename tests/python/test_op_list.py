"""ops.def against PyTorch: each kernel's signature string must be the one
its operator's schema implies, so the runtime's argument checks at method
init agree with what ExecuTorch's emitter (and ptec's) passes.

One character per schema argument, in schema order (out arguments
included), then one for the return slot: T for a single returned tensor,
X (a TensorList of the outs) for several or for `-> ()` ops whose out is a
Tensor[] (split_copy), as ExecuTorch's emitter does.

Out arguments may be written 'O' / 'W' (kernel.h: checked at init not to
be program constants) or plain 'T' / 'X'; the return slot, which holds the
same tensors, is checked either way.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

OPS_DEF = Path(__file__).resolve().parents[2] / "runtime" / "src" / "kernels" / "ops.def"
LINE = re.compile(r'^\s*PTEC_OP\(\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*"([^"]*)"\s*\)', re.M)

#: Operators that are not in torch.ops.aten: ExecuTorch's own, from
#: executorch/exir (emitter and dim_order_ops_registry.py).
HAND_SIGNATURES = {
    # _emit_view: args = [self, size, out]; the out is the return value, a
    # view ('V') whose data the kernel binds to self's.
    "executorch_prim::et_view.default": "TLV",
    # _clone_dim_order.out(Tensor self, *, bool non_blocking=False,
    #                      int[]? dim_order=None, Tensor(a!) out) -> Tensor(a!)
    "dim_order_ops::_clone_dim_order.out": "TblTT",
    # _to_dim_order_copy.out(Tensor self, *, bool non_blocking=False,
    #                        int[]? dim_order=None, Tensor(a!) out) -> Tensor(a!)
    "dim_order_ops::_to_dim_order_copy.out": "TblTT",
}

#: Enum types are serialised as Int (pte-format.md 1.3).
ENUM_TYPES = {"ScalarType", "MemoryFormat", "Layout"}


def read_ops_def() -> list[tuple[str, str, str]]:
    return LINE.findall(OPS_DEF.read_text())


def type_char(t: torch.Type) -> str:
    optional = isinstance(t, torch.OptionalType)
    if optional:
        t = t.getElementType()

    def pick(required: str, opt: str | None) -> str:
        if optional and opt is None:
            raise ValueError(f"no signature character for optional {t}")
        return opt if optional else required

    if isinstance(t, torch.TensorType):
        return pick("T", "t")
    if isinstance(t, torch.IntType) or str(t) in ENUM_TYPES | {"SymInt"}:
        return pick("i", "I")
    if isinstance(t, torch.FloatType):
        return pick("d", "D")
    if isinstance(t, torch.NumberType):
        return pick("s", "S")
    if isinstance(t, torch.BoolType):
        return pick("b", None)
    if isinstance(t, torch.StringType):
        return pick("z", "Z")
    if isinstance(t, torch.ListType):
        e = t.getElementType()
        if isinstance(e, torch.IntType) or str(e) == "SymInt":
            return pick("L", "l")
        if isinstance(e, torch.FloatType):
            return pick("F", None)
        if isinstance(e, torch.BoolType):
            return pick("B", None)
        if isinstance(e, torch.TensorType):
            return pick("X", None)
        if isinstance(e, torch.OptionalType) and isinstance(e.getElementType(), torch.TensorType):
            return pick("Y", None)
    raise ValueError(f"unsupported schema type {t}")


def schema_signature(name: str) -> str:
    namespace, rest = name.split("::")
    op, overload = rest.split(".")
    schema = getattr(getattr(getattr(torch.ops, namespace), op), overload)._schema
    args = "".join(type_char(a.type) for a in schema.arguments)
    return args + ("T" if len(schema.returns) == 1 else "X")


ENTRIES = read_ops_def()


def test_ops_def_parses():
    assert len(ENTRIES) >= 50
    names = [name for name, _, _ in ENTRIES]
    assert len(names) == len(set(names)), "an operator is listed twice"
    functions = [fn for _, fn, _ in ENTRIES]
    assert len(functions) == len(set(functions)), "a kernel function is listed twice"


@pytest.mark.parametrize("name,function,signature", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_signature_matches_schema(name, function, signature):
    assert re.fullmatch(r"[TtiIdDsSbLlFBXYzZOWV]+", signature), signature
    expected = HAND_SIGNATURES.get(name) or schema_signature(name)
    if name not in HAND_SIGNATURES:
        outs = out_slots(name)
        assert all(signature[k] in "TX" or k in outs for k in range(len(signature))
                   if signature[k] in "OW"), f"{name}: 'O'/'W' on a slot that is not an out"
        signature = signature.replace("O", "T").replace("W", "X")
    assert signature == expected, f"{name}: ops.def says {signature!r}, schema gives {expected!r}"


def out_slots(name: str) -> set[int]:
    namespace, rest = name.split("::")
    op, overload = rest.split(".")
    schema = getattr(getattr(getattr(torch.ops, namespace), op), overload)._schema
    return {k for k, a in enumerate(schema.arguments) if a.is_out}


def test_hand_signatures_match_executorch():
    """Where ExecuTorch is installed, its registered schemas agree with the
    hand table (et_view is emitter-only and has no registered schema)."""
    pytest.importorskip("executorch.exir.passes.dim_order_ops_registry")
    for name in ("dim_order_ops::_clone_dim_order.out", "dim_order_ops::_to_dim_order_copy.out"):
        assert schema_signature(name) == HAND_SIGNATURES[name]
