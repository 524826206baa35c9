"""aten::index_copy.out, the in-place state write (passes/state_in_place.py),
against PyTorch eager: random shapes, dims, dtypes and indices (negative ones
in range: PyTorch refuses negative ones) from the printed seed, over several runs of a stateful module; an index
outside the dim is refused by name."""
import random

import pytest
import torch

import ptec
from ptec.runtime import PtecError


class Rows(torch.nn.Module):
    def __init__(self, shape, dtype, dim):
        super().__init__()
        self.dim = dim
        self.register_buffer("buf", torch.zeros(shape, dtype=dtype))

    def forward(self, x, index):
        self.buf.index_copy_(self.dim, index, x)
        return self.buf * 1


def _sample(shape, dtype):
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    return torch.randint(0, 100, shape).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.uint8])
def test_index_copy_in_place_equals_eager(seed, dtype):
    rank = random.randint(1, 4)
    shape = tuple(random.randint(2, 5) for _ in range(rank))
    dim = random.randrange(rank)
    rows = random.randint(1, shape[dim])
    x_shape = shape[:dim] + (rows,) + shape[dim + 1:]
    index = torch.tensor(random.sample(range(shape[dim]), rows))
    compiled = ptec.compile(Rows(shape, dtype, dim), (_sample(x_shape, dtype), index))
    program, eager = ptec.load(compiled.buffer), Rows(shape, dtype, dim)
    for step in range(3):
        x = _sample(x_shape, dtype)
        index = torch.tensor(random.sample(range(shape[dim]), rows))
        assert torch.equal(program(x, index)[0], eager(x, index)), f"step {step}"


def test_index_outside_the_dim_is_refused():
    compiled = ptec.compile(Rows((4, 3), torch.float32, 0),
                            (torch.randn(1, 3), torch.tensor([0])))
    program = ptec.load(compiled.buffer)
    for bad in (4, -1):
        with pytest.raises(PtecError) as info:
            program(torch.randn(1, 3), torch.tensor([bad]))
        assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE", str(info.value)
        assert f"index {bad} is out of range for dim 0 of size 4" in info.value.message
