"""fold_batch_norm (python/ptec/passes/fold_batch_norm.py): conv -> batch norm pairs of
float graphs become one convolution with scaled weights and a shifted bias.

Random convolutions (1-D and 2-D, grouped, depthwise, with and without bias, random
statistics) followed by an eval batch norm: the compiled program has no batch-norm call and
its output equals PyTorch's within the float tolerance; a batch norm whose input has another
reader, or that follows something else, stays."""
from __future__ import annotations

import random

import torch
import torch.nn as nn

import ptec


def _randomize(bn: nn.Module) -> None:
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.2, 3)
        if bn.affine:
            bn.weight.uniform_(-2, 2)
            bn.bias.uniform_(-1, 1)


def _bn_calls(program) -> int:
    return sum("batch_norm" in i.operator for i in program.instructions)


def test_conv_batch_norm_pairs_fold(seed):
    rng = random.Random(seed)
    for _ in range(6):
        one_d = rng.random() < 0.3
        cin = rng.choice([3, 8, 16])
        groups = rng.choice([1, 1, cin])
        cout = cin if groups == cin else rng.randrange(1, 24)
        conv_cls, bn_cls = (nn.Conv1d, nn.BatchNorm1d) if one_d else (nn.Conv2d, nn.BatchNorm2d)
        conv = conv_cls(cin, cout, 3, padding=1, groups=groups, bias=rng.random() < 0.5)
        bn = bn_cls(cout, affine=rng.random() < 0.8, eps=rng.choice([1e-5, 1e-3]))
        _randomize(bn)
        model = nn.Sequential(conv, bn, nn.ReLU()).eval()
        x = torch.randn((1, cin, 12) if one_d else (1, cin, 9, 11))
        program = ptec.compile(model, (x,))
        assert _bn_calls(program) == 0, [i.operator for i in program.instructions]
        got = ptec.load(program.buffer)(x)[0]
        with torch.no_grad():
            want = model(x)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * want.abs().max().item())


class _Shared(nn.Module):
    """The convolution's output is read by the batch norm and by the add: no fold."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_batch_norm_with_other_readers_stays(seed):
    model = _Shared().eval()
    _randomize(model.bn)
    x = torch.randn(1, 4, 6, 6)
    program = ptec.compile(model, (x,))
    assert _bn_calls(program) == 1
    got = ptec.load(program.buffer)(x)[0]
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
