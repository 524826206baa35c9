"""Complex tensors in the portable kernels ExecuTorch runs them in (its
ET_SWITCH_COMPLEXH_TYPES branches): add, sub (with alpha) and mul on
complex32, complex64 and complex128, div on complex64 and complex128, with
broadcasting and any dim orders,
abs of complex64 / complex128, cat and layout copies, _conj_physical, bmm
and sum (within stated bounds) on all three, against PyTorch eager; random shapes from the
printed seed."""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.runtime import PtecError

from op_testing import Fn, check_module, operators
from program_builder import Input, Out, build, run

ROOT = Path(__file__).resolve().parents[2]
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))
OPS = {"add": (lambda a, b: a + b, "aten::add.out"),
       "sub_alpha": (lambda a, b: torch.sub(a, b, alpha=3), "aten::sub.out"),
       "add_alpha": (lambda a, b: torch.add(a, b, alpha=-0.5), "aten::add.out"),
       "mul": (lambda a, b: a * b, "aten::mul.out"),
       "div": (lambda a, b: a / b, "aten::div.out")}


def _cx(*shape, dtype=torch.complex64):
    return torch.randn(*shape, dtype=torch.complex64).to(dtype)


def _close(got, want, exact=True):
    """Bit for bit where PyTorch's CPU loop computes each part as c10::complex
    does (products and sums rounded to the part type, no fused multiply-add);
    `exact` False: PyTorch's vectorised complex64 multiply orders the
    products differently, and its vectorised divide scales differently from
    c10::complex's operator/ (ptec's), so a part may be a few ulps apart:
    rtol and atol 8 eps of the part type (parts of magnitude ~1; atol for
    parts that cancel)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    got, want = torch.view_as_real(got), torch.view_as_real(want.resolve_conj())
    if exact:
        assert torch.equal(got, want), (got - want).abs().max()
    else:
        eps = torch.finfo(got.dtype).eps
        torch.testing.assert_close(got, want, rtol=8 * eps, atol=8 * eps)


# Neither PyTorch's CPU nor ExecuTorch's div takes complex32 (ptec: NOT_SUPPORTED).
@pytest.mark.parametrize("dtype,name", [
    (dtype, name) for dtype in (torch.complex32, torch.complex64, torch.complex128)
    for name in sorted(OPS) if not (name == "div" and dtype == torch.complex32)])
def test_complex_binary(seed, dtype, name):
    """Broadcasting both ways (a [.., 1] against b's last dim, a missing
    leading dim); for complex64 a channels-last a and a conjugated b (ptec.load
    resolves the conjugate view)."""
    fn, op = OPS[name]
    c, h, w = random.randint(1, 4), random.randint(1, 5), random.randint(2, 6)
    a, b = _cx(2, c, h, 1, dtype=dtype), _cx(c, 1, w, dtype=dtype)
    if dtype == torch.complex64:
        a = _cx(2, c, h, w).to(memory_format=torch.channels_last)
        b = _cx(h, w).conj()
    program = ptec.compile(Fn(fn).eval(), (a, b))
    assert op in [i.operator for i in program.instructions]
    got = ptec.load(program.buffer)(a, b)
    exact = name != "div" and not (name == "mul" and dtype == torch.complex64)
    _close(got[0], fn(a, b), exact=exact)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_complex_abs(seed, dtype):
    """|z| into the part type (float32, float64), channels-last input, parts
    near 0 and huge (hypot: no overflow in re^2 + im^2). Tolerance 1 ulp:
    PyTorch's vectorised abs is sqrt(re^2 + im^2), its scalar loop hypot."""
    x = _cx(2, random.randint(1, 4), random.randint(2, 5), random.randint(2, 6), dtype=dtype)
    x = x.to(memory_format=torch.channels_last)
    x[0, 0, 0, 0] = complex(3e38 if dtype == torch.complex64 else 1e300, 4e37)
    x[0, 0, 0, 1] = complex(0.0, -2.5)
    program = ptec.compile(Fn(torch.abs).eval(), (x,))
    assert "aten::abs.out" in [i.operator for i in program.instructions]
    got, want = ptec.load(program.buffer)(x)[0], torch.abs(x)
    assert got.dtype == want.dtype and torch.isfinite(got).all()
    eps = torch.finfo(want.dtype).eps
    torch.testing.assert_close(got, want, rtol=eps, atol=0)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_complex_cat_and_layout_copy(seed, dtype):
    """cat along a random dim (ExecuTorch's cat takes complex) and a copy to
    channels-last (clone / _to_dim_order_copy): bytes moved, bit for bit."""
    a = _cx(2, random.randint(1, 3), 3, 4, dtype=dtype)
    b = _cx(2, random.randint(1, 3), 3, 4, dtype=dtype)
    dim = random.randint(0, 3)
    if dim != 1:
        b = _cx(*a.shape, dtype=dtype)
    fn = Fn(lambda x, y: (torch.cat([x, y], dim),
                          x.contiguous(memory_format=torch.channels_last)))
    program = ptec.compile(fn.eval(), (a, b))
    assert "aten::cat.out" in [i.operator for i in program.instructions]
    got = ptec.load(program.buffer)(a, b)
    for g, w in zip(got, fn(a, b)):
        _close(g, w)


