"""Control flow: torch.cond is refused at compile time with the reason
(ptec's emitter has no sub-graphs behind JumpFalseCall yet) and a workaround,
never as an unrelated error from a later pass."""
import pytest
import torch

import ptec


def test_cond_is_refused_with_the_reason():
    """torch.cond: refused at compile time naming the node and why (no
    sub-graph emission behind JumpFalseCall yet), with the workaround."""
    class Branchy(torch.nn.Module):
        def forward(self, x):
            return torch.cond(x.sum() > 0, lambda t: t + 1, lambda t: t - 1, (x,))

    with pytest.raises(ptec.CompileError) as info:
        ptec.compile(Branchy(), (torch.randn(3),))
    assert "control flow is not supported" in str(info.value)
    assert "JumpFalseCall" in str(info.value) and "torch.where" in str(info.value)
