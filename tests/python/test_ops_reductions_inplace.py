"""prod, var (unbiased flag), var_mean, mean of everything, and the two
in-place kernels of ExecuTorch's portable list (copy_, index_put_), against
PyTorch eager with random shapes from the printed seed."""
from __future__ import annotations

import random

import pytest
import torch

from op_testing import Fn, check_edited_program, check_module, compile_module, rename_operator
from ptec.pte import schema as pte
from ptec.runtime import runtime_operators


def shape3():
    return tuple(random.randint(2, 5) for _ in range(3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32, torch.bool])
def test_prod(seed, dtype):
    x = torch.randn(shape3()) if dtype.is_floating_point else torch.randint(-3, 4, shape3())
    x = x.to(dtype)
    d = random.randrange(3)
    check_module(Fn(lambda t: (torch.prod(t, d), torch.prod(t, -1, keepdim=True),
                               torch.prod(t))), (x,), rtol=1e-5,
                 expect_ops=["aten::prod.int_out", "aten::prod.out"])


def test_var_mean_and_mean_of_everything(seed):
    x = torch.randn(shape3())
    d = random.randrange(3)
    check_module(Fn(lambda t: (*torch.var_mean(t, d), *torch.var_mean(t, [0, 2], correction=0,
                                                                     keepdim=True))), (x,),
                 expect_ops=["aten::var_mean.correction_out"])
    # mean.out(self, dim=None, keepdim, dtype, out) -> mean.dtype_out(self, dtype, out)
    def edit(plan):
        rename_operator("aten::mean.out", "aten::mean.dtype_out")(plan)
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if plan.operators[call.op_index].qualified_name == "aten::mean.dtype_out":
                    call.args = [call.args[0], call.args[3], call.args[4], call.args[5]]

    check_edited_program(Fn(lambda t: torch.mean(t, [0, 1, 2])), (x,), edit, lambda t: t.mean())


@pytest.mark.parametrize("unbiased", [True, False])
def test_var_unbiased_flag(seed, unbiased):
    """var.out(self, dim, unbiased, keepdim, out): the compiler emits
    var.correction_out; its correction slot becomes the bool."""
    x = torch.randn(shape3())

    def edit(plan):
        rename_operator("aten::var.correction_out", "aten::var.out")(plan)
        plan.values.append(pte.EValue(pte.Bool(unbiased)))
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if plan.operators[call.op_index].qualified_name == "aten::var.out":
                    call.args[2] = len(plan.values) - 1

    check_edited_program(Fn(lambda t: torch.var(t, 1, correction=5)), (x,), edit,
                         lambda t: torch.var(t, 1, unbiased=unbiased))


def _in_place(old: str, new: str, keep: list[int]):
    """An edit: `old` (an out variant) becomes the in-place `new`, called with
    the argument slots `keep` and self as its return slot; the program's
    output becomes self (input 0), which the kernel writes."""
    def edit(plan):
        rename_operator(old, new)(plan)
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if plan.operators[call.op_index].qualified_name == new:
                    call.args = [call.args[k] for k in keep] + [call.args[0]]
                    plan.outputs = [call.args[0]]
    return edit


def test_copy_in_place(seed):
    x, y = torch.randn(3, 4), torch.randint(-5, 5, (4,), dtype=torch.int32)
    # copy.out(self, src, non_blocking, out) -> copy_(self, src, non_blocking) -> self
    check_edited_program(Fn(lambda a, b: a.clone().copy_(b)), (x, y),
                         _in_place("aten::copy.out", "aten::copy_", [0, 1, 2]),
                         lambda a, b: a.clone().copy_(b))


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_in_place(seed, accumulate):
    x, i, v = torch.randn(4, 3), torch.tensor([3, 1]), torch.randn(2, 3)
    check_edited_program(
        Fn(lambda a, b, c: torch.index_put(a, (b,), c, accumulate=accumulate)), (x, i, v),
        _in_place("aten::index_put.out", "aten::index_put_", [0, 1, 2, 3]),
        lambda a, b, c: torch.index_put(a, (b,), c, accumulate=accumulate))


def test_in_place_kernels_are_named():
    """The edits above make programs calling these exact names."""
    program = compile_module(Fn(lambda a, b: a.clone().copy_(b)), (torch.zeros(2), torch.ones(2)))
    plan = program.program.execution_plan[0]
    _in_place("aten::copy.out", "aten::copy_", [0, 1, 2])(plan)
    assert [op.qualified_name for op in plan.operators] == ["aten::copy_"]
    assert "aten::index_put_" in runtime_operators()


@pytest.mark.parametrize("affine", [False, True])
def test_group_norm(seed, affine):
    c, groups = random.choice([(4, 2), (6, 3), (6, 1)])
    x = torch.randn(2, c, random.randint(1, 4), random.randint(1, 4)) * 3 + 1
    norm = torch.nn.GroupNorm(groups, c, affine=affine)
    if affine:
        with torch.no_grad():
            norm.weight.copy_(torch.randn(c))
            norm.bias.copy_(torch.randn(c))
    check_module(norm, (x,), rtol=1e-4, atol=1e-5, expect_ops=["aten::native_group_norm.out"])


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, float("inf")])
def test_cdist_pdist(seed, p):
    a, b = torch.randn(2, random.randint(1, 4), 3), torch.randn(2, random.randint(1, 4), 3)
    c = torch.randn(random.randint(2, 5), 4)
    check_module(Fn(lambda x, y, z: (torch.cdist(x, y, p), torch.pdist(z, p))), (a, b, c),
                 rtol=1e-5, atol=1e-5,
                 expect_ops=["aten::_cdist_forward.out", "aten::_pdist_forward.out"])