@pytest.mark.parametrize("dtype", [torch.complex32, torch.complex64, torch.complex128])
def test_complex_conj_physical(seed, dtype):
    """_conj_physical on the three complex dtypes ExecuTorch's kernel takes:
    imaginary parts negated (signed zeros, inf and NaN kept), channels-last
    input, bit for bit with eager; a float32 input stays a copy."""
    x = _cx(2, random.randint(1, 4), random.randint(2, 5), random.randint(1, 6), dtype=dtype)
    x = x.to(memory_format=torch.channels_last)
    x[0, 0, 0, 0] = complex(-0.0, 0.0)
    x[0, 0, 1, 0] = complex(float("inf"), float("-inf"))
    fn = Fn(lambda t, f: (torch.ops.aten._conj_physical(t), torch.ops.aten._conj_physical(f)))
    f = torch.randn(3, 4)
    program = ptec.compile(fn.eval(), (x, f))
    assert [i.operator for i in program.instructions].count("aten::_conj_physical.out") == 2
    got = ptec.load(program.buffer)(x, f)
    want = fn(x, f)
    _close(got[0], want[0])
    assert torch.equal(torch.view_as_real(got[0])[..., 1].signbit(),
                       ~torch.view_as_real(x)[..., 1].signbit())
    assert torch.equal(got[1], f)


def _within(got, want, bound):
    """Each part of got within `bound` (a real tensor broadcast over want) of
    want's."""
    assert got.dtype == want.dtype and got.shape == want.shape
    err = (torch.view_as_real(got).double() - torch.view_as_real(want).double()).abs()
    assert (err <= bound.double().unsqueeze(-1)).all(), (err.max(), bound.min())


def _reference(dtype):
    """Eager has no CPU bmm / sum for complex32: its reference is complex128's
    result of the same values, rounded."""
    return torch.complex128 if dtype == torch.complex32 else dtype


@pytest.mark.parametrize("dtype", [torch.complex32, torch.complex64, torch.complex128])
def test_complex_bmm(seed, dtype):
    """bmm (ExecuTorch's takes ComplexHalf/Float/Double): ptec sums in double,
    PyTorch in its own blocked order, so each part is within K * eps *
    sum_k |a_ik| |b_kj| of eager's (eps of the part type; + half an ulp of the
    result for complex32's rounding)."""
    bsz, m, k, n = random.randint(1, 3), random.randint(1, 5), random.randint(1, 40), random.randint(1, 5)
    a, b = _cx(bsz, m, k, dtype=dtype), _cx(bsz, k, n, dtype=dtype)
    program = ptec.compile(Fn(torch.bmm).eval(), (a, b))
    assert "aten::bmm.out" in [i.operator for i in program.instructions]
    got = ptec.load(program.buffer)(a, b)[0]
    ref = _reference(dtype)
    want = torch.bmm(a.to(ref), b.to(ref)).to(dtype)
    eps = torch.finfo(torch.view_as_real(got).dtype).eps
    mag = torch.bmm(a.abs().double(), b.abs().double())
    _within(got, want, (k + 1) * eps * mag)


@pytest.mark.parametrize("dtype", [torch.complex32, torch.complex64, torch.complex128])
def test_complex_sum(seed, dtype):
    """sum.IntList_out over a random dim list, keepdim or not, channels-last
    input (ExecuTorch's sum takes ComplexHalf/Float/Double, out of the same
    dtype): within n * eps * sum|x| of eager (n the count summed)."""
    x = _cx(2, random.randint(1, 4), random.randint(1, 6), random.randint(1, 30), dtype=dtype)
    x = x.to(memory_format=torch.channels_last)
    dims = sorted(random.sample(range(4), random.randint(1, 3)))
    keep = random.random() < 0.5
    print("dims", dims, "keepdim", keep)
    fn = Fn(lambda t: torch.sum(t, dims, keepdim=keep))
    program = ptec.compile(fn.eval(), (x,))
    assert "aten::sum.IntList_out" in [i.operator for i in program.instructions]
    got = ptec.load(program.buffer)(x)[0]
    want = torch.sum(x.to(_reference(dtype)), dims, keepdim=keep).to(dtype)
    count = x.numel() // max(want.numel(), 1)
    eps = torch.finfo(torch.view_as_real(got).dtype).eps
    _within(got, want, (count + 1) * eps * torch.sum(x.abs().double(), dims, keepdim=keep))


