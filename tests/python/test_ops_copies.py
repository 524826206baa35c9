"""Copy kernels of ExecuTorch's portable list that ptec's own compiler rarely
emits (core ATen turns t/transpose into permute and drops alias, detach and
lift_fresh): each is run through a program edited to call it, against
PyTorch; the ones the compiler does emit go through it.
"""
from __future__ import annotations

import torch

from op_testing import Fn, check_edited_program, check_module, rename_operator
from ptec.pte import schema as pte

aten = torch.ops.aten


def test_identity_copies(seed):
    x = torch.randn(3, 4)
    for op in ("aten::alias_copy.out", "aten::detach_copy.out", "aten::lift_fresh_copy.out"):
        check_edited_program(Fn(torch.abs), (x,), rename_operator("aten::abs.out", op),
                             lambda t: t.clone())


def test_t_copy(seed):
    x = torch.randn(4, 4)
    check_edited_program(Fn(torch.abs), (x,), rename_operator("aten::abs.out", "aten::t_copy.out"),
                         lambda t: t.t().contiguous())


def test_transpose_copy(seed):
    """cumsum.out(self, dim, dtype=None, out) rewired as
    transpose_copy.int_out(self, dim0=1, dim1=0, out)."""
    x = torch.randn(2, 5, 5)

    def edit(plan):
        rename_operator("aten::cumsum.out", "aten::transpose_copy.int_out")(plan)
        plan.values.append(pte.EValue(pte.Int(2)))
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if hasattr(call, "op_index"):
                    call.args[2] = len(plan.values) - 1  # dtype=None -> dim1=2

    check_edited_program(Fn(lambda t: torch.cumsum(t, 1)), (x,), edit,
                         lambda t: t.transpose(1, 2).contiguous())


def test_compiled_copies(seed):
    x = torch.randn(3, 4)
    check_module(Fn(lambda t: aten.as_strided_copy(t, [2, 2], [1, 2]) + 1), (x,),
                 expect_ops=["aten::as_strided_copy.out"])
    check_module(Fn(lambda t: [u + 1 for u in aten.split_copy(t, 3, 1)]), (x,),
                 expect_ops=["aten::split_copy.Tensor_out"])
    check_module(Fn(lambda t: t.to(torch.int32)), (x * 10,), expect_ops=["aten::_to_copy.out"])
    check_module(Fn(lambda t: torch.zeros(3, 4).copy_(t)), (x,), expect_ops=["aten::copy.out"])
