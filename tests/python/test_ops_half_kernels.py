"""float16 / bfloat16 in the float kernels (issue 17): convolution (1-D to
3-D, depthwise), linear / addmm / mm / bmm / matmul, softmax / log_softmax,
layer, group and batch norm, pooling, upsampling. Each computes in float32
and rounds once on store, as PyTorch's CPU kernels do for these dtypes (see
runtime/src/kernels/portable/half.h), and is compared with PyTorch eager on
random shapes.

Tolerance, in units in the last place (ulps) of the half type at eager's
result: 0 where PyTorch's order of float32 operations is the kernel's;
1 ulp where it is not (a different summation order, oneDNN's blocking, or
PyTorch's vectorised exp, moves the float32 value by a few float ulps, which
can tip the final rounding), plus, for sums of products, the float32 error
bound of the sum (2^-22 of the sum of |terms|) so cancellation near zero
cannot fail a correct kernel. Each test also prints how many elements differ
at all, so a drift is visible before it fails."""
from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch

import ptec
from op_testing import Fn
from ptec.runtime import PtecError

HALF = [torch.float16, torch.bfloat16]
MANT = {torch.float16: 10, torch.bfloat16: 7, torch.float32: 23}
EMIN = {torch.float16: -14, torch.bfloat16: -126, torch.float32: -126}


def ulp(want: torch.Tensor) -> torch.Tensor:
    """The spacing of want's dtype at each element of want (subnormals too)."""
    w = want.double().abs().clamp_min(2.0 ** -140)
    e = torch.floor(torch.log2(w)).clamp_min(EMIN[want.dtype])
    return torch.exp2(e - MANT[want.dtype])


def flatten(value):
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in flatten(item)]
    return [value]


def run(module, inputs, expect_ops=()):
    module = module.eval()
    with torch.no_grad():
        want = module(*inputs)
    program = ptec.compile(module, tuple(inputs))
    called = [i.operator for i in program.instructions]
    for name in expect_ops:
        assert name in called, f"{name} not in {called}"
    got = ptec.load(program.buffer)(*inputs)
    want = flatten(want)
    assert len(got) == len(want)
    return got, want


def check(module, inputs, *, ulps=0, bound=None, expect_ops=()):
    """Every output equal to eager's within `ulps` ulps (plus 2^-22 * bound,
    bound being eager's result on |inputs| and |parameters|, when given)."""
    got, want = run(module, inputs, expect_ops)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g.dtype, w.dtype, g.shape, w.shape)
        err = (g.double() - w.double()).abs()
        tol = ulps * ulp(w)
        if bound is not None:
            tol = tol + 2.0 ** -22 * bound[k].double().abs()
        print(f"output {k} {w.dtype}: {int((err > 0).sum())} of {w.numel()} elements differ, "
              f"max {float((err / ulp(w)).max()) if w.numel() else 0:.2f} ulp")
        bad = err > tol
        assert not bad.any(), (f"output {k}: {int(bad.sum())} elements beyond {ulps} ulp; "
                               f"got {g[bad][:5]} want {w[bad][:5]}")


def abs_bound(module, inputs):
    """Eager's result in float64 on |inputs| with |parameters|: the size of
    the sum of |terms| behind each output element."""
    absm = copy.deepcopy(module).double()
    with torch.no_grad():
        for p in absm.parameters():
            p.abs_()
        out = absm(*[x.double().abs() for x in inputs])
    return list(out) if isinstance(out, (tuple, list)) else [out]


def rand(*shape, dtype, scale=1.0):
    return (torch.randn(*shape) * scale).to(dtype)


def random_conv(dims, dtype):
    """A Conv1d/2d/3d of random geometry, and an input for it."""
    conv = [None, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d][dims]
    cin, groups = random.choice([(3, 1), (4, 2), (4, 4)])  # (4, 4): depthwise
    k = random.randint(1, 3)
    spatial = [random.randint(k, k + 4) for _ in range(dims)]
    m = conv(cin, groups * random.randint(1, 3), k, stride=random.randint(1, 2),
             padding=random.randint(0, 1),
             dilation=random.randint(1, 2) if min(spatial) > 2 * k else 1, groups=groups,
             bias=random.random() < 0.7).to(dtype)
    return m, rand(random.randint(1, 2), cin, *spatial, dtype=dtype)


