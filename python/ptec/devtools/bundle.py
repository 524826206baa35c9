"""Bundled test vectors in ExecuTorch's BundledProgram format.

A bundled program is one file with the `.pte` and test cases: inputs and the
outputs expected from them, per method (ExecuTorch's
devtools/bundled_program/schema/bundled_program_schema.fbs, identifier BP08).
`ptec.bundle(program, cases)` writes one; `ptec-run --verify FILE.bpte` and the
Cortex-M runner's `--verify` run every case on the device and report each
case's largest error. ExecuTorch's BundledProgram tools read ptec's bundles
and ptec reads theirs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..dtypes import SCALAR_TYPES
from ..pte.fbtypes import blob, scalar, string, union, vector
from ..pte.flatbuffer import decode, encode

IDENTIFIER = b"BP08"
#: ExecuTorch's default tolerances for comparing outputs
#: (executorch/devtools/bundled_program: rtol 1e-5, atol 1e-8).
RTOL = 1e-5
ATOL = 1e-8


@dataclass
class Tensor:
    scalar_type: int = scalar("byte")
    sizes: list[int] | None = vector("int")
    data: bytes | None = blob(16)
    dim_order: list[int] | None = vector("ubyte")


@dataclass
class Int:
    int_val: int = scalar("long")


@dataclass
class Bool:
    bool_val: bool = scalar("bool")


@dataclass
class Double:
    double_val: float = scalar("double")


@dataclass
class Value:
    val: object | None = union(Tensor, Int, Bool, Double)


@dataclass
class BundledMethodTestCase:
    inputs: list[Value] | None = vector(Value)
    expected_outputs: list[Value] | None = vector(Value)


@dataclass
class BundledMethodTestSuite:
    method_name: str | None = string()
    test_cases: list[BundledMethodTestCase] | None = vector(BundledMethodTestCase)


@dataclass
class BundledProgram:
    version: int = scalar("uint")
    method_test_suites: list[BundledMethodTestSuite] | None = vector(BundledMethodTestSuite)
    program: bytes | None = blob(32)


_DTYPE_OF = {int(v): k for k, v in SCALAR_TYPES.items()}


def _value(x: Any) -> Value:
    if isinstance(x, bool):
        return Value(Bool(x))
    if isinstance(x, int):
        return Value(Int(x))
    if isinstance(x, float):
        return Value(Double(x))
    t = torch.as_tensor(x).detach().cpu().contiguous()
    data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return Value(Tensor(int(SCALAR_TYPES[t.dtype]), list(t.shape), data, list(range(t.dim()))))


def _tensor(v: Value) -> Any:
    x = v.val
    if isinstance(x, Tensor):
        dtype = _DTYPE_OF[int(x.scalar_type)]
        flat = torch.frombuffer(bytearray(x.data or b""), dtype=torch.uint8)
        laid_out = flat.view(dtype).reshape([x.sizes[d] for d in x.dim_order or []] or x.sizes or [])
        order = list(x.dim_order or [])
        return laid_out.permute(*[order.index(d) for d in range(len(order))]) if order else laid_out
    if isinstance(x, Int):
        return x.int_val
    if isinstance(x, Bool):
        return x.bool_val
    if isinstance(x, Double):
        return x.double_val
    raise ValueError(f"unknown bundled value {x!r}")


def bundle(program, cases: Sequence[tuple[Sequence[Any], Sequence[Any]]],
           method: str = "forward", path: str | Path | None = None) -> bytes:
    """A BundledProgram of `program` (a ptec.CompiledProgram or .pte bytes) with
    `cases`: (inputs, expected outputs) pairs for `method`. Written to `path` if given."""
    pte = program if isinstance(program, (bytes, bytearray)) else program.buffer
    suite = BundledMethodTestSuite(method, [
        BundledMethodTestCase([_value(x) for x in inputs], [_value(y) for y in outputs])
        for inputs, outputs in cases])
    data = encode(BundledProgram(0, [suite], bytes(pte)), file_identifier=IDENTIFIER)
    if path is not None:
        Path(path).write_bytes(data)
    return data


@dataclass
class BundledCase:
    inputs: list[Any]
    expected_outputs: list[Any]


def read_bundle(data: bytes) -> tuple[bytes, dict[str, list[BundledCase]]]:
    """The program bytes and, per method, its cases (tensors as torch tensors)."""
    b = decode(BundledProgram, bytes(data), file_identifier=IDENTIFIER)
    suites = {s.method_name: [BundledCase([_tensor(v) for v in c.inputs or []],
                                          [_tensor(v) for v in c.expected_outputs or []])
                              for c in s.test_cases or []]
              for s in b.method_test_suites or []}
    return bytes(b.program or b""), suites


def max_error(actual: Any, expected: Any) -> float:
    """The largest |actual - expected| (0 for equal scalars)."""
    a = np.asarray(actual.double() if isinstance(actual, torch.Tensor) else actual, np.float64)
    e = np.asarray(expected.double() if isinstance(expected, torch.Tensor) else expected,
                   np.float64)
    return float(np.max(np.abs(a - e))) if a.size else 0.0
