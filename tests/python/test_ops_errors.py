"""Kernels refuse what they cannot do, with a status and a clear message,
instead of crashing or writing out of bounds. Run-time data errors
(indices, division by zero) come from ordinary programs; argument and
shape errors, which ptec's compiler never emits, from edited programs."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from op_testing import (Fn, check_edited_program, expect_edited_failure, expect_failure,
                        kernel_calls, randint, randn, rename_operator)


def value_of(plan, index):
    return plan.values[index].val


def set_out_sizes(op: str, sizes, slot: int = -1):
    """An edit: the tensor in `op`'s out slot (default the last) gets `sizes`."""
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))[op]
        value_of(plan, call.args[slot]).sizes = list(sizes)
    return edit


def test_embedding_index_out_of_range(seed):
    emb = nn.Embedding(10, 4)
    ok = torch.tensor([[1, 2], [3, 9]])
    for bad in (torch.tensor([[1, 2], [3, 10]]), torch.tensor([[-1, 2], [3, 4]])):
        expect_failure(emb, (ok,), "PTEC_STATUS_OUT_OF_RANGE", run_inputs=(bad,),
                       match="out of range")
    ok32 = ok.to(torch.int32)
    expect_failure(emb, (ok32,), "PTEC_STATUS_OUT_OF_RANGE",
                   run_inputs=(torch.tensor([[1, 2], [3, 99]], dtype=torch.int32),))


def test_index_select_and_gather_out_of_range(seed):
    x = randn(4, 5)
    fn = Fn(lambda t, i: torch.index_select(t * 1, 1, i))
    expect_failure(fn, (x, torch.tensor([0, 4])), "PTEC_STATUS_OUT_OF_RANGE",
                   run_inputs=(x, torch.tensor([0, 5])), match="out of range")
    fn = Fn(lambda t, i: torch.gather(t * 1, 0, i))
    expect_failure(fn, (x, torch.zeros(2, 5, dtype=torch.int64)), "PTEC_STATUS_OUT_OF_RANGE",
                   run_inputs=(x, torch.full((2, 5), 4)), match="out of range")


def test_integer_division_by_zero(seed):
    a, b = randint(1, 9, 4, dtype=torch.int32), randint(1, 9, 4, dtype=torch.int32)
    fn = Fn(lambda x, y: torch.div(x, y, rounding_mode="trunc"))
    expect_failure(fn, (a, b), "PTEC_STATUS_OUT_OF_RANGE", run_inputs=(a, b * 0),
                   match="division by zero")


@pytest.mark.parametrize("op,fn,inputs,sizes", [
    ("aten::add.out", lambda x, y: x + y, ((3, 4), (4,)), [3, 3]),
    ("aten::add.out", lambda x, y: x + y, ((3, 1), (4,)), [3, 1]),
    ("aten::mm.out", torch.mm, ((3, 4), (4, 5)), [3, 4]),
    ("aten::bmm.out", torch.bmm, ((2, 3, 4), (2, 4, 5)), [2, 3, 4]),
    ("aten::relu.out", lambda x, y: torch.relu(x + y), ((3, 4), (4,)), [4, 3]),
    ("aten::cat.out", lambda x, y: torch.cat([x * 1, y * 1]), ((3, 4), (2, 4)), [4, 4]),
    ("aten::_softmax.out", lambda x, y: torch.softmax(x * y, -1), ((3, 4), (4,)), [3, 3]),
    ("aten::mean.out", lambda x, y: torch.mean(x * y, [1]), ((3, 4), (4,)), [2]),
    ("aten::permute_copy.out", lambda x, y: (x * y).t().contiguous(), ((3, 4), (4,)), [3, 4]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_wrong_out_shape(seed, op, fn, inputs, sizes):
    """An out of the wrong shape (even one with fewer elements) is refused."""
    tensors = tuple(randn(*s) for s in inputs)
    expect_edited_failure(Fn(fn), tensors, set_out_sizes(op, sizes),
                          "PTEC_STATUS_SHAPE_MISMATCH", match="out")


def test_wrong_out_dtype(seed):
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))["aten::convolution.out"]
        value_of(plan, call.args[-1]).scalar_type = 3  # int32, same element size
    conv = nn.Conv2d(2, 3, 3)
    expect_edited_failure(conv, (randn(1, 2, 5, 5),), edit, "PTEC_STATUS_NOT_SUPPORTED",
                          match="float32")


def test_transposed_convolution_refused(seed):
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))["aten::convolution.out"]
        value_of(plan, call.args[6]).bool_val = True
    expect_edited_failure(nn.Conv2d(2, 2, 3), (randn(1, 2, 5, 5),), edit,
                          "PTEC_STATUS_NOT_SUPPORTED", match="transposed")


def test_select_index_out_of_range(seed):
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))["aten::select_copy.int_out"]
        value_of(plan, call.args[2]).int_val = 7
    expect_edited_failure(Fn(lambda t: (t * 1).select(1, 2) * 1), (randn(3, 4),), edit,
                          "PTEC_STATUS_OUT_OF_RANGE", match="index 7")


def test_gelu_unknown_mode(seed):
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))["aten::gelu.out"]
        value_of(plan, call.args[1]).string_val = "erf"
    expect_edited_failure(Fn(F.gelu), (randn(4),), edit, "PTEC_STATUS_NOT_SUPPORTED",
                          match="approximate")


def view_copy_to_et_view(plan) -> None:
    """Rewires view_copy(self, size, out, ret) into et_view(self, size, out)."""
    call = dict(kernel_calls(plan))["aten::view_copy.out"]
    call.args = call.args[:3]
    rename_operator("aten::view_copy.out", "executorch_prim::et_view.default")(plan)


def test_et_view_aliases_contiguous(seed):
    """et_view binds the output to the input's memory (the compiled out
    buffer is simply not used)."""
    fn = Fn(lambda t: (t * 2).reshape(6, 4) + 1)
    check_edited_program(fn, (randn(2, 3, 4),), view_copy_to_et_view,
                         lambda t: (t * 2).reshape(6, 4) + 1)


def test_et_view_refuses_channels_last(seed):
    """Aliasing a view of an NHWC tensor would reorder its elements."""
    fn = Fn(lambda t: torch.flatten(torch.relu(t), 1) + 1)
    x = randn(2, 3, 4, 5, channels_last=True)
    def edit(plan) -> None:
        # flatten of an NHWC tensor compiles to clone + view_copy; alias the relu instead
        calls = dict(kernel_calls(plan))
        call = calls["aten::view_copy.out"]
        call.args[0] = calls["aten::relu.out"].args[-1]
        view_copy_to_et_view(plan)
    expect_edited_failure(fn, (x,), edit, "PTEC_STATUS_NOT_SUPPORTED", match="dim order")
