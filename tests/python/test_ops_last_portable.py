"""The last nine of ExecuTorch's portable operators (test_op_coverage.py):
host/device copies, the convolution and max-pool gradients, rand / randn
with a generator in the program, and view_as_real on complex64."""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.pte.file import deserialize_program
from ptec.runtime import PtecError

from op_testing import Fn as _Fn
from program_builder import Input, Out, build, run

ROOT = Path(__file__).resolve().parents[2]
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))

H2D, D2H = "et_copy::_h2d_copy.out", "et_copy::_d2h_copy.out"


def _operator_names(buffer: bytes) -> list[str]:
    program, _ = deserialize_program(buffer)
    return [op.qualified_name for plan in program.execution_plan for op in plan.operators]


def _asan_verify(tmp_path: Path, name: str, pte: bytes, inputs, outputs, tol: float = 1e-5):
    """ptec-run --verify under ASan + UBSan on a bundle of eager's outputs."""
    path = tmp_path / f"last_portable_{name}.bpte"
    ptec.bundle(pte, [(list(inputs), list(outputs))], path=path)
    r = subprocess.run([PTEC_RUN_ASAN, str(path), "--verify", "--rtol", str(tol), "--atol",
                        str(tol)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{name}:\n{r.stdout}\n{r.stderr}"
    assert "1 of 1 cases passed" in r.stdout, r.stdout


# ------------------------------------------------------------ et_copy


class _DeviceRoundTrip(torch.nn.Module):
    """What ExecuTorch's PropagateDevicePass makes around a device delegate:
    input copied to the device, computed on, copied back."""

    def forward(self, x):
        y = torch.ops.et_copy._h2d_copy(x) * 3
        return torch.ops.et_copy._d2h_copy(y) - x


def _executorch_device_copy_pte(x: torch.Tensor) -> bytes:
    """ExecuTorch's own exporter emits the et_copy calls (kept from
    decomposition with preserve_ops, as its device pass keeps them)."""
    import executorch.exir.passes._device_copy_ops_registry  # noqa: F401  registers et_copy
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower
    ops = [torch.ops.et_copy._h2d_copy.default, torch.ops.et_copy._d2h_copy.default]
    exported = torch.export.export(_DeviceRoundTrip(), (x,))
    edge = to_edge_transform_and_lower(exported, compile_config=EdgeCompileConfig(
        _check_ir_validity=False, preserve_ops=ops))
    return bytes(edge.to_executorch().buffer)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64])
def test_device_copies_in_executorch_program(seed, dtype):
    """ExecuTorch's .pte with both copies runs in ptec and equals eager
    exactly (the copies move bytes; * 3 and - x are exact in these ranges);
    a 2-byte float, an 8-byte integer and float32 (ExecuTorch exports cost ~2 s
    each, so three)."""
    shape = [random.randint(1, 5) for _ in range(random.randint(0, 4))]
    x = (torch.randint(-20, 20, shape)).to(dtype)
    pte = _executorch_device_copy_pte(x)
    names = _operator_names(pte)
    assert H2D in names and D2H in names, names
    (got,) = ptec.load(pte)(x)
    want = _DeviceRoundTrip()(x)
    assert got.dtype == want.dtype and torch.equal(got, want), (got, want)


def test_device_copies_keep_dim_order(seed):
    """A channels-last input: the copy follows each tensor's own dim order."""
    x = torch.randn(2, 3, 4, 5)
    for order, out_order in [((0, 2, 3, 1), (0, 1, 2, 3)), ((0, 1, 2, 3), (0, 2, 3, 1))]:
        for op in (H2D, D2H):
            (got,) = run(build(op, [Input(x.numpy().transpose(order).copy().transpose(
                np.argsort(order)), order), Out(x.shape, np.float32, out_order)]))
            np.testing.assert_array_equal(got, x.numpy())


def test_device_copies_refuse_mismatches():
    """ExecuTorch's kernel moves nbytes without converting: a dtype or shape
    that differs from self's is refused with a named status."""
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for op in (H2D, D2H):
        with pytest.raises(PtecError) as info:
            run(build(op, [Input(x), Out((2, 3), np.int32)]))
        assert info.value.status == "PTEC_STATUS_TYPE_MISMATCH", str(info.value)
        with pytest.raises(PtecError) as info:
            run(build(op, [Input(x), Out((3, 2), np.float32)]))
        assert info.value.status == "PTEC_STATUS_SHAPE_MISMATCH", str(info.value)