@pytest.mark.parametrize("dtype", HALF)
def test_convolution(seed, dtype):
    """1-D, 2-D, 3-D and depthwise convolutions, one channels-last."""
    convs = [random_conv(d, dtype) for d in (1, 2, 3, 2)]
    convs[3] = (convs[3][0].to(memory_format=torch.channels_last),
                convs[3][1].to(memory_format=torch.channels_last))

    class Convs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList(m for m, _ in convs)

        def forward(self, *xs):
            return tuple(m(x) for m, x in zip(self.convs, xs))

    inputs = tuple(x for _, x in convs)
    bound = [abs_bound(m, (x,))[0] for m, x in convs]
    check(Convs(), inputs, ulps=1, bound=bound, expect_ops=["aten::convolution.out"])


@pytest.mark.parametrize("dtype", HALF)
def test_matrix_products(seed, dtype):
    M, K, N, B = (random.randint(1, 9) for _ in range(4))
    a, b = rand(B, M, K, dtype=dtype), rand(B, K, N, dtype=dtype)
    lin = torch.nn.Linear(K, N).to(dtype)

    class Products(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lin

        def forward(self, a, b):
            return (a[0] @ b[0], torch.bmm(a, b), a @ b, self.lin(a),
                    torch.addmm(b[0, 0], a[0], b[0], beta=0.5, alpha=2.0), a.transpose(1, 2).mT @ b)

    m = Products()
    check(m, (a, b), ulps=1, bound=abs_bound(m, (a, b)),
          expect_ops=["aten::mm.out", "aten::bmm.out", "aten::addmm.out"])


@pytest.mark.parametrize("dtype", HALF)
def test_softmax_and_norms(seed, dtype):
    """Softmax along any dim, with PyTorch's intermediate roundings (along a
    non-last dim it keeps the exponentials in the output, rounded to the
    half type, and scales them; last-dim log_softmax rounds the sum and its
    log to the half type); layer norm, with its mean and rstd outputs in the
    half type; inference batch norm. 1 ulp: PyTorch's vectorised exp is not
    libm's, its non-last-dim softmax of rank > 2 blocks its sums otherwise,
    and its norms sum in another order."""
    c = random.randint(1, 6)
    shape = (random.randint(1, 3), c, random.randint(1, 7), random.randint(1, 9))
    ln = torch.nn.LayerNorm(shape[-2:]).to(dtype)
    bn = torch.nn.BatchNorm2d(c).eval()
    with torch.no_grad():
        for p in (ln.weight, ln.bias, bn.weight, bn.bias, bn.running_mean):
            p.copy_(torch.randn(p.shape))
        bn.running_var.copy_(torch.rand(c) + 0.5)
    bn = bn.to(dtype)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln, self.bn = ln, bn

        def forward(self, t):
            return (torch.softmax(t, 0), torch.softmax(t, 2), torch.softmax(t, -1),
                    torch.log_softmax(t, -1), torch.log_softmax(t, 1),
                    torch.ops.aten.native_layer_norm(t, shape[-2:], self.ln.weight,
                                                     self.ln.bias, 1e-5),
                    self.bn(t))

    x = rand(*shape, dtype=dtype, scale=3.0)
    check(M(), (x,), ulps=1,
          expect_ops=["aten::_softmax.out", "aten::_log_softmax.out",
                      "aten::native_layer_norm.out",
                      "aten::_native_batch_norm_legit_no_training.out"])


@pytest.mark.parametrize("dtype", HALF)
def test_pooling_and_upsampling(seed, dtype):
    F = torch.nn.functional
    k = random.randint(1, 3)
    x = rand(random.randint(1, 2), random.randint(1, 4), random.randint(k + 1, 9),
             random.randint(k + 1, 9), dtype=dtype, scale=3.0)
    out_hw = (random.randint(1, 4), random.randint(1, 4))

    def f(t):
        return (F.max_pool2d(t, k, stride=random.randint(1, 2), padding=k // 2),
                F.avg_pool2d(t, k, padding=k // 2, count_include_pad=random.random() < 0.5),
                F.adaptive_avg_pool2d(t, out_hw), F.adaptive_avg_pool2d(t, 1),
                F.interpolate(t, scale_factor=2, mode="bilinear"),
                F.interpolate(t, size=(3, 5), mode="bilinear", align_corners=True),
                F.interpolate(t, scale_factor=2, mode="nearest"))

    check(Fn(f), (x,), ulps=0,
          expect_ops=["aten::max_pool2d_with_indices.out", "aten::avg_pool2d.out",
                      "aten::upsample_bilinear2d.vec_out"])


@pytest.mark.parametrize("dtype", HALF)
def test_group_norm_variance_and_activations(seed, dtype):
    """group norm's output is (x - mean) * (rstd * gamma) + beta here and
    x * scale + bias in PyTorch: 1 ulp. prod along a dim rounds to the half
    type after each multiply, as PyTorch's does."""
    groups = random.randint(1, 3)
    c = groups * random.randint(1, 3)
    gn = torch.nn.GroupNorm(groups, c).to(dtype)
    with torch.no_grad():
        gn.weight.copy_(torch.randn(c))
        gn.bias.copy_(torch.randn(c))
    x = rand(random.randint(1, 2), c, random.randint(1, 5), 2 * random.randint(1, 3),
             dtype=dtype, scale=2.0)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gn = gn

        def forward(self, t):
            return (self.gn(t),) + torch.var_mean(t, (2, 3)) + (
                torch.nn.functional.elu(t), torch.nn.functional.glu(t, -1),
                torch.clamp(t, t.mean(0), t.mean(0) + 0.5), (t.abs() + 0.5).prod(1))

    check(M(), (x,), ulps=1, expect_ops=["aten::native_group_norm.out", "aten::elu.out",
                                         "aten::var_mean.correction_out", "aten::prod.int_out",
                                         "aten::clamp.Tensor_out"])


def one_call(op, x, args, out_dtype):
    """A one-instruction program running `op` on the half tensor x (program_builder
    knows NumPy dtypes only, so the input is declared float32 and retyped)."""
    from program_builder import Input, Out, build
    from ptec.pte import schema as s

    program = build(op, [Input(np.zeros(tuple(x.shape), np.float32)), *args,
                         Out(tuple(x.shape), np.float32)])
    code = {torch.float16: s.ScalarType.HALF, torch.bfloat16: s.ScalarType.BFLOAT16,
            torch.float32: s.ScalarType.FLOAT}
    plan = program.program.execution_plan[0]
    plan.values[plan.inputs[0]].val.scalar_type = code[x.dtype]
    plan.values[plan.outputs[0]].val.scalar_type = code[out_dtype]
    return ptec.load(program.reserialize().data)


@pytest.mark.parametrize("dtype", HALF)
def test_softmax_half_to_float(seed, dtype):
    """_softmax / _log_softmax with half_to_float=True (half input, float32 out).
    PyTorch's CPU kernel refuses it ("softmax with half to float conversion is
    not supported on CPU") and softmax(x, dtype=float32) exports as a cast and
    a float32 softmax, so the reference is eager's float32 softmax of the
    widened input, which is CUDA's meaning of the flag. Tolerance in float32
    ulps (the output type): 4 + n / 2 for a row of n, for PyTorch's
    vectorised exp and its float32 sum against libm's expf and a double sum; log_softmax, whose x - max -
    log(sum) cancels near the row's max, also 2^-22 of |max| + |x - max| +
    log(sum)."""
    shape = [random.randint(1, 4), random.randint(1, 9), random.randint(1, 17)]
    x = rand(*shape, dtype=dtype, scale=4.0)
    for dim in range(3):
        for op, ref in (("aten::_softmax.out", torch.softmax),
                        ("aten::_log_softmax.out", torch.log_softmax)):
            (got,) = one_call(op, x, [dim, True], torch.float32)(x)
            want = ref(x.float(), dim)
            assert got.dtype == torch.float32 and got.shape == want.shape
            err = (got.double() - want.double()).abs()
            # PyTorch sums the row in float32: n / 2 ulps more (n - 1 roundings of 2^-24).
            tol = (4 + x.shape[dim] / 2) * ulp(want)
            if ref is torch.log_softmax:
                # x - max - log(sum) cancels near the row's max: plus 2^-22 of its terms.
                m = x.float().amax(dim, keepdim=True)
                terms = m.abs() + (x.float() - m).abs() + torch.logsumexp(x.float() - m, dim,
                                                                          keepdim=True)
                tol = tol + 2.0 ** -22 * terms.double()
            print(f"{op} dim {dim}: {int((err > 0).sum())} of {want.numel()} differ, "
                  f"max {float((err / ulp(want)).max()):.2f} float32 ulp")
            assert not (err > tol).any(), (op, dim, got[err > tol][:5], want[err > tol][:5])
    # The flag needs a half input and a float32 out: named statuses, no crash.
    with pytest.raises(PtecError, match="half_to_float"):
        one_call("aten::_softmax.out", x.float(), [0, True], torch.float32)(x.float())
    with pytest.raises(PtecError, match="half_to_float"):
        one_call("aten::_softmax.out", x, [0, True], torch.float16)(x)


@pytest.mark.parametrize("dtype", HALF)
def test_grid_sampler_half(seed, dtype):
    """grid_sampler_2d in the half type: PyTorch's CPU loop runs in the half
    type, rounding each operation (the unnormalized and reflected
    coordinates, the bilinear weights, each product and partial sum), and so
    does the kernel: 0 ulp. Bilinear and nearest, every padding mode, both
    align_corners, a grid reaching past [-1, 1]."""
    F = torch.nn.functional
    x = rand(random.randint(1, 2), random.randint(1, 3), random.randint(1, 7),
             random.randint(1, 9), dtype=dtype, scale=2.0)
    grid = ((torch.rand(x.shape[0], random.randint(1, 5), random.randint(1, 6), 2) * 2.4)
            - 1.2).to(dtype)
    cases = [(m, p, a) for m in ("bilinear", "nearest")
             for p in ("zeros", "border", "reflection") for a in (False, True)]

    class M(torch.nn.Module):
        def forward(self, t, g):
            return tuple(F.grid_sample(t, g, mode=m, padding_mode=p, align_corners=a)
                         for m, p, a in cases)

    check(M(), (x, grid), ulps=0, expect_ops=["aten::grid_sampler_2d.out"])


@pytest.mark.parametrize("dtype", HALF)
def test_add_sub_fractional_alpha_half(seed, dtype):
    """add / sub / rsub with a fractional alpha on a half output: alpha rounded
    to the half type, then a + alpha * b in float32, rounded once (PyTorch's
    vectorised loop). PyTorch's scalar tail (the last n % vector-width
    elements, all of a short tensor, its broadcast loops) rounds alpha * b to
    the half type before adding, which the host's vector width decides, so
    the tolerance is 2 ulps of the half type plus 2 ulps of alpha * b (the
    rounding of the product, which near zero, where a and alpha * b cancel,
    is larger than the result's ulp)."""
    n = random.randint(1, 300)
    a, b = rand(n, dtype=dtype, scale=2.0), rand(n, dtype=dtype, scale=2.0)
    row = rand(random.randint(1, 4), 1, dtype=dtype)
    alpha = random.choice([0.3, -1.7, 2.5, 0.1]) * random.uniform(0.5, 2.0)

    class M(torch.nn.Module):
        def forward(self, x, y, r):
            return (torch.add(x, y, alpha=alpha), torch.sub(x, y, alpha=alpha),
                    torch.rsub(x, 1.5, alpha=alpha), torch.add(r, x, alpha=alpha))

    got, want = run(M(), (a, b, row), expect_ops=["aten::add.out", "aten::sub.out"])
    al = torch.tensor(alpha).to(dtype).double()
    prods = [al * b.double(), al * b.double(), al * a.double(), al * a.double()]
    for k, (g, w, p) in enumerate(zip(got, want, prods)):
        assert g.dtype == w.dtype and g.shape == w.shape
        err = (g.double() - w.double()).abs()
        tol = ulp(w) + ulp(p.to(dtype)).expand_as(w)
        print(f"output {k} {dtype}: {int((err > 0).sum())} of {w.numel()} differ, "
              f"max {float((err / ulp(w)).max()):.2f} ulp")
        assert not (err > tol).any(), (k, g[err > tol][:5], w[err > tol][:5])
    # A contiguous same-shape add of a multiple of 64 elements has no scalar tail
    # (PyTorch's half vectors are 8, 16 or 32 wide): bit-exact, which an unrounded
    # alpha is not.
    a = rand(64 * random.randint(1, 4), dtype=dtype)
    b = rand(a.numel(), dtype=dtype)
    got, want = run(Fn(lambda x, y: torch.add(x, y, alpha=alpha)), (a, b))
    print(f"vectorised add {dtype}: {int((got[0] != want[0]).sum())} of {a.numel()} differ")
    assert torch.equal(got[0], want[0])
