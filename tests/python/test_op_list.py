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

ops.def `#include`s further lists (kernels/quantized/ops_qdq.def,
ops_fused.def), whose entries may be PTEC_OP_PREPARED(name, fn, prepare,
signature). Operators PyTorch does not define are checked against a schema
from elsewhere: ExecuTorch's kernels/quantized/quantized.yaml for the
quantized_decomposed out variants, ptec.quant.ops for ptec's own.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

from ptec.llm import attention as llm_attention
from ptec.cpu import pack_weights
from ptec.llm import quant_ops as llm_quant_ops
from ptec.quant import ops as ptec_ops
from ptec.passes import fuse_conv_clamp
from ptec.passes import random as random_pass
from ptec.passes import safe_softmax

RUNTIME_SRC = Path(__file__).resolve().parents[2] / "runtime" / "src"
OPS_DEF = RUNTIME_SRC / "kernels" / "ops.def"
LINE = re.compile(r'^\s*PTEC_OP\(\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*"([^"]*)"\s*\)'
                  r'|^\s*PTEC_OP_PREPARED\(\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*\w+\s*,\s*"([^"]*)"\s*\)',
                  re.M)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+\.def)"', re.M)

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
    # _empty_dim_order.out(int[] size, *, int[]? dim_order=None, Tensor(a!) out) -> Tensor(a!)
    "dim_order_ops::_empty_dim_order.out": "LlTT",
    # native_dropout.out(Tensor input, float p, bool? train, *, Tensor(a!) out0,
    #                    Tensor(b!) out1): no code for bool?, so 'S' (the kernel checks Bool/None).
    "aten::native_dropout.out": "TdSOOX",
    # et_copy::_h2d_copy.out / _d2h_copy.out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)
    # (executorch/exir/passes/_device_copy_ops_registry.py)
    "et_copy::_h2d_copy.out": "TOT",
    "et_copy::_d2h_copy.out": "TOT",
}

#: ptec's own operators (runtime/src/kernels/quantized/ops_fused.def): their
#: schemas, registered with torch by the compiler (ptec.quant.ops, the single
#: source). Semantics: each op_*.c file there.
PTEC_SCHEMAS = ptec_ops.OUT_SCHEMAS + [llm_attention.OUT_SCHEMA, pack_weights.OUT_SCHEMA] + llm_quant_ops.OUT_SCHEMAS + [random_pass.OUT_SCHEMA, fuse_conv_clamp.OUT_SCHEMA, safe_softmax.OUT_SCHEMA]

#: Enum types are serialised as Int (pte-format.md 1.3).
ENUM_TYPES = {"ScalarType", "MemoryFormat", "Layout"}


def read_ops_def(path: Path = OPS_DEF) -> list[tuple[str, str, str]]:
    """Entries of `path` and of the .def files it includes, in order."""
    entries = []
    text = path.read_text()
    pos = 0
    for inc in list(INCLUDE.finditer(text)) + [None]:
        end = inc.start() if inc else len(text)
        for m in LINE.finditer(text, pos, end):
            entries.append(m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6))
        if inc:
            entries += read_ops_def(RUNTIME_SRC / inc.group(1))
            pos = inc.end()
    return entries


def _parsed_schemas() -> dict[str, torch.FunctionSchema]:
    """Schemas of operators PyTorch does not define, by qualified name."""
    texts = list(PTEC_SCHEMAS)
    spec = importlib.util.find_spec("executorch")  # located, not imported
    if spec is not None and spec.submodule_search_locations:
        yaml = Path(list(spec.submodule_search_locations)[0]) / "kernels/quantized/quantized.yaml"
        if yaml.is_file():
            texts += re.findall(r"^- func: (.*)$", yaml.read_text(), re.M)
    schemas = {}
    for text in texts:
        schema = torch._C.parse_schema(text)
        schemas[f"{schema.name}.{schema.overload_name}"] = schema
    return schemas


OTHER_SCHEMAS = _parsed_schemas()


def find_schema(name: str) -> torch.FunctionSchema:
    if name in OTHER_SCHEMAS:
        return OTHER_SCHEMAS[name]
    namespace, rest = name.split("::")
    op, _, overload = rest.partition(".")  # no overload: the default (aten::copy_)
    return getattr(getattr(getattr(torch.ops, namespace), op), overload or "default")._schema


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
            return pick("F", "f")
        if isinstance(e, torch.BoolType):
            return pick("B", None)
        if isinstance(e, torch.TensorType):
            return pick("X", None)
        if isinstance(e, torch.OptionalType) and isinstance(e.getElementType(), torch.TensorType):
            return pick("Y", None)
    raise ValueError(f"unsupported schema type {t}")


def schema_signature(name: str) -> str:
    schema = find_schema(name)
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
    assert re.fullmatch(r"[TtiIdDsSbLlFfBXYzZOWV]+", signature), signature
    if name.startswith("quantized_decomposed::") and name not in OTHER_SCHEMAS:
        pytest.skip("ExecuTorch's quantized.yaml (the out variants' schemas) is not installed")
    expected = HAND_SIGNATURES.get(name) or schema_signature(name)
    if name not in HAND_SIGNATURES:
        outs = out_slots(name)
        assert all(signature[k] in "TX" or k in outs for k in range(len(signature))
                   if signature[k] in "OW"), f"{name}: 'O'/'W' on a slot that is not an out"
        signature = signature.replace("O", "T").replace("W", "X")
    assert signature == expected, f"{name}: ops.def says {signature!r}, schema gives {expected!r}"


def out_slots(name: str) -> set[int]:
    schema = find_schema(name)
    return {k for k, a in enumerate(schema.arguments) if a.is_out}


def test_hand_signatures_match_executorch():
    """ExecuTorch's registered schemas (make test installs it) agree with the
    hand table (et_view is emitter-only and has no registered schema)."""
    import executorch.exir.passes.dim_order_ops_registry  # noqa: F401  registers the ops
    for name in ("dim_order_ops::_clone_dim_order.out", "dim_order_ops::_to_dim_order_copy.out"):
        assert schema_signature(name) == HAND_SIGNATURES[name]


def test_included_lists_are_read():
    """The #included lists count: every ptec:: operator, with a schema."""
    names = {name for name, _, _ in ENTRIES}
    ptec_ops = {name for name in names if name.startswith("ptec::")}
    assert ptec_ops == {name for name in OTHER_SCHEMAS if name.startswith("ptec::")}