def test_device_copies_under_asan(seed, tmp_path):
    x = torch.randn(3, 7)
    _asan_verify(tmp_path, "device_copy", _executorch_device_copy_pte(x), [x],
                 [_DeviceRoundTrip()(x)])


# ------------------------------------------------------------ gradients

aten = torch.ops.aten
CONV_BW = "aten::convolution_backward.out"
POOL_BW = "aten::max_pool2d_with_indices_backward.grad_input"
MASKS = [m for m in ([a, b, c] for a in (True, False) for b in (True, False)
                     for c in (True, False)) if any(m)]
#: Relative tolerance per dtype: float32 sums compared with eager's own
#: float32 sums (ptec sums in double, so the difference is eager's rounding:
#: a few ulps); for the half types eager rounds each result once as ptec does,
#: from a float32 sum, so 2 ulps of the type; float64 both nearly exact.
RTOL = {torch.float32: 1e-5, torch.float64: 1e-12, torch.float16: 2 * 2.0**-10,
        torch.bfloat16: 2 * 2.0**-7}


class _ConvBackward(torch.nn.Module):
    def __init__(self, bias_sizes, stride, padding, dilation, groups, mask):
        super().__init__()
        self.args = (bias_sizes, stride, padding, dilation, False, [0, 0], groups, mask)

    def forward(self, g, x, w):
        r = aten.convolution_backward(g, x, w, *self.args)
        return tuple(t for t, m in zip(r, self.args[-1]) if m)


