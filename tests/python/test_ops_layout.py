"""Copies and remappings of self (issue 17): slice/select scatter, flip,
stack, unbind, narrow, diagonal, unfold, pixel (un)shuffle, repeat, roll,
tril, reflection and replication padding; and elu, glu, logit. Against
PyTorch eager, random shapes and dtypes from the printed seed; several ops
share a program."""
from __future__ import annotations

import random

import pytest
import torch

from op_testing import Fn, check_edited_program, check_module, rename_operator

aten = torch.ops.aten


def sample(shape, dtype):
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape).bool()
    return torch.randint(0 if dtype == torch.uint8 else -50, 50, shape).to(dtype)


def shape_of(rank, low=2, high=5):
    return tuple(random.randint(low, high) for _ in range(rank))


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.bool])
def test_scatters_flip_repeat_roll_tril(seed, dtype):
    shape = shape_of(3)
    x = sample(shape, dtype)
    d = random.randrange(3)
    idx = random.randrange(shape[d])
    srcs = sample(tuple(s for k, s in enumerate(shape) if k != d), dtype)
    stop = random.randint(1, shape[1])
    slc = sample((shape[0], len(range(0, stop, 2)), shape[2]), dtype)

    def f(t, s, u):
        return (torch.select_scatter(t, s, d, idx), torch.slice_scatter(t, u, 1, 0, stop, 2),
                torch.flip(t, [0, 2]), t.repeat(2, 1, 1, 3), torch.roll(t, 1, 2),
                torch.roll(t, (-2, 1), (0, 1)), torch.roll(t, 5), torch.tril(t, -1),
                torch.tril(t, 1))

    check_module(Fn(f), (x, srcs, slc),
                 expect_ops=["aten::select_scatter.out", "aten::slice_scatter.out",
                             "aten::flip.out", "aten::repeat.out", "aten::roll.out",
                             "aten::tril.out"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_views_as_copies(seed, dtype):
    shape = shape_of(4)
    x = sample(shape, dtype)
    r = 2
    y = sample((shape[0], shape[1] * r * r, shape[2], shape[3]), dtype)
    z = sample((shape[0], shape[1], shape[2] * r, shape[3] * r), dtype)
    size = random.randint(1, shape[3])
    check_module(Fn(lambda t, a, b: (
        torch.diagonal(t, 1, 1, 3) + 0, torch.diagonal(t, -1, 0, 2) + 0, t.unfold(3, size, 1) + 0,
        torch.nn.functional.pixel_shuffle(a, r), torch.nn.functional.pixel_unshuffle(b, r))),
        (x, y, z), expect_ops=["aten::diagonal_copy.out", "aten::unfold_copy.out",
                               "aten::pixel_shuffle.out", "aten::pixel_unshuffle.out"])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_reflection_and_replication_pads(seed, nd):
    shape = shape_of(nd + 2, 3, 5)
    x = torch.randn(shape)
    pads = [random.randint(0, 2) for _ in range(2 * nd)]
    check_module(Fn(lambda t: (torch.nn.functional.pad(t, pads, mode="reflect"),
                               torch.nn.functional.pad(t, pads, mode="replicate"))), (x,),
                 expect_ops=[f"aten::reflection_pad{nd}d.out", f"aten::replication_pad{nd}d.out"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_stack(seed, dtype):
    x, y = sample(shape_of(3), dtype), None
    y = sample(x.shape, dtype)
    check_module(Fn(lambda a, b: (torch.stack([a, b], 1), torch.stack([a, b, a], -1))), (x, y),
                 expect_ops=["aten::stack.out"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_unbind(seed, dtype):
    x = sample(shape_of(3), dtype)
    d = random.randrange(3)
    check_module(Fn(lambda t: [u * 1 for u in torch.unbind(t, d)]), (x,),
                 expect_ops=["aten::unbind_copy.int_out"])


def test_narrow(seed):
    """narrow_copy: the compiler makes a slice_copy of narrow, so the kernel
    runs in an edited program."""
    # slice_copy.Tensor_out(self, dim, start, end, step, out) -> narrow_copy.out(self, dim,
    # start, length, out)
    def narrow_edit(plan):
        rename_operator("aten::slice_copy.Tensor_out", "aten::narrow_copy.out")(plan)
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if (hasattr(call, "op_index") and
                        plan.operators[call.op_index].qualified_name == "aten::narrow_copy.out"):
                    # (self, dim, start=0, end=2, step=1, out, ret): end read as length
                    call.args = [call.args[0], call.args[1], call.args[2], call.args[3],
                                 call.args[5], call.args[6]]

    y = torch.randn(3, 5)
    check_edited_program(Fn(lambda t: aten.slice_copy(t, 1, 0, 2)), (y,), narrow_edit,
                         lambda t: torch.narrow(t, 1, 0, 2).contiguous())


def test_elu_glu_logit(seed):
    x = torch.randn(shape_of(3, 2, 4)) * 3
    h = torch.randn(2, 6, 3)
    p = torch.rand(3, 4)
    check_module(Fn(lambda t, a, q: (torch.nn.functional.elu(t), torch.nn.functional.elu(t, 0.5),
                                     aten.elu(t, 1.5, 2.0, 0.5), torch.nn.functional.glu(a, 1),
                                     torch.nn.functional.glu(a, -1) if a.shape[-1] % 2 == 0
                                     else a, torch.logit(q), torch.logit(q, 0.2))),
                 (x, h, p), rtol=1e-5, atol=1e-5,
                 expect_ops=["aten::elu.out", "aten::glu.out", "aten::logit.out"])


@pytest.mark.parametrize("channels_last", [False, True])
def test_upsample(seed, channels_last):
    x = torch.randn(2, 3, random.randint(2, 5), random.randint(2, 5))
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    i = torch.randint(0, 255, (1, 2, 3, 4), dtype=torch.uint8)
    F = torch.nn.functional
    check_module(Fn(lambda t, k: (
        F.interpolate(t, scale_factor=2), F.interpolate(t, size=(7, 5)),
        F.interpolate(t, scale_factor=(1.5, 3)), F.interpolate(k, scale_factor=2),
        F.interpolate(t, scale_factor=2, mode="bilinear"),
        F.interpolate(t, size=(5, 9), mode="bilinear", align_corners=True),
        F.interpolate(t, scale_factor=0.5, mode="bilinear"))), (x, i),
        expect_ops=["aten::upsample_nearest2d.vec_out", "aten::upsample_bilinear2d.vec_out"])
