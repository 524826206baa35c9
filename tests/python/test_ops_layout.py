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


def _recall(old: str, new: str, keep: list[int], out_sizes: dict[int, list[int]]):
    """An edit: calls to `old` call `new` with the argument slots `keep`, and
    the tensors at the given slots get new sizes (same element count, dense
    dim order): how kernels the compiler never emits (the decomposition makes
    other ops) run in a compiled program."""
    def edit(plan):
        rename_operator(old, new)(plan)
        for chain in plan.chains:
            for ins in chain.instructions:
                call = ins.instr_args
                if plan.operators[call.op_index].qualified_name != new:
                    continue
                for slot, sizes in out_sizes.items():
                    value = plan.values[call.args[slot]].val
                    targets = ([plan.values[i].val for i in value.items]
                               if hasattr(value, "items") else [value])
                    for t in targets:
                        t.sizes, t.dim_order = list(sizes), list(range(len(sizes)))
                call.args = [call.args[k] for k in keep]
    return edit


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
    size = random.randint(1, shape[3])
    check_module(Fn(lambda t: (torch.diagonal(t, 1, 1, 3) + 0, torch.diagonal(t, -1, 0, 2) + 0,
                               t.unfold(3, size, 1) + 0)), (x,),
                 expect_ops=["aten::diagonal_copy.out", "aten::unfold_copy.out"])


@pytest.mark.parametrize("unshuffle", [False, True])
def test_pixel_shuffle(seed, unshuffle):
    """pixel_(un)shuffle.out(self, factor, out): cumsum.out(self, dim=r, dtype, out)
    rewired, its out resized (decomposition makes reshapes and a transpose)."""
    n, c, h, w, r = 2, random.randint(1, 3), random.randint(1, 3), random.randint(1, 3), 2
    if unshuffle:
        x, out = torch.randn(n, c, h * r, w * r), [n, c * r * r, h, w]
        ref = lambda t: torch.nn.functional.pixel_unshuffle(t, r)  # noqa: E731
        name = "aten::pixel_unshuffle.out"
    else:
        x, out = torch.randn(n, c * r * r, h, w), [n, c, h * r, w * r]
        ref = lambda t: torch.nn.functional.pixel_shuffle(t, r)  # noqa: E731
        name = "aten::pixel_shuffle.out"
    check_edited_program(Fn(lambda t: torch.cumsum(t, 2)), (x,),
                         _recall("aten::cumsum.out", name, [0, 1, 3, 4], {3: out}), ref)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_reflection_and_replication_pads(seed, nd):
    shape = shape_of(nd + 2, 3, 5)
    x = torch.randn(shape)
    pads = [random.randint(0, 2) for _ in range(2 * nd)]
    check_module(Fn(lambda t: (torch.nn.functional.pad(t, pads, mode="reflect"),
                               torch.nn.functional.pad(t, pads, mode="replicate"))), (x,),
                 expect_ops=[f"aten::reflection_pad{nd}d.out", f"aten::replication_pad{nd}d.out"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
def test_stack_and_unbind(seed, dtype):
    """stack.out and unbind_copy.int_out: the compiler makes cat and slices of
    them, so cat.out / split_copy.Tensor_out calls are rewired with their outs
    reshaped."""
    x = sample(shape_of(3), dtype)
    y = sample(x.shape, dtype)
    d = random.randrange(3)
    stacked = list(x.shape[:d]) + [2] + list(x.shape[d:])
    check_edited_program(Fn(lambda a, b: torch.cat([a, b], d)), (x, y),
                         _recall("aten::cat.out", "aten::stack.out", [0, 1, 2, 3],
                                 {2: stacked}),
                         lambda a, b: torch.stack([a, b], d))
    # split_copy.Tensor_out(self, split_size=1, dim, *, out[]) ->
    # unbind_copy.int_out(self, dim, out[]), each out without the dim
    rest = [s for k, s in enumerate(x.shape) if k != d]
    check_edited_program(Fn(lambda t: aten.split_copy(t, 1, d)), (x,),
                         _recall("aten::split_copy.Tensor_out", "aten::unbind_copy.int_out",
                                 [0, 2, 3, 4], {3: rest}),
                         lambda t: list(torch.unbind(t, d)))


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
    """elu through the compiler; glu and logit (decomposed by core ATen into
    ops the int8 and NPU paths lower) through rewired calls."""
    x = torch.randn(shape_of(3, 2, 4)) * 3
    check_module(Fn(lambda t: (torch.nn.functional.elu(t), torch.nn.functional.elu(t, 0.5),
                               aten.elu(t, 1.5, 2.0, 0.5))), (x,), rtol=1e-5, atol=1e-5,
                 expect_ops=["aten::elu.out"])
    h = torch.randn(2, 6, 3)
    # cumsum.out(self, dim, dtype, out) -> glu.out(self, dim, out), out halved along dim
    check_edited_program(Fn(lambda t: torch.cumsum(t, 1)), (h,),
                         _recall("aten::cumsum.out", "aten::glu.out", [0, 1, 3, 4],
                                 {3: [2, 3, 3]}),
                         lambda t: torch.nn.functional.glu(t, 1))
    p = torch.rand(3, 4)
    # leaky_relu.out(self, negative_slope=0.2, out) -> logit.out(self, eps=0.2, out)
    check_edited_program(Fn(lambda t: torch.nn.functional.leaky_relu(t, 0.2)), (p,),
                         _recall("aten::leaky_relu.out", "aten::logit.out", [0, 1, 2, 3], {}),
                         lambda t: torch.logit(t, 0.2))


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


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample(seed, mode):
    x = torch.randn(2, 3, random.randint(2, 5), random.randint(2, 5))
    grid = torch.rand(2, 4, 3, 2) * 2.4 - 1.2  # some points outside [-1, 1]
    F = torch.nn.functional
    check_module(Fn(lambda t, g: tuple(
        F.grid_sample(t, g, mode=mode, padding_mode=pad, align_corners=align)
        for pad in ("zeros", "border", "reflection") for align in (False, True))), (x, grid),
        rtol=1e-4, atol=1e-5, expect_ops=["aten::grid_sampler_2d.out"])