def test_complex_in_a_model(seed):
    """Complex inputs through complex math, then view_as_real and float ops
    (as a rotary embedding's last steps): the kernels chain."""
    x, rot = _cx(3, 8), _cx(8)
    fn = Fn(lambda t, r: torch.view_as_real(t * r + t).relu())
    check_module(fn, (x, rot), expect_ops=["aten::mul.out", "aten::add.out"])


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_complex128_parts_to_half(seed, half):
    """complex128's parts (float64) to float16 / bfloat16 round through float
    as c10 does, bit for bit (were truncated to integers: float64 -> half went
    the integer path)."""
    x = _cx(3, 7, dtype=torch.complex128) * 100
    fn = Fn(lambda t: (t.real.to(half), t.imag.to(half)))
    program = ptec.compile(fn.eval(), (x,))
    for g, w in zip(ptec.load(program.buffer)(x), fn(x)):
        assert g.dtype == half and torch.equal(g, w), (g, w)


def _refuse(op, args):
    with pytest.raises(PtecError) as info:
        run(build(op, args))
    return info.value


def test_complex_refusals(seed):
    """Mixed dtypes (ExecuTorch refuses them too: bmm, sum's out too), out not
    the broadcast / bmm shape, complex operands of an op without a complex branch: named statuses."""
    a = np.random.randn(2, 3).astype(np.complex64)
    err = _refuse("aten::mul.out", [Input(a), Input(a.astype(np.complex128)),
                                    Out((2, 3), np.complex64)])
    assert err.status == "PTEC_STATUS_TYPE_MISMATCH" and "one dtype" in err.message, str(err)
    err = _refuse("aten::add.out", [Input(a), Input(a), 1, Out((2, 3), np.float32)])
    assert err.status == "PTEC_STATUS_TYPE_MISMATCH", str(err)
    err = _refuse("aten::mul.out", [Input(a), Input(a[:1]), Out((4, 2, 3), np.complex64)])
    assert err.status == "PTEC_STATUS_SHAPE_MISMATCH" and "broadcast" in err.message, str(err)
    err = _refuse("aten::mul.out", [Input(a), Input(a[:, :2]), Out((2, 3), np.complex64)])
    assert err.status == "PTEC_STATUS_SHAPE_MISMATCH", str(err)
    err = _refuse("aten::div.out", [Input(a), Input(a), Out((2, 3), np.complex128)])
    assert err.status == "PTEC_STATUS_TYPE_MISMATCH", str(err)
    # complex32 div: ExecuTorch's div refuses ComplexHalf (as PyTorch's CPU does).
    h = _cx(2, 3, dtype=torch.complex32)
    runner = ptec.load(ptec.compile(Fn(lambda x, y: x / y).eval(), (h, h)).buffer)
    with pytest.raises(PtecError) as info:
        runner(h, h)
    assert info.value.status == "PTEC_STATUS_NOT_SUPPORTED", str(info.value)
    assert "complex32" in info.value.message, str(info.value)
    err = _refuse("aten::_conj_physical.out", [Input(a), Out((2, 3), np.complex128)])
    assert err.status == "PTEC_STATUS_TYPE_MISMATCH", str(err)
    a3 = a.reshape(1, 2, 3)
    err = _refuse("aten::bmm.out", [Input(a3), Input(a3.reshape(1, 3, 2).astype(np.complex128)),
                                    Out((1, 2, 2), np.complex64)])
    assert err.status == "PTEC_STATUS_TYPE_MISMATCH", str(err)
    err = _refuse("aten::bmm.out", [Input(a3), Input(a3), Out((1, 2, 3), np.complex64)])
    assert err.status == "PTEC_STATUS_SHAPE_MISMATCH", str(err)
    err = _refuse("aten::sum.IntList_out", [Input(a), [1], False, None, Out((2,), np.float32)])
    assert err.status == "PTEC_STATUS_TYPE_MISMATCH", str(err)


