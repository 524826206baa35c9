"""Shape and copy ops: views, permutes, expand, cat, split, slice, select,
squeeze, pad, clone / dtype conversion, index_select, gather, embedding."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from op_testing import Fn, check_module, randint, randn

DTYPES = [torch.float32, torch.int64, torch.int32, torch.bool, torch.uint8]


def sample(shape, dtype=torch.float32, channels_last=False):
    if dtype == torch.bool:
        x = torch.rand(shape) > 0.5
    elif dtype.is_floating_point:
        x = torch.randn(shape, dtype=dtype)
    else:
        x = torch.randint(-100 if dtype != torch.uint8 else 0, 100, shape, dtype=dtype)
    return x.to(memory_format=torch.channels_last) if channels_last else x


# Each case's op runs on a computed tensor (x * 1 or x + 0 for bools), so
# the compiler must emit a real copy kernel rather than a view of an input.
def touch(x):
    return x.clone() if x.dtype == torch.bool else x + 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_view(seed, dtype):
    x = sample((2, 3, 4), dtype)
    check_module(Fn(lambda t: touch(t).reshape(6, 4) + 0 if dtype != torch.bool
                    else touch(t).reshape(6, 4)), (x,))
    check_module(Fn(lambda t: touch(t).reshape(-1)), (x,))
    check_module(Fn(lambda t: touch(t).view(4, -1, 2)), (x,))


def test_view_channels_last(seed):
    """Flattening an NHWC tensor must follow logical order."""
    x = sample((2, 3, 4, 5), channels_last=True)
    check_module(Fn(lambda t: torch.flatten(t * 2, 1)), (x,))
    check_module(Fn(lambda t: (t * 2).reshape(6, 20)), (x,))
    check_module(Fn(lambda t: torch.flatten(torch.relu(t), 1)),
                 (sample((2, 8, 1, 1), channels_last=True),))


@pytest.mark.parametrize("dims", [(1, 0), (0, 2, 1), (2, 0, 1), (3, 1, 0, 2)], ids=str)
def test_permute(seed, dims):
    shape = [2, 3, 4, 5][:len(dims)]
    check_module(Fn(lambda t: touch(t).permute(*dims) * 1), (sample(shape),),
                 expect_ops=["aten::permute_copy.out"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_transpose_and_t(seed, dtype):
    check_module(Fn(lambda t: touch(t).transpose(0, 2).contiguous()), (sample((2, 3, 4), dtype),))
    check_module(Fn(lambda t: touch(t).t().contiguous()), (sample((3, 5), dtype),))


def test_permute_channels_last(seed):
    x = sample((2, 3, 4, 5), channels_last=True)
    check_module(Fn(lambda t: (t * 2).permute(0, 2, 3, 1).contiguous()), (x,))


@pytest.mark.parametrize("shape,size", [((3, 1), (3, 4)), ((1, 4), (2, 3, 4)), ((), (2, 2)),
                                        ((2, 1, 3), (-1, 5, -1))], ids=str)
def test_expand(seed, shape, size):
    check_module(Fn(lambda t: touch(t).expand(*size).contiguous()), (sample(shape),),
                 expect_ops=["aten::expand_copy.out"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(seed, dim, dtype):
    a, b, c = sample((2, 3, 4), dtype), sample((2, 3, 4), dtype), sample((2, 3, 4), dtype)
    shapes = {0: [(1, 3, 4), (3, 3, 4)], 1: [(2, 1, 4), (2, 5, 4)], -1: [(2, 3, 2), (2, 3, 1)]}[dim]
    b, c = sample(shapes[0], dtype), sample(shapes[1], dtype)
    check_module(Fn(lambda x, y, z: torch.cat([touch(x), touch(y), touch(z)], dim)), (a, b, c),
                 expect_ops=["aten::cat.out"])


def test_cat_channels_last_and_mixed(seed):
    a = sample((1, 3, 4, 4), channels_last=True)
    b = sample((1, 5, 4, 4))
    check_module(Fn(lambda x, y: torch.cat([x * 1, y * 1], 1)), (a, b))


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_split_with_sizes(seed, dim):
    x = sample((6, 5, 4))
    sizes = {0: [1, 2, 3], 1: [2, 3], 2: [1, 1, 2]}[dim]
    check_module(Fn(lambda t: [p * 1 for p in torch.split(t * 1, sizes, dim)]), (x,),
                 expect_ops=["aten::split_with_sizes_copy.out"])


@pytest.mark.parametrize("split", [1, 2, 4, 7])
def test_split_equal_chunks(seed, split):
    x = sample((7, 3))
    check_module(Fn(lambda t: [p * 1 for p in torch.split(t * 1, split, 0)]), (x,))


def test_chunk_channels_last(seed):
    x = sample((2, 6, 3, 3), channels_last=True)
    check_module(Fn(lambda t: [p * 1 for p in torch.chunk(t * 1, 3, 1)]), (x,))


@pytest.mark.parametrize("spec", [
    (0, 1, 4, 1), (1, 0, 5, 2), (1, -3, None, 1), (2, None, -1, 3), (0, -100, 4, 1),
    (1, 4, 2, 1), (2, 1, None, 2)], ids=str)
def test_slice(seed, spec):
    dim, start, end, step = spec
    x = sample((5, 6, 7))
    check_module(Fn(lambda t: torch.ops.aten.slice.Tensor(t * 1, dim, start, end, step) * 1), (x,),
                 expect_ops=["aten::slice_copy.Tensor_out"])


def test_slice_python_syntax(seed):
    check_module(Fn(lambda t: (t * 1)[:, 1:-1, ::2] * 1), (sample((2, 5, 6)),))
    check_module(Fn(lambda t: (t * 1)[..., 1:3] * 1), (sample((2, 3, 5, 4), channels_last=True),))


@pytest.mark.parametrize("dim,index", [(0, 0), (1, -1), (2, 3), (-1, -4)], ids=str)
def test_select(seed, dim, index):
    check_module(Fn(lambda t: (t * 1).select(dim, index) * 1), (sample((3, 4, 5)),),
                 expect_ops=["aten::select_copy.int_out"])


def test_squeeze_unsqueeze(seed):
    check_module(Fn(lambda t: (t * 1).squeeze(1) * 1), (sample((3, 1, 4)),))
    check_module(Fn(lambda t: (t * 1).squeeze() * 1), (sample((1, 3, 1, 4, 1)),))
    check_module(Fn(lambda t: (t * 1).squeeze(-1) * 1), (sample((3, 4)),))
    check_module(Fn(lambda t: (t * 1).unsqueeze(0) * 1), (sample((3, 4)),))
    check_module(Fn(lambda t: (t * 1).unsqueeze(-1) * 1), (sample((3, 4)),))
    check_module(Fn(lambda t: (t * 1).unsqueeze(2) * 1),
                 (sample((2, 3, 4, 5), channels_last=True),))


@pytest.mark.parametrize("pad", [(1, 2), (0, 0, 2, 1), (1, 1, 1, 1, 1, 1), (-1, 2), (2, -3, 1, 0)],
                         ids=str)
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_constant_pad(seed, pad, value):
    check_module(Fn(lambda t: F.pad(t * 1, pad, value=value)), (sample((2, 3, 5)),),
                 expect_ops=["aten::constant_pad_nd.out"])


def test_constant_pad_int_and_nhwc(seed):
    check_module(Fn(lambda t: F.pad(t + 0, (1, 1), value=7)), (sample((2, 4), torch.int64),))
    check_module(Fn(lambda t: F.pad(t * 1, (1, 0, 0, 2))),
                 (sample((1, 2, 3, 3), channels_last=True),))


@pytest.mark.parametrize("src,dst", [(torch.float32, torch.int64), (torch.int64, torch.float32),
                                     (torch.float32, torch.bool), (torch.bool, torch.float32),
                                     (torch.int32, torch.int64), (torch.int64, torch.int32),
                                     (torch.float32, torch.uint8), (torch.int64, torch.bool)],
                         ids=str)
def test_to_dtype(seed, src, dst):
    x = sample((3, 4), src)
    if src.is_floating_point and dst == torch.uint8:
        x = x.abs() * 50
    check_module(Fn(lambda t: t.to(dst)), (x * 3 if src.is_floating_point else x,))


def test_contiguous_to_channels_last_and_back(seed):
    check_module(Fn(lambda t: (t * 1).contiguous(memory_format=torch.channels_last) * 1),
                 (sample((2, 3, 4, 5)),))
    check_module(Fn(lambda t: (t * 1).contiguous() * 1),
                 (sample((2, 3, 4, 5), channels_last=True),))
    check_module(Fn(lambda t: torch.clone(t * 1)), (sample((2, 3)),))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("index_dtype", [torch.int64, torch.int32])
def test_index_select(seed, dim, index_dtype):
    x = sample((4, 5, 6))
    index = torch.randint(0, x.shape[dim], (7,), dtype=index_dtype)
    check_module(Fn(lambda t, i: torch.index_select(t * 1, dim, i)), (x, index),
                 expect_ops=["aten::index_select.out"])


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_gather(seed, dim):
    x = sample((4, 5, 6))
    shape = [3, 4, 5]
    index = torch.randint(0, x.shape[dim], shape)
    check_module(Fn(lambda t, i: torch.gather(t * 1, dim, i)), (x, index),
                 expect_ops=["aten::gather.out"])


@pytest.mark.parametrize("index_dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("shape", [(5,), (2, 7), (2, 3, 4)], ids=str)
def test_embedding(seed, index_dtype, shape):
    emb = nn.Embedding(11, 6)
    index = torch.randint(0, 11, shape, dtype=index_dtype)
    check_module(emb, (index,), expect_ops=["aten::embedding.out"])


def test_embedding_padding_idx(seed):
    emb = nn.Embedding(9, 4, padding_idx=0)
    check_module(emb, (torch.tensor([[0, 3, 8], [1, 0, 2]]),))
