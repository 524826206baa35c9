"""ptec::cached_attention (attention over the filled rows of a KV cache) against
the masked softmax in PyTorch eager: random heads, sizes and positions from the
printed seed; a position outside the cache is refused by name."""
import random

import pytest
import torch

import ptec
from ptec.llm.attention import _reference, cached_attention
from ptec.runtime import PtecError


class Attend(torch.nn.Module):
    def forward(self, q, k, v, pos):
        return cached_attention(q, k, v, pos, 0.25)


def _case(heads, t, length, d):
    q = torch.randn(1, heads, t, d)
    k, v = torch.randn(1, heads, length, d), torch.randn(1, heads, length, d)
    pos = torch.tensor(sorted(random.sample(range(length), t)))
    return q, k, v, pos


def test_cached_attention_equals_masked_softmax(seed):
    heads, t, length, d = (random.randint(1, 4), random.randint(1, 5), random.randint(6, 40),
                           random.choice([4, 8, 16]))
    q, k, v, pos = _case(heads, t, length, d)
    program = ptec.load(ptec.compile(Attend(), (q, k, v, pos)).buffer)
    for _ in range(3):
        q, k, v, pos = _case(heads, t, length, d)
        expected = _reference(q, k, v, pos, 0.25)
        torch.testing.assert_close(program(q, k, v, pos)[0], expected, rtol=1e-5, atol=1e-5)


def test_position_outside_the_cache_is_refused():
    q, k, v, pos = _case(2, 1, 8, 4)
    program = ptec.load(ptec.compile(Attend(), (q, k, v, pos)).buffer)
    with pytest.raises(PtecError) as info:
        program(q, k, v, torch.tensor([8]))
    assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE", str(info.value)
    assert "cache_position 8 is outside the cache's 8 rows" in info.value.message