def _conv_case(dtype, channels_last=False):
    groups = random.choice([1, 1, 2, 3])
    C, OC = groups * random.randint(1, 3), groups * random.randint(1, 3)
    kh, kw = random.randint(1, 3), random.randint(1, 3)
    stride = [random.randint(1, 2), random.randint(1, 3)]
    dilation = [random.randint(1, 2), random.randint(1, 2)]
    padding = [random.randint(0, 2), random.randint(0, 1)]
    H, W = random.randint(kh * dilation[0], 9), random.randint(kw * dilation[1], 9)
    x = torch.randn(random.randint(1, 3), C, H, W, dtype=dtype)
    w = torch.randn(OC, C // groups, kh, kw, dtype=dtype)
    y = aten.convolution(x, w, None, stride, padding, dilation, False, [0, 0], groups)
    g = torch.randn(y.shape, dtype=dtype)
    if channels_last:
        x, g = x.to(memory_format=torch.channels_last), g.to(memory_format=torch.channels_last)
    terms = max(g.shape[0] * g.shape[2] * g.shape[3], (OC // groups) * kh * kw)
    return (g, x, w), dict(bias_sizes=[OC], stride=stride,
                           padding=padding, dilation=dilation, groups=groups), terms


def _check(program, inputs, want, rtol, atol):
    got = ptec.load(program.buffer)(*inputs)
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape and a.dtype == b.dtype, (k, a.shape, b.shape, a.dtype)
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=lambda m: f"out {k}: {m}")


@pytest.mark.parametrize("mask", MASKS, ids=lambda m: "".join("1" if b else "0" for b in m))
def test_convolution_backward_masks(seed, mask):
    """Every output_mask ExecuTorch supports (all but none), random geometry
    (groups, stride, padding, dilation), against eager's gradients. Tolerance:
    eager's float32 sums of `terms` products (test's op_testing.tolerance)."""
    from op_testing import tolerance
    inputs, kw, terms = _conv_case(torch.float32, channels_last=random.random() < 0.3)
    if not mask[2] and random.random() < 0.5:
        kw["bias_sizes"] = None  # allowed (only) when grad_bias is not asked for
    module = _ConvBackward(mask=mask, **kw)
    program = ptec.compile(module, inputs)
    assert [i.operator for i in program.instructions] == [CONV_BW]
    _check(program, inputs, module(*inputs), RTOL[torch.float32], tolerance(terms))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_convolution_backward_dtypes(seed, dtype):
    """float64 and the half types (ExecuTorch's FLOATHBF16 switch); each result
    one rounding of a double sum, within 2 ulps of eager's (a float32 sum
    rounded once) at the result's magnitude, plus the sum's scale for
    cancellation."""
    inputs, kw, terms = _conv_case(dtype)
    module = _ConvBackward(mask=[True, True, True], **kw)
    program = ptec.compile(module, inputs)
    _check(program, inputs, module(*inputs), RTOL[dtype], RTOL[dtype] * terms ** 0.5)


def test_convolution_backward_refusals():
    """ExecuTorch's portable kernel refuses transposed and non-2-D
    convolutions and integer dtypes; so does ptec, with a named status."""
    x, w, g = (np.ones(s, np.float32) for s in ((1, 2, 4, 4), (3, 2, 3, 3), (1, 3, 2, 2)))
    base = [Input(g), Input(x), Input(w), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
            [True, True, True]]
    outs = [Out(x.shape, np.float32), Out(w.shape, np.float32), Out((3,), np.float32)]
    (gi, gw, gb) = run(build(CONV_BW, base + outs))  # the arguments are valid
    np.testing.assert_allclose(gb, [4.0, 4.0, 4.0])
    cases = [
        (7, True, "PTEC_STATUS_NOT_SUPPORTED", "transposed"),
        (10, [True, True], "PTEC_STATUS_INVALID_ARGUMENT", "output_mask"),
        (4, [0, 1, 2], "PTEC_STATUS_INVALID_ARGUMENT", "stride"),
        (9, 2, "PTEC_STATUS_SHAPE_MISMATCH", "groups"),
        (0, Input(np.ones((1, 3, 3, 2), np.float32)), "PTEC_STATUS_SHAPE_MISMATCH",
         "grad_output"),
        (1, Input(np.ones((1, 2, 4), np.float32)), "PTEC_STATUS_NOT_SUPPORTED", "2-D"),
    ]
    for slot, value, status, match in cases:
        args = list(base)
        args[slot] = value
        with pytest.raises(PtecError) as info:
            run(build(CONV_BW, args + outs))
        assert info.value.status == status and match in info.value.message, str(info.value)
    ints = [Input(a.astype(np.int32)) for a in (g, x, w)]
    with pytest.raises(PtecError) as info:
        run(build(CONV_BW, ints + base[3:] + [Out(a.shape, np.int32) for a in (x, w)]
                  + [Out((3,), np.int32)]))
    assert info.value.status == "PTEC_STATUS_NOT_SUPPORTED", str(info.value)


class _PoolBackward(torch.nn.Module):
    def __init__(self, *args):
        super().__init__()
        self.args = args

    def forward(self, g, x, indices):
        k, s, p, d, ceil = self.args
        return aten.max_pool2d_with_indices_backward(g, x, k, s, p, d, ceil, indices)


def _pool_case(dtype, rank4=True, channels_last=False):
    k = [random.randint(1, 3), random.randint(1, 3)]
    s = [random.randint(1, 3), random.randint(1, 2)]  # stride < kernel: windows overlap
    p = [random.randint(0, k[0] // 2), random.randint(0, k[1] // 2)]
    d = [random.randint(1, 2), 1]
    ceil = random.random() < 0.5
    shape = [random.randint(1, 3), random.randint(1, 4), random.randint(6, 11),
             random.randint(5, 11)]
    x = torch.randn(shape if rank4 else shape[1:], dtype=dtype)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    y, indices = aten.max_pool2d_with_indices(x, k, s, p, d, ceil)
    g = torch.randn(y.shape, dtype=dtype)
    return (g, x, indices), (k, s, p, d, ceil)


@pytest.mark.parametrize("layout", ["nchw", "chw", "channels_last"])
def test_max_pool2d_backward(seed, layout):
    """Overlapping windows (so positions receive several gradients), padding,
    dilation, ceil_mode; float32 equal to eager bit for bit (the same adds in
    the same output order)."""
    inputs, args = _pool_case(torch.float32, layout != "chw", layout == "channels_last")
    module = _PoolBackward(*args)
    program = ptec.compile(module, inputs)
    assert [i.operator for i in program.instructions] == [POOL_BW]
    (got,) = ptec.load(program.buffer)(*inputs)
    want = module(*inputs)
    assert got.dtype == want.dtype and torch.equal(got, want), (got - want).abs().max()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_max_pool2d_backward_dtypes(seed, dtype):
    """Each add rounded to the type (ExecuTorch's CTYPE +=); eager may sum the
    few gradients of one position in float32 first: within 2 ulps."""
    inputs, args = _pool_case(dtype)
    module = _PoolBackward(*args)
    program = ptec.compile(module, inputs)
    _check(program, inputs, (module(*inputs),), RTOL[dtype], RTOL[dtype])


def test_max_pool2d_backward_refuses_bad_indices():
    """Indices come from a tensor: one outside its plane is OUT_OF_RANGE, not
    a write outside grad_input; -1 (ExecuTorch: no maximum) adds nothing."""
    x = np.zeros((1, 1, 4, 4), np.float32)
    g = np.ones((1, 1, 2, 2), np.float32)
    args = lambda idx: [Input(g), Input(x), [2, 2], [2, 2], [0, 0], [1, 1], False,
                        Input(np.array(idx, np.int64).reshape(1, 1, 2, 2)),
                        Out(x.shape, np.float32)]
    (got,) = run(build(POOL_BW, args([0, 0, -1, 15])))
    assert got[0, 0, 0, 0] == 2 and got[0, 0, 3, 3] == 1 and got.sum() == 3
    for bad in (16, -2):
        with pytest.raises(PtecError) as info:
            run(build(POOL_BW, args([0, 1, bad, 3])))
        assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE", str(info.value)


def test_gradients_under_asan(seed, tmp_path):
    # Contiguous inputs: a bundle stores its inputs in logical order.
    inputs, kw, terms = _conv_case(torch.float32)
    module = _ConvBackward(mask=[True, False, True], **kw)
    _asan_verify(tmp_path, "conv_bw", ptec.compile(module, inputs).buffer, inputs,
                 module(*inputs), tol=1e-4 * terms ** 0.5)
    inputs, args = _pool_case(torch.float32)
    module = _PoolBackward(*args)
    _asan_verify(tmp_path, "pool_bw", ptec.compile(module, inputs).buffer, inputs,
                 [module(*inputs)])


# ------------------------------------------------------------ rand / randn

RAND, RANDN, RANDOM = "aten::rand.out", "aten::randn.out", "ptec::random.out"
#: Probability that a correct generator fails one statistical check below.
FALSE_ALARM = 1e-7


def _ks_bound(n: int) -> float:
    """Dvoretzky-Kiefer-Wolfowitz (Massart's constant): for n i.i.d. draws,
    P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2), so this eps is exceeded with
    probability at most FALSE_ALARM, whatever n."""
    return float(np.sqrt(np.log(2 / FALSE_ALARM) / (2 * n)))


def _ks_distance(x: np.ndarray, cdf) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    n = x.size
    f = cdf(x)
    return float(max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max()))


def _uniform_cdf(x):
    return np.clip(x, 0.0, 1.0)


def _normal_cdf(x):
    from scipy.special import ndtr
    return ndtr(x)


#: Significand bits of each dtype: a uniform is k * 2^-bits, so its CDF is
#: within 2^-bits of the continuous one (and a normal's, rounded to the type,
#: within about that times the density's peak, less).
BITS = {torch.float32: 24, torch.float64: 53, torch.float16: 11, torch.bfloat16: 8}


def _check_distribution(x: torch.Tensor, normal: bool, dtype: torch.dtype):
    """KS distance to U[0, 1) or N(0, 1) within the DKW bound (plus the
    dtype's discreteness): a range of [0, 2) or a variance of 1.1 at these
    sizes exceeds it many times over."""
    assert x.dtype == dtype
    v = x.double().numpy().ravel()
    assert np.isfinite(v).all()
    if not normal:
        assert v.min() >= 0.0 and v.max() < 1.0, (v.min(), v.max())
    d = _ks_distance(v, _normal_cdf if normal else _uniform_cdf)
    bound = _ks_bound(v.size) + 2.0 ** -BITS[dtype]
    assert d < bound, f"KS distance {d:.4f} >= {bound:.4f} ({'normal' if normal else 'uniform'})"
    return v


def _corr_bound(n: int) -> float:
    """Pearson correlation of n independent pairs is about N(0, 1/n): 6 / sqrt(n)
    is exceeded with probability ~2e-9."""
    return 6.0 / np.sqrt(n)


class _Draws(torch.nn.Module):
    def __init__(self, n, dtype):
        super().__init__()
        self.n, self.dtype = n, dtype

    def forward(self, x):
        return (torch.rand(self.n, dtype=self.dtype), torch.randn(self.n, dtype=self.dtype),
                torch.rand(2, 3, 4, dtype=self.dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_rand_randn_distributions(seed, dtype):
    """torch.rand / torch.randn compiled: shapes and dtypes as eager's, values
    distributed as U[0, 1) and N(0, 1) (KS), a second execute draws new
    numbers, independent of the first and of the other call site."""
    n = 20000
    torch.manual_seed(seed)
    module = _Draws(n, dtype)
    zero = torch.zeros(n, dtype=dtype)
    program = ptec.compile(module, (zero,))
    ops = [i.operator for i in program.instructions]
    assert ops.count(RANDOM) == 3, ops
    runner = ptec.load(program.buffer)
    first, second = runner(zero), runner(zero)
    for got, want in zip(first, module(zero)):
        assert got.shape == want.shape and got.dtype == want.dtype
    u1 = _check_distribution(first[0], False, dtype)
    z1 = _check_distribution(first[1], True, dtype)
    u2 = _check_distribution(second[0], False, dtype)
    _check_distribution(second[1], True, dtype)
    for a, b in ((u1, u2), (u1, z1)):
        assert abs(np.corrcoef(a, b)[0, 1]) < _corr_bound(n)


def test_rand_same_seed_same_numbers(seed):
    """The seed is torch.initial_seed() at compile time (torch.manual_seed sets
    it): the same seed makes the same program and numbers; a new load
    restarts the sequence; another seed gives other numbers."""
    module, zero = _Draws(64, torch.float32), torch.zeros(64)
    torch.manual_seed(seed)
    a = ptec.compile(module, (zero,)).buffer
    torch.manual_seed(seed)
    b = ptec.compile(module, (zero,)).buffer
    torch.manual_seed(seed + 1)
    c = ptec.compile(module, (zero,)).buffer
    assert a == b and a != c
    r1, r2 = ptec.load(a), ptec.load(a)
    seq1 = [r1(zero) for _ in range(3)]
    seq2 = [r2(zero) for _ in range(3)]
    for s1, s2 in zip(seq1, seq2):
        assert all(torch.equal(x, y) for x, y in zip(s1, s2))
    assert not torch.equal(seq1[0][0], seq1[1][0])
    other = ptec.load(c)(zero)
    assert not torch.equal(other[0], seq1[0][0])


def test_rand_same_numbers_on_every_build(seed, tmp_path):
    """The integers are Philox's on any build: ptec-run built with clang under
    ASan + UBSan, the aarch64 build under qemu-aarch64 and the Cortex-M55
    firmware under qemu-system-arm give the host library's (gcc, x86-64)
    float32 numbers bit for bit, normals included."""
    torch.manual_seed(seed)
    module, zero = _Draws(500, torch.float32), torch.zeros(500)
    pte = ptec.compile(module, (zero,)).buffer
    want = ptec.load(pte)(zero)
    _asan_verify(tmp_path, "rand", pte, [zero], want, tol=0.0)
    from ptec.device import aarch64_ptec_run
    assert aarch64_ptec_run("aarch64").is_file(), "make build-aarch64"
    # Each call of a target runner is a fresh ptec-run process: a first execute.
    for got, ref in zip(ptec.load(pte, target="aarch64")(zero), want):
        assert torch.equal(got, ref)
    # Cortex-M55 under qemu-system-arm (newlib's libm): float32 bit for bit too.
    # (Measured: float64 normals there differ from glibc's in the last bit of a few
    # elements; float64 uniforms and float16 do not.)
    pte = ptec.compile(module, (zero,), target="cortex-m55").buffer
    for got, ref in zip(ptec.load(pte, target="cortex-m55")(zero), ptec.load(pte)(zero)):
        assert torch.equal(got, ref)


def test_aten_rand_randn_out(seed):
    """ExecuTorch's rand.out / randn.out (their programs carry no generator
    state): seeded per call (key 0; stream 0 for rand, 1 for randn), so each
    execute gives the same numbers; the values are U[0, 1) / N(0, 1) and
    rand's are independent of randn's; float32 and float64."""
    n = 20000
    for dtype, np_dtype in ((torch.float32, np.float32), (torch.float64, np.float64)):
        draws = []
        for op, normal in ((RAND, False), (RANDN, True)):
            program = build(op, [[n], Out((n,), np_dtype)])
            (x,) = run(program)
            (again,) = run(program)
            np.testing.assert_array_equal(x, again)
            draws.append(_check_distribution(torch.from_numpy(x), normal, dtype))
        assert abs(np.corrcoef(*draws)[0, 1]) < _corr_bound(n)
        assert abs(np.corrcoef(draws[0], np.abs(draws[1]))[0, 1]) < _corr_bound(n)


def test_rand_refusals():
    with pytest.raises(PtecError) as info:
        run(build(RAND, [[4], Out((4,), np.int32)]))
    assert info.value.status == "PTEC_STATUS_NOT_SUPPORTED", str(info.value)
    with pytest.raises(PtecError) as info:
        run(build(RANDN, [[5], Out((4,), np.float32)]))
    assert info.value.status == "PTEC_STATUS_SHAPE_MISMATCH", str(info.value)
    with pytest.raises(PtecError) as info:
        run(build(RANDOM, [Input(np.zeros(3, np.int64)), [4], True, Out((4,), np.float32)]))
    assert info.value.status == "PTEC_STATUS_SHAPE_MISMATCH", str(info.value)


# ------------------------------------------------------------ view_as_real_copy

VIEW_AS_REAL = "aten::view_as_real_copy.out"
PTEC_RUN = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))


def _complex(shape, dtype=torch.complex64):
    return torch.complex(torch.randn(shape), torch.randn(shape)).to(dtype)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "conjugate"])
def test_view_as_real_complex64_input(seed, layout):
    """A program taking a complex64 input through ptec.load: view_as_real,
    then float math on the pairs; equal to eager bit for bit (the same
    float32 mul and add). A conjugate view passes its values; a channels-last
    input keeps its dim order through the copy."""
    shape = [random.randint(1, 4) for _ in range(4 if layout == "channels_last" else
                                                  random.randint(0, 3))]
    x = _complex(shape)
    if layout == "channels_last":
        x = x.to(memory_format=torch.channels_last)
    module = _Fn(lambda t: torch.view_as_real(t) * 2.5 + 1)
    program = ptec.compile(module, (x,))
    assert VIEW_AS_REAL in [i.operator for i in program.instructions]
    if layout == "conjugate":  # eager's view_as_real refuses a conjugate view
        x = x.conj()
        want = module(x.resolve_conj())
    else:
        want = module(x)
    (got,) = ptec.load(program.buffer)(x)
    assert got.dtype == want.dtype == torch.float32 and got.shape == want.shape
    assert torch.equal(got, want)


@pytest.mark.parametrize("dtype", [torch.complex128, torch.complex32])
def test_view_as_real_other_complex_types(seed, dtype):
    """complex128 -> float64 and complex32 (ComplexHalf) -> float16, each
    part copied exactly."""
    x = _complex([random.randint(1, 5), random.randint(1, 5)], dtype)
    module = _Fn(torch.view_as_real)
    program = ptec.compile(module, (x,))
    (got,) = ptec.load(program.buffer)(x)
    want = torch.view_as_real(x)
    assert got.dtype == want.dtype and torch.equal(got, want)


def test_view_as_real_converts_and_refuses():
    """ExecuTorch's kernel writes any of float16/32/64 from any complex type
    (a static_cast): complex64 -> float16 rounds each part once. Not complex
    in, an integer out or a wrong shape: named statuses."""
    x = (np.random.randn(3, 2) + 1j * np.random.randn(3, 2)).astype(np.complex64)
    (got,) = run(build(VIEW_AS_REAL, [Input(x), Out((3, 2, 2), np.float16)]))
    want = np.stack([x.real, x.imag], axis=-1).astype(np.float16)
    np.testing.assert_array_equal(got, want)
    (got,) = run(build(VIEW_AS_REAL, [Input(x), Out((3, 2, 2), np.float64)]))
    np.testing.assert_array_equal(got, np.stack([x.real, x.imag], axis=-1).astype(np.float64))
    for args, status in [
        ([Input(x.real.copy()), Out((3, 2, 2), np.float32)], "PTEC_STATUS_TYPE_MISMATCH"),
        ([Input(x), Out((3, 2, 2), np.int32)], "PTEC_STATUS_NOT_SUPPORTED"),
        ([Input(x), Out((3, 2), np.float32)], "PTEC_STATUS_SHAPE_MISMATCH"),
    ]:
        with pytest.raises(PtecError) as info:
            run(build(VIEW_AS_REAL, args))
        assert info.value.status == status, str(info.value)


def test_view_as_real_in_ptec_run(seed, tmp_path):
    """ptec-run reads a complex64 .npy input (host build) and the program runs
    under ASan + UBSan (a bundle of eager's output)."""
    x = _complex([3, 5])
    module = _Fn(lambda t: torch.view_as_real(t) * 2.5 + 1)
    pte = ptec.compile(module, (x,)).buffer
    want = module(x)
    (tmp_path / "m.pte").write_bytes(pte)
    np.save(tmp_path / "x.npy", x.numpy())
    r = subprocess.run([PTEC_RUN, str(tmp_path / "m.pte"), "--input", str(tmp_path / "x.npy"),
                        "--output-dir", str(tmp_path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "output0.npy"), want.numpy())
    _asan_verify(tmp_path, "view_as_real", pte, [x], [want], tol=0.0)
