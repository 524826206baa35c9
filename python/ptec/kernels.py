"""The runtime's operator list, and the check of a program against it.

The C runtime links exactly the kernels listed in runtime/src/kernels/ops.def
(`PTEC_OP("aten::add.out", fn, "TTsT")`). A program that calls anything else
would fail at method init on the device; the compiler finds that out first,
names each operator and says why: no kernel at all, or a kernel whose
argument signature does not match what the program passes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .pte import schema as pte

#: ops.def as it sits in the source tree, next to the Python package.
OPS_DEF = Path(__file__).resolve().parent.parent.parent / "runtime" / "src" / "kernels" / "ops.def"

#: `PTEC_OP(name, fn, signature)` or `PTEC_OP_PREPARED(name, fn, prepare, signature)`.
_OP_LINE = re.compile(
    r'^\s*PTEC_OP(?:_PREPARED)?\(\s*"([^"]+)"\s*,\s*(\w+)\s*,(?:\s*\w+\s*,)?\s*"([^"]*)"\s*\)', re.M)
#: Op lists include others relative to runtime/src (`#include "kernels/quantized/x.def"`).
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+\.def)"', re.M)

#: Which value types each signature character accepts (see runtime kernel.h).
SIGNATURE_TYPES: dict[str, tuple[type, ...]] = {
    "T": (pte.Tensor,), "t": (pte.Tensor, pte.Null),
    "i": (pte.Int,), "I": (pte.Int, pte.Null),
    "d": (pte.Double, pte.Int), "D": (pte.Double, pte.Int, pte.Null),
    "s": (pte.Int, pte.Double, pte.Bool), "S": (pte.Int, pte.Double, pte.Bool, pte.Null),
    "b": (pte.Bool,),
    "L": (pte.IntList,), "l": (pte.IntList, pte.Null),
    "F": (pte.DoubleList,), "f": (pte.DoubleList, pte.Null), "B": (pte.BoolList,),
    "X": (pte.TensorList,), "Y": (pte.OptionalTensorList,),
    "z": (pte.String,), "Z": (pte.String, pte.Null),
    # Written arguments: out tensors, out tensor lists, a view's output.
    "O": (pte.Tensor,), "W": (pte.TensorList,), "V": (pte.Tensor,),
}


@dataclass(frozen=True)
class KernelEntry:
    name: str
    function: str
    signature: str


@dataclass(frozen=True)
class KernelProblem:
    operator: str
    reason: str


def read_ops_def(path: Path) -> dict[str, KernelEntry]:
    """The runtime's kernels by operator name ("aten::add.out"), following
    the lists ops.def includes."""
    text = path.read_text()
    entries = {m.group(1): KernelEntry(m.group(1), m.group(2), m.group(3))
               for m in _OP_LINE.finditer(text)}
    src = path.parent.parent  # runtime/src: includes are relative to it
    for include in _INCLUDE.findall(text):
        entries.update(read_ops_def(src / include))
    return entries


def call_signature(plan: pte.ExecutionPlan, args: list[int]) -> str:
    """The value types of a call's arguments, for messages."""
    return ", ".join(type(plan.values[i].val).__name__ for i in args)


def check_kernels(program: pte.Program, kernels: dict[str, KernelEntry]) -> list[KernelProblem]:
    """Every operator the program calls that the runtime cannot run, with the reason."""
    problems: dict[str, KernelProblem] = {}
    for plan in program.execution_plan or []:
        for chain in plan.chains or []:
            for index, instr in enumerate(chain.instructions or []):
                call = instr.instr_args
                if not isinstance(call, pte.KernelCall):
                    continue
                name = plan.operators[call.op_index].qualified_name
                if name in problems:
                    continue
                entry = kernels.get(name)
                if entry is None:
                    problems[name] = KernelProblem(name, "no kernel in the runtime's ops.def")
                    continue
                mismatch = _signature_mismatch(entry.signature, plan, call.args or [])
                if mismatch:
                    problems[name] = KernelProblem(
                        name, f"instruction {index}: {mismatch} (kernel signature "
                              f"{entry.signature!r}, call passes {call_signature(plan, call.args)})")
    return list(problems.values())


def _signature_mismatch(signature: str, plan: pte.ExecutionPlan, args: list[int]) -> str | None:
    if len(signature) != len(args):
        return f"{len(args)} argument slots, the kernel takes {len(signature)}"
    for slot, (char, arg) in enumerate(zip(signature, args)):
        accepted = SIGNATURE_TYPES.get(char)
        if accepted is None:
            return f"unknown signature character {char!r}"
        if not isinstance(plan.values[arg].val, accepted):
            return (f"slot {slot} is {type(plan.values[arg].val).__name__}, "
                    f"the kernel expects {char!r}")
    return None