@pytest.mark.parametrize("op, extra", [("add", [1]), ("sub", [1]), ("rsub", [1]), ("mul", []),
                                       ("div", []), ("div_mode", ["floor"])])
@pytest.mark.parametrize("scalar", [2.0, 3])
def test_complex_scalar_overloads_refused_saying_why(seed, op, extra, scalar):
    """ExecuTorch's add/sub/rsub/mul/div Scalar overloads switch over real types
    only, so a complex self is refused; the message names that (it was 'complex
    operands must all have one dtype' for add/sub, naming the Scalar float32,
    and 'input dtype complex64 not supported' for mul/div, which take complex64)."""
    a = np.random.randn(2, 3).astype(np.complex64)
    name = "aten::div.Scalar_mode_out" if op == "div_mode" else f"aten::{op}.Scalar_out"
    err = _refuse(name, [Input(a), scalar, *extra, Out((2, 3), np.complex64)])
    assert err.status == "PTEC_STATUS_NOT_SUPPORTED", str(err)
    assert ("a complex64 tensor with a Scalar is refused: ExecuTorch's Scalar overloads "
            "take real dtypes only") in err.message, str(err)
    assert name in err.message, str(err)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_complex_with_python_numbers_equals_eager(seed, dtype):
    """`z + 2.0`, `z * 3`, `1.5 - z`, `z / 2`, `z - 1` on a complex tensor compile and
    equal eager: the compiler wraps each number as a 0-d tensor of z's complex dtype
    and keeps the Tensor overloads (ExecuTorch's Scalar overloads take real dtypes
    only: `z + 2.0` used to compile and then be refused when the program ran)."""
    z = _cx(2, 3, dtype=dtype)
    fn = Fn(lambda z: (z + 2.0, z * 3, 1.5 - z, z / 2, z - 1, torch.add(z, 2, alpha=3)))
    want = fn(z)
    program = ptec.compile(fn.eval(), (z,))
    called = operators(program)
    got = ptec.load(program.buffer)(z)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == dtype, (k, g.dtype)
        _close(g, w, exact=False)
    assert not any(".Scalar" in name for name in called), called


def _verify(path, *extra):
    """ptec-run (ASan + UBSan) --verify on a bundle: (exit code, max error)."""
    r = subprocess.run([PTEC_RUN_ASAN, str(path), "--verify", *extra],
                       capture_output=True, text=True, timeout=300)
    assert "max error" in r.stdout, f"{r.stdout}\n{r.stderr}"
    return r.returncode, float(r.stdout.split("max error ")[1].split()[0]), r.stdout


def test_complex_under_asan(seed, tmp_path):
    """add, sub, mul, div (broadcasting), abs, cat, a channels-last copy,
    _conj_physical, sum and bmm on complex64 and complex128 under ASan + UBSan (ptec-run
    --verify on a bundle of eager's outputs, complex outputs compared part by
    part, a bfloat16 output as bfloat16 values: the max error printed is
    finite, was inf for both dtypes)."""
    for k, dtype in enumerate((torch.complex64, torch.complex128)):
        a, b = _cx(2, 3, 1, 4, dtype=dtype), _cx(5, 1, dtype=dtype)
        fn = Fn(lambda x, y: (x + y, torch.sub(x, y, alpha=2), x * y, x / y,
                              torch.cat([x, x], 1),
                              x.contiguous(memory_format=torch.channels_last),
                              torch.ops.aten._conj_physical(x), x.abs(),
                              x.real.to(torch.bfloat16) * 3, torch.sum(x, [1, 3]),
                              torch.bmm(x.reshape(2, 3, 4), x.reshape(2, 4, 3))))
        want = list(fn(a, b))
        buffer = ptec.compile(fn.eval(), (a, b)).buffer
        path = tmp_path / f"complex_{k}.bpte"
        ptec.bundle(buffer, [([a, b], want)], path=path)
        code, err, out = _verify(path, "--rtol", "1e-6", "--atol", "1e-6")
        assert code == 0 and "1 of 1 cases passed" in out and err < 1e-5, f"{dtype}:\n{out}"
        # A wrong imaginary part (conj's expected left unconjugated) fails, by 2|im|.
        want[6] = a.clone()
        ptec.bundle(buffer, [([a, b], want)], path=path)
        code, err, out = _verify(path)
        assert code == 3 and "(output 6): FAIL" in out, out
        want_err = 2 * a.imag.abs().max().item()
        assert abs(err - want_err) <= 1e-6 * want_err, (err, want_err)
