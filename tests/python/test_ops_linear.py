"""mm, bmm, addmm and linear (nn.Linear decomposes to permute + addmm or mm)."""
import pytest
import torch
from torch import nn

from op_testing import (Fn, check_edited_program, check_module, kernel_calls, randn,
                        rename_operator)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 4), (8, 64, 70), (2, 130, 3)], ids=str)
def test_mm(seed, m, k, n):
    check_module(Fn(torch.mm), (randn(m, k), randn(k, n)), terms=k, expect_ops=["aten::mm.out"])


def test_mm_transposed_operands(seed):
    """Operands whose layouts differ from row-major, via transposes in-graph."""
    check_module(Fn(lambda a, b: torch.mm(a.t(), b.t())), (randn(6, 4), randn(5, 6)), terms=6)


@pytest.mark.parametrize("b,m,k,n", [(1, 2, 3, 4), (4, 7, 16, 9), (3, 1, 65, 2)], ids=str)
def test_bmm(seed, b, m, k, n):
    check_module(Fn(torch.bmm), (randn(b, m, k), randn(b, k, n)), terms=k,
                 expect_ops=["aten::bmm.out"])


@pytest.mark.parametrize("bias_shape", [(5,), (1, 5), (3, 5), (3, 1), ()], ids=str)
@pytest.mark.parametrize("alpha,beta", [(1, 1), (0.5, 2.0), (1.0, 0.0)], ids=str)
def test_addmm(seed, bias_shape, alpha, beta):
    fn = Fn(lambda s, a, b: torch.addmm(s, a, b, beta=beta, alpha=alpha))
    check_module(fn, (randn(*bias_shape), randn(3, 7), randn(7, 5)), terms=7,
                 expect_ops=["aten::addmm.out"])


@pytest.mark.parametrize("shape", [(4, 16), (2, 3, 16), (16,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_nn_linear(seed, shape, bias):
    check_module(nn.Linear(16, 10, bias=bias), (randn(*shape),), terms=16)


def addmm_to_linear(plan) -> None:
    """Rewires `addmm(bias, x, permute_copy(w))` into `linear(x, w, bias)`."""
    calls = dict(kernel_calls(plan))
    permute, addmm = calls["aten::permute_copy.out"], calls["aten::addmm.out"]
    bias, x, _, _, _, out, ret = addmm.args
    addmm.args = [x, permute.args[0], bias, out, ret]
    rename_operator("aten::addmm.out", "aten::linear.out")(plan)


@pytest.mark.parametrize("m,k,n", [(5, 8, 6), (1, 33, 2)], ids=str)
def test_linear_kernel(seed, m, k, n):
    """linear.out is not emitted after core-ATen decomposition; run it from
    an edited addmm call."""
    # The second output keeps w alive until after the (rewired) call, so
    # memory planning does not reuse its buffer for the result.
    fn = Fn(lambda x, w, b: (torch.addmm(b, x, w.t()), w * 2))
    x, w, b = randn(m, k), randn(n, k), randn(n)
    check_edited_program(fn, (x, w, b), addmm_to_linear,
                         lambda x, w, b: (torch.nn.functional.linear(x, w, b), w * 2),
                         atol=1e-5 * k ** 0.5)
