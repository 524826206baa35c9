"""Indexing, scatter, max/min with indices, clamp with tensor bounds and
fills (issue 17) against PyTorch eager: random shapes, dtypes and indices
from the printed seed."""
from __future__ import annotations

import random

import pytest
import torch

import ptec
from op_testing import Fn, check_edited_program, check_module, compile_module, rename_operator
from ptec.pte import schema as pte

DTYPES = [torch.float32, torch.int32, torch.int64, torch.uint8]


def sample(shape, dtype):
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape).bool()
    low = 0 if dtype == torch.uint8 else -50
    return torch.randint(low, 50, shape).to(dtype)


def shape3():
    return tuple(random.randint(2, 5) for _ in range(3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_clamp_tensor(seed, dtype):
    shape = shape3()
    x, lo, hi = sample(shape, dtype), sample(shape[-1:], dtype), sample((shape[1], 1), dtype)
    check_module(Fn(lambda t, a, b: (torch.clamp(t, a, b), torch.clamp(t, min=a),
                                     torch.clamp(t, max=b))), (x, lo, hi),
                 expect_ops=["aten::clamp.Tensor_out"])


def test_clamp_tensor_promotes(seed):
    x, lo = sample((3, 4), torch.int32), torch.randn(4)
    check_module(Fn(lambda t, a: torch.clamp(t, a, None)), (x, lo),
                 expect_ops=["aten::clamp.Tensor_out"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_tensor(seed, dtype):
    shape = shape3()
    x = sample(shape, dtype)
    i = torch.randint(-shape[0], shape[0], (random.randint(1, 4),))
    j = torch.randint(0, shape[2], (2, 1))
    k = torch.randint(0, shape[1], (3,)).to(torch.int32)
    check_module(Fn(lambda t, a, b, c: (t[a], t[:, c], t[a[:1], :, b], t[:, c, b])),
                 (x, i, j, k), expect_ops=["aten::index.Tensor_out"])


def test_index_out_of_range_is_refused():
    from op_testing import expect_failure

    x = torch.randn(3, 4)
    expect_failure(Fn(lambda t, a: t[a]), (x, torch.tensor([0, 2])), "PTEC_STATUS_OUT_OF_RANGE",
                   run_inputs=(x, torch.tensor([0, 3])), match="out of range")


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(seed, dtype, accumulate):
    shape = shape3()
    x = sample(shape, dtype)
    n = random.randint(1, 4)
    # Repeated indices only with accumulate (otherwise the winner is unspecified).
    i = (torch.randint(0, shape[0], (n,)) if accumulate
         else torch.randperm(shape[0])[:min(n, shape[0])])
    v = sample((i.numel(), 1, shape[2]), dtype)

    def put(t, a, b):
        return torch.index_put(t, (a,), b, accumulate=accumulate)

    check_module(Fn(put), (x, i, v), expect_ops=["aten::index_put.out"])


def test_index_put_on_a_later_dim(seed):
    x, i = torch.randn(2, 5, 3), torch.tensor([4, 0])

    def assign(t, a):
        y = t.clone()
        y[:, a] = 7.0
        return y

    check_module(Fn(assign), (x, i), expect_ops=["aten::index_put.out"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_min_dim_argmin(seed, dtype):
    shape = shape3()
    x = sample(shape, dtype)
    if dtype.is_floating_point:
        x.view(-1)[random.randrange(x.numel())] = float("nan")
    dim = random.randrange(3)

    def f(t):
        mx, mn = torch.max(t, dim), torch.min(t, -1, keepdim=True)
        return (mx.values, mx.indices, mn.values, mn.indices, torch.argmin(t, dim),
                torch.argmin(t), torch.max(t), torch.min(t))

    # Ties: integers repeat; PyTorch and ptec both keep the first position.
    check_module(Fn(f), (x,), equal_nan=True,
                 expect_ops=["aten::max.dim_max", "aten::min.dim_min", "aten::argmin.out",
                             "aten::max.unary_out", "aten::min.unary_out"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_scatter(seed, dtype):
    shape = shape3()
    x = sample(shape, dtype)
    dim = random.randrange(3)
    ishape = tuple(random.randint(1, s) for s in shape)
    index = torch.randint(0, shape[dim], ishape)
    src = sample(shape, dtype)
    # scatter with repeated targets has no defined winner: distinct targets
    # along dim for the src/value cases.
    perm = torch.stack([torch.randperm(shape[dim])[:ishape[dim]] for _ in range(
        index.numel() // ishape[dim])]).reshape(
        *[ishape[d] for d in range(3) if d != dim], ishape[dim]).movedim(-1, dim).contiguous()
    check_module(Fn(lambda t, i, p, s: (torch.scatter(t, dim, p, s), torch.scatter(t, dim, p, 3),
                                        torch.scatter_add(t, dim, i, s))), (x, index, perm, src),
                 expect_ops=["aten::scatter.src_out", "aten::scatter.value_out",
                             "aten::scatter_add.out"])


def _rewire(old: str, new: str, keep: list[int], extra=None):
    """An edit: calls to `old` call `new` with the argument slots `keep` (an
    int is a slot of the old call; a pte value is appended and used)."""
    def edit(plan):
        rename_operator(old, new)(plan)
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if hasattr(call, "op_index") and plan.operators[call.op_index].qualified_name == new:
                    args = []
                    for k in keep:
                        if isinstance(k, int):
                            args.append(call.args[k])
                        else:
                            plan.values.append(pte.EValue(k))
                            args.append(len(plan.values) - 1)
                    call.args = args
    return edit


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool])
def test_zeros_ones_fill(seed, dtype):
    shape = shape3()
    x = sample(shape, dtype)
    full = Fn(lambda t: torch.full(shape, 5, dtype=dtype))
    # full.out(size, fill_value, *, out) -> zeros.out(size, *, out) / ones.out
    check_edited_program(full, (x,), _rewire("aten::full.out", "aten::zeros.out", [0, 2, 3]),
                         lambda t: torch.zeros(shape, dtype=dtype))
    check_edited_program(full, (x,), _rewire("aten::full.out", "aten::ones.out", [0, 2, 3]),
                         lambda t: torch.ones(shape, dtype=dtype))
    # full_like.out(self, fill, memory_format, *, out) -> fill.Scalar_out(self, value, *, out)
    check_edited_program(Fn(lambda t: torch.full_like(t, 3)), (x,),
                         _rewire("aten::full_like.out", "aten::fill.Scalar_out", [0, 1, 3, 4]),
                         lambda t: torch.full_like(t, 3))
    # add.out(self, other, alpha, *, out) -> fill.Tensor_out(self, value, *, out)
    v = sample((), dtype)
    check_edited_program(Fn(lambda t, u: torch.add(t, u) if dtype != torch.bool else t | u),
                         (x, v),
                         _rewire("aten::add.out" if dtype != torch.bool
                                 else "aten::bitwise_or.Tensor_out", "aten::fill.Tensor_out",
                                 [0, 1, 3, 4] if dtype != torch.bool else [0, 1, 2, 3]),
                         lambda t, u: torch.full_like(t, u.item()))


def test_empty_has_its_shape_and_dtype(seed):
    """empty's contents are undefined (in PyTorch too): shape and dtype only."""
    module = Fn(lambda t: torch.full((2, 3), 1, dtype=torch.int32))
    program = compile_module(module, (torch.zeros(1),))
    for plan in program.program.execution_plan:
        _rewire("aten::full.out", "aten::empty.out", [0, pte.Null(), 2, 3])(plan)
    program.__dict__.pop("buffer", None)
    (got,) = ptec.load(program.buffer)(torch.zeros(1))
    assert got.shape == (2, 3) and got.dtype == torch.int32


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_topk(seed, dtype):
    shape = shape3()
    d = random.randrange(3)
    # Distinct values: PyTorch's order among ties is not specified.
    x = torch.randperm(torch.Size(shape).numel()).reshape(shape).to(dtype)
    if dtype.is_floating_point:
        x = x / 7 - 3
    k = random.randint(1, shape[d])

    def f(t):
        a, b = torch.topk(t, k, d), torch.topk(t, 1, -1, largest=False)
        return a.values, a.indices, b.values, b.indices

    check_module(Fn(f), (x,), expect_ops=["aten::topk.values"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_masked_scatter_and_repeat_interleave(seed, dtype):
    shape = shape3()
    x = sample(shape, dtype)
    mask = torch.rand(shape[-1:]) > 0.5  # broadcast over the leading dims
    source = sample((x.numel(),), dtype)
    reps = torch.randint(0, 4, (random.randint(1, 5),))
    total = int(reps.sum())
    check_module(Fn(lambda t, m, s, r: (t.masked_scatter(m, s),
                                        torch.repeat_interleave(r, output_size=total))),
                 (x, mask, source, reps),
                 expect_ops=["aten::masked_scatter.out", "aten::repeat_interleave.Tensor_out"])


def test_empty_dim_order_has_its_shape_and_dtype(seed):
    """ExecuTorch's empty (dim_order_ops): full.out(size, fill, out) rewired
    as _empty_dim_order.out(size, dim_order=None, out); shape and dtype."""
    module = Fn(lambda t: torch.full((3, 2), 1.5))
    program = compile_module(module, (torch.zeros(1),))
    for plan in program.program.execution_plan:
        _rewire("aten::full.out", "dim_order_ops::_empty_dim_order.out",
                [0, pte.Null(), 2, 3])(plan)
    program.__dict__.pop("buffer", None)
    (got,) = ptec.load(program.buffer)(torch.zeros(1))
    assert got.shape == (3, 2) and got.dtype == torch.float32
