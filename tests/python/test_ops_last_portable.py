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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int32,
                                   torch.int64, torch.int8])
def test_device_copies_in_executorch_program(seed, dtype):
    """ExecuTorch's .pte with both copies runs in ptec and equals eager
    exactly (the copies move bytes; * 3 and - x are exact in these ranges)."""
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
