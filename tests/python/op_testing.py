"""Shared helpers for the kernel tests (tests/python/test_ops_*.py).

Every op test goes through the real pipeline: ptec.compile (torch.export ->
.pte), ptec.load (the C runtime via ctypes), then compares each output with
the module run in PyTorch eager: same shape, same dtype, values within
tolerance.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import pytest
import torch

import ptec
from ptec.runtime import PtecError

#: Base absolute tolerance for float32 results of a few operations.
ATOL = 1e-5


def tolerance(terms: int = 1, atol: float = ATOL) -> float:
    """atol for a result that sums `terms` float32 products: the rounding
    error of a sum grows like sqrt(terms) when the order differs."""
    return atol * math.sqrt(max(terms, 1))


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _flatten(item)]
    return [value]


def compile_module(module: torch.nn.Module, inputs: Sequence[Any]) -> ptec.CompiledProgram:
    return ptec.compile(module.eval(), tuple(inputs))


def operators(program: ptec.CompiledProgram) -> list[str]:
    """Operator names the program calls, in instruction order."""
    return [info.operator for info in program.instructions]


def check_module(module: torch.nn.Module, inputs: Sequence[Any], *, rtol: float = 1e-5,
                 atol: float = ATOL, terms: int = 1, expect_ops: Sequence[str] = (),
                 equal_nan: bool = False) -> ptec.CompiledProgram:
    """Compiles and runs `module` in ptec and compares with PyTorch eager.

    `terms` scales atol for reductions (see tolerance); each name in
    `expect_ops` must be called by the program, so a test cannot pass by
    exercising some other kernel than the one it is about.
    """
    module = module.eval()
    inputs = tuple(inputs)
    with torch.no_grad():
        expected = _flatten(module(*inputs))
    program = compile_module(module, inputs)
    called = operators(program)
    for name in expect_ops:
        assert name in called, f"{name} not in the program's operators {called}"
    runner = ptec.load(program.buffer)
    actual = runner(*inputs)
    assert len(actual) == len(expected), f"{len(actual)} outputs, expected {len(expected)}"
    for k, (got, want) in enumerate(zip(actual, expected)):
        want = torch.as_tensor(want)
        assert got.shape == want.shape, (
            f"output {k}: shape {tuple(got.shape)} != {tuple(want.shape)}")
        assert got.dtype == want.dtype, f"output {k}: dtype {got.dtype} != {want.dtype}"
        if want.dtype.is_floating_point:
            torch.testing.assert_close(got, want, rtol=rtol, atol=tolerance(terms, atol),
                                       equal_nan=equal_nan, msg=lambda m: f"output {k}: {m}")
        else:
            assert torch.equal(got, want), f"output {k}: {got} != {want}"
    return program


def expect_failure(module: torch.nn.Module, inputs: Sequence[Any], status: str,
                   run_inputs: Sequence[Any] | None = None, match: str = "") -> PtecError:
    """Compiles `module` with `inputs`, runs it on `run_inputs` (default the
    same) and expects the runtime to fail with `status` (e.g.
    "PTEC_STATUS_OUT_OF_RANGE") and a message containing `match`."""
    program = compile_module(module, inputs)
    runner = ptec.load(program.buffer)
    with pytest.raises(PtecError) as info:
        runner(*(run_inputs if run_inputs is not None else inputs))
    assert info.value.status == status, str(info.value)
    assert match in info.value.message, str(info.value)
    return info.value


def kernel_calls(plan) -> list[tuple[str, Any]]:
    """(operator name, KernelCall) of each kernel call of an execution plan."""
    calls = []
    for chain in plan.chains or []:
        for instr in chain.instructions or []:
            call = instr.instr_args
            if hasattr(call, "op_index"):
                calls.append((plan.operators[call.op_index].qualified_name, call))
    return calls


def rename_operator(old: str, new: str):
    """An edit for check_edited_program: calls to `old` call `new` instead."""
    def edit(plan) -> None:
        renamed = 0
        for op in plan.operators:
            if op.qualified_name == old:
                op.name, _, op.overload = new.partition(".")
                renamed += 1
        assert renamed, f"{old} not among {[o.qualified_name for o in plan.operators]}"
    return edit


def check_edited_program(module: torch.nn.Module, inputs: Sequence[Any], edit, reference, *,
                         rtol: float = 1e-5, atol: float = ATOL) -> None:
    """Tests a kernel that core-ATen decomposition never emits (silu,
    hardswish, linear, ...): compiles `module`, applies `edit` to its
    execution plan (rename an operator, rewire a call's arguments), runs the
    edited program and compares with `reference(*inputs)`."""
    program = compile_module(module, inputs)
    for plan in program.program.execution_plan:
        edit(plan)
    program.__dict__.pop("buffer", None)  # serialise again, edited
    got = ptec.load(program.buffer)(*inputs)
    with torch.no_grad():
        want = _flatten(reference(*inputs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=rtol, atol=atol)


def expect_edited_failure(module: torch.nn.Module, inputs: Sequence[Any], edit, status: str,
                          match: str = "") -> PtecError:
    """Like check_edited_program, but the edited program must fail at run
    time with `status` and a message containing `match`: how the tests reach
    a kernel's refusals (wrong out shape or dtype, unsupported arguments),
    which the compiler never emits."""
    program = compile_module(module, inputs)
    for plan in program.program.execution_plan:
        edit(plan)
    program.__dict__.pop("buffer", None)
    runner = ptec.load(program.buffer)
    with pytest.raises(PtecError) as info:
        runner(*inputs)
    assert info.value.status == status, str(info.value)
    assert match in info.value.message, str(info.value)
    return info.value


def randn(*shape: int, dtype: torch.dtype = torch.float32,
          channels_last: bool = False) -> torch.Tensor:
    x = torch.randn(shape, dtype=dtype)
    return x.to(memory_format=torch.channels_last) if channels_last else x


def randint(low: int, high: int, *shape: int, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    return torch.randint(low, high, tuple(shape), dtype=dtype)


class Fn(torch.nn.Module):
    """Wraps a function of the inputs as a module (for one-op tests)."""

    def __init__(self, fn, *params: torch.Tensor):
        super().__init__()
        self.fn = fn
        # Tensors the function closes over become constants of the program.
        for k, p in enumerate(params):
            self.register_buffer(f"p{k}", p)

    def forward(self, *inputs):
        params = [getattr(self, f"p{k}") for k in range(len(self._buffers))]
        return self.fn(*inputs, *params)
