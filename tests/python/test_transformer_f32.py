"""The float transformer on x86-64 (issue 12): the small-B register tiles of
runtime/src/kernels/x86/matmul_f32_avx512.c (B's rows contiguous and B <= 32768 floats:
tiles of up to 8 rows of C by 32 columns, every sum in a register over k = 0..K-1), which
the transformer example's projections (16 x 64 @ 64 x 192, ...) and attention's bmm take.

Random shapes from the printed seed, sized to cross the tiles' edges (8 rows, 16 and 32
columns, one column, B at the size limit), as mm, addmm (alpha and beta 1, and not: the
per-element epilogue), linear (bias broadcast over rows) and bmm (both operands inputs),
compiled for "x86-64-avx512" and run through ptec-run (PTEC_RUN) and (the fixed shapes and
one drawn) the ASan/UBSan build (PTEC_RUN_ASAN). Checks, per case:
- within rtol 1e-5 + atol 1e-5 * sqrt(K) of PyTorch in float64 (test_llm_matmul's bound);
- within twice that of the reference twin: the same program through the reference-only
  build (build/host-ref, -DPTEC_ISA_KERNELS=OFF: op_matmul.c's loops);
- the ASan/UBSan build (clang) within the same bound (no out-of-bounds read or write);
- each row equal bit for bit to the same row computed alone (a 1-row program: the row
  kernel, the same FMA chain per element), so the tiles agree with the other paths.
The transformer example compiled for "x86-64-avx512" equals eager within 1e-4.
On CPUs without AVX-512 the AVX2 or reference kernels run; the checks still hold.
"""
from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import ptec
from test_llm_quant import _reference_runner
from test_x86_kernels import _run_cli

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run"))
ASAN_RUN = Path(os.environ.get("PTEC_RUN_ASAN", ROOT / "build" / "asan" / "ptec-run"))
TARGET = "x86-64-avx512"


class _Op(nn.Module):
    """One matmul: kind in mm / addmm / addmm_ab / addmm_col / linear (B a constant) or bmm
    (inputs). addmm_col's bias is [M, 1], broadcast along each row (D's column stride 0)."""

    def __init__(self, kind: str, m: int, k: int, n: int):
        super().__init__()
        self.kind = kind
        self.register_buffer("b", torch.randn(k, n))
        bias = {"addmm_ab": (1, n), "addmm_col": (m, 1)}.get(kind, (n,))
        self.register_buffer("bias", torch.randn(*bias))
        self.register_buffer("w", torch.randn(n, k))

    def forward(self, a, b=None):
        if self.kind == "mm":
            return a @ self.b
        if self.kind in ("addmm", "addmm_col"):
            return torch.addmm(self.bias, a, self.b)
        if self.kind == "addmm_ab":
            return torch.addmm(self.bias, a, self.b, beta=0.5, alpha=2.0)
        if self.kind == "linear":
            return nn.functional.linear(a, self.w, self.bias)
        return torch.bmm(a, b)


def _inputs(kind: str, m: int, k: int, n: int, batch: int):
    if kind == "bmm":
        return (torch.randn(batch, m, k), torch.randn(batch, k, n))
    return (torch.randn(m, k),)


def _shapes(rng: random.Random):
    yield "linear", 16, 64, 192, 1     # the transformer's QKV projection
    yield "bmm", 16, 16, 16, 4         # its attention scores
    yield "addmm", 9, 128, 256, 1      # B at the size limit (32768 floats)
    for kind in rng.sample(["mm", "addmm", "addmm_ab", "addmm_col", "linear", "bmm"], 4):
        m = rng.choice([4, 5, 7, 8, 9, 15, 16, 17, 23])
        k = rng.choice([1, 3, 16, 17, 64, rng.randrange(2, 200)])
        n = rng.choice([1, 15, 16, 17, 31, 32, 33, rng.randrange(2, 160)])
        yield kind, m, k, n, rng.choice([1, 3])


def test_small_b_tiles_random(seed, tmp_path):
    rng = random.Random(seed)
    ref_run = _reference_runner()
    for case, (kind, m, k, n, batch) in enumerate(_shapes(rng)):
        what = f"case {case}: {kind} {m}x{k} @ {k}x{n} batch {batch} (seed {seed})"
        module = _Op(kind, m, k, n).eval()
        inputs = _inputs(kind, m, k, n, batch)
        with torch.no_grad():
            want = _Op(kind, m, k, n).double()
            want.load_state_dict({key: v.double() for key, v in module.state_dict().items()})
            want = want(*(x.double() for x in inputs)).numpy()
        program = ptec.compile(module, inputs, target=TARGET).buffer
        (got,) = _run_cli(RUN, program, inputs, tmp_path / f"{case}-host")
        # ASan on the fixed shapes and one drawn (its runs are the slow part).
        asan = _run_cli(ASAN_RUN, program, inputs, tmp_path / f"{case}-asan")[0] \
            if case < 4 else got
        (ref,) = _run_cli(ref_run, program, inputs, tmp_path / f"{case}-ref")
        bound = 1e-5 * np.abs(want) + 1e-5 * math.sqrt(k)
        for out, limit, name in ((got, bound, "PyTorch in float64"),
                                 (ref, bound, "PyTorch in float64 (reference build)"),
                                 (asan, bound, "PyTorch in float64 (ASan build)")):
            err = np.abs(out.astype(np.float64) - want)
            assert not (err > limit).any(), f"{what}: {name}: max error {err.max():.3g}"
        err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        assert not (err > 2 * bound).any(), f"{what}: reference build: max error {err.max():.3g}"
        # A row alone runs the row kernel (fewer than four rows): the same chain, same bits.
        # (addmm_col's [M, 1] bias does not broadcast to one row.)
        if kind == "addmm_col":
            continue
        row = rng.randrange(m)
        alone_in = tuple(x[..., row:row + 1, :] if j == 0 else x for j, x in enumerate(inputs))
        alone = ptec.compile(module, alone_in, target=TARGET).buffer
        (one,) = _run_cli(RUN, alone, alone_in, tmp_path / f"{case}-row")
        assert np.array_equal(one.view(np.uint32), got[..., row:row + 1, :].view(np.uint32)), \
            f"{what}: row {row} alone differs from the row in the product"


def test_transformer_example_equals_eager(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    from models import transformer

    model, inputs = transformer()
    with torch.no_grad():
        want = model(*inputs).numpy()
    program = ptec.compile(model, inputs, target=TARGET).buffer
    for run, tag in ((RUN, "host"), (ASAN_RUN, "asan")):
        (got,) = _run_cli(run, program, inputs, tmp_path / tag)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=tag)


# ------------------------------------------------------- safe softmax (SDPA's), fused

class _Attention(nn.Module):
    """scaled_dot_product_attention with no mask: its math path exports _softmax and the
    six calls that zero all -inf rows (python/ptec/passes/safe_softmax.py)."""

    def forward(self, q, k, v):
        return nn.functional.scaled_dot_product_attention(q, k, v)


class _Scores(nn.Module):
    """The safe softmax alone, over the scores given as the input."""

    def forward(self, s):
        return torch.ops.aten._safe_softmax.default(s, -1)


def _ops(program) -> list[str]:
    return [op.name for op in program.program.execution_plan[0].operators]


def _equal_to_eager_bit_for_bit(program, module, x, ref_run, out_dir, what: str) -> None:
    """`program` on the host and the reference build equals `module(x)` bit for bit."""
    want = module(x).contiguous().numpy()
    for run, tag in ((RUN, "host"), (ref_run, "ref")):
        (got,) = _run_cli(run, program.buffer, (x,), Path(f"{out_dir}-{tag}"))
        assert got.shape == want.shape and np.array_equal(got, want), \
            f"{what}: {tag} differs from eager"


def test_safe_softmax_fused_random(seed, tmp_path):
    """Scores with all -inf rows, rows with some -inf, a NaN row and +inf values (seeded):
    the fused program ("x86-64-avx512", one ptec::safe_softmax call) equals the unfused
    one ("host": _softmax, eq, logical_not, any, logical_not, full_like, where) bit for
    bit, and eager within 1e-6; the reference build within 1e-6 of eager; ASan too."""
    rng = random.Random(seed)
    ref_run = _reference_runner()
    for case in range(4):
        shape = (rng.randrange(1, 4), rng.randrange(1, 6), rng.choice([1, 5, 16, 17, 33]))
        s = torch.randn(*shape) * rng.choice([1.0, 30.0])
        flat = s.view(-1, shape[-1])
        for _ in range(rng.randrange(1, 4)):  # whole rows of -inf: zeros
            flat[rng.randrange(flat.shape[0])] = -math.inf
        flat[rng.randrange(flat.shape[0]), rng.randrange(shape[-1])] = -math.inf
        if case == 1:
            flat[rng.randrange(flat.shape[0]), rng.randrange(shape[-1])] = math.nan
        if case == 2:
            flat[rng.randrange(flat.shape[0]), rng.randrange(shape[-1])] = math.inf
        what = f"case {case}: {shape} (seed {seed})"
        want = _Scores()(s).numpy()
        fused = ptec.compile(_Scores(), (s,), target=TARGET)
        plain = ptec.compile(_Scores(), (s,))
        assert "ptec::safe_softmax" in _ops(fused) and "aten::where" not in _ops(fused), what
        assert "aten::where" in _ops(plain), what
        (got,) = _run_cli(RUN, fused.buffer, (s,), tmp_path / f"{case}-fused")
        (unfused,) = _run_cli(RUN, plain.buffer, (s,), tmp_path / f"{case}-plain")
        (ref,) = _run_cli(ref_run, fused.buffer, (s,), tmp_path / f"{case}-ref")
        (asan,) = _run_cli(ASAN_RUN, fused.buffer, (s,), tmp_path / f"{case}-asan")
        assert np.array_equal(got.view(np.uint32), unfused.view(np.uint32)), \
            f"{what}: fused and unfused differ"
        for out, name in ((got, "host"), (ref, "reference build"), (asan, "ASan build")):
            np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6,
                                       err_msg=f"{what}: {name} vs eager")


def test_attention_fused_equals_eager(seed, tmp_path):
    torch.manual_seed(seed)
    q, k, v = (torch.randn(1, 4, 16, 16) for _ in range(3))
    fused = ptec.compile(_Attention().eval(), (q, k, v), target=TARGET)
    assert "ptec::safe_softmax" in _ops(fused)
    (got,) = _run_cli(RUN, fused.buffer, (q, k, v), tmp_path / "fused")
    with torch.no_grad():
        want = _Attention()(q, k, v).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------- permute chains, folded

class _Permutes(nn.Module):
    """x + 1, then permutes in a row (each a permute_copy), then * 2 unless `last`."""

    def __init__(self, perms, last: bool):
        super().__init__()
        self.perms, self.last = perms, last

    def forward(self, x):
        y = x + 1.0
        for p in self.perms:
            y = y.permute(*p)
        return y if self.last else y * 2.0


def test_permute_chains_fold_random(seed, tmp_path):
    """Random chains of 2-3 permutes (some cancelling, some ending the program): one
    permute_copy or none in the "x86-64-avx512" program (python/ptec/passes/fold_permutes.py),
    its output equal to eager bit for bit (copies move values unchanged)."""
    rng = random.Random(seed)
    for case in range(4):
        rank = rng.randrange(2, 5)
        shape = [rng.randrange(1, 5) for _ in range(rank)]
        perms = [rng.sample(range(rank), rank) for _ in range(rng.randrange(2, 4))]
        if case == 0:  # the head merge of nn.MultiheadAttention: the first two cancel
            shape, perms = [4, 3, 2, 5], [[2, 0, 1, 3], [1, 2, 0, 3], [2, 0, 1, 3]]
        if case == 1:  # cancelling completely
            perms = [perms[0], [perms[0].index(d) for d in range(rank)]]
        last = case == 2
        x = torch.randn(*shape)
        module = _Permutes(perms, last)
        program = ptec.compile(module, (x,), target=TARGET)
        permutes = _ops(program).count("aten::permute_copy")
        assert permutes <= 1, f"case {case} {perms} (seed {seed}): {permutes} permute_copy left"
        (got,) = _run_cli(RUN, program.buffer, (x,), tmp_path / f"{case}")
        want = module(x).contiguous().numpy()
        assert got.shape == want.shape and np.array_equal(got, want), \
            f"case {case} {shape} {perms} (seed {seed}): differs from eager"


# ------------------------------------------------------- reshape chains, folded

class _Reshapes(nn.Module):
    """x + 1, then reshapes in a row (view / unsqueeze / squeeze / a permute moving only
    size-1 dims: each a copy), then * 2 unless `last`."""

    def __init__(self, steps, last: bool):
        super().__init__()
        self.steps, self.last = steps, last

    def forward(self, x):
        y = x + 1.0
        for kind, arg in self.steps:
            y = y.view(*arg) if kind == "view" else y.permute(*arg) if kind == "permute" \
                else y.unsqueeze(arg) if kind == "unsqueeze" else y.squeeze(arg)
        return y if self.last else y * 2.0


def test_reshape_chains_fold_random(seed, tmp_path):
    """Random chains of 2-4 reshapes (some back to the input's shape, some ending the
    program): at most one reshape copy in the "x86-64-avx512" program
    (python/ptec/passes/fold_reshapes.py), none when the chain cancels inside the graph;
    the output equal to eager bit for bit, on the host and the reference build."""
    rng = random.Random(seed)
    ref_run = _reference_runner()
    reshape_ops = ("aten::view_copy", "aten::unsqueeze_copy", "aten::squeeze_copy",
                   "aten::permute_copy")
    for case in range(4):
        shape = [rng.choice([1, 2, 3, 4]) for _ in range(rng.randrange(2, 4))]
        steps, now = [], list(shape)
        for _ in range(rng.randrange(2, 5)):
            kind = rng.choice(["view", "unsqueeze", "squeeze", "permute"])
            if kind == "permute" and 1 in now and len(now) > 1:  # a unit dim moved
                dims = list(range(len(now)))
                dims.insert(rng.randrange(len(now)), dims.pop(now.index(1)))
                steps.append((kind, dims))
                now = [now[d] for d in dims]
            elif kind == "unsqueeze":
                dim = rng.randrange(len(now) + 1)
                steps.append((kind, dim))
                now.insert(dim, 1)
            elif kind == "squeeze" and 1 in now:
                dim = now.index(1)
                steps.append((kind, dim))
                now.pop(dim)
            else:  # a view: the flattened elements, or the dims in another grouping
                new = [math.prod(now)] if rng.random() < 0.5 else [1, *now]
                steps.append(("view", new))
                now = new
        cancels = case == 1
        if cancels:
            steps.append(("view", list(shape)))
        last = case == 2
        x = torch.randn(*shape)
        module = _Reshapes(steps, last)
        program = ptec.compile(module, (x,), target=TARGET)
        left = sum(_ops(program).count(op) for op in reshape_ops)
        what = f"case {case} {shape} {steps} (seed {seed})"
        assert left <= (0 if cancels else 1), f"{what}: {left} reshape copies left"
        _equal_to_eager_bit_for_bit(program, module, x, ref_run, tmp_path / str(case), what)


class _PermuteReshapePermute(nn.Module):
    """x + 1, permute p1, a reshape to `mid` (size-1 dims added or dropped), permute p2,
    then * 2 unless `last`: the transformer's K (head split, view, K^T)."""

    def __init__(self, p1, mid, p2, last: bool):
        super().__init__()
        self.p1, self.mid, self.p2, self.last = p1, mid, p2, last

    def forward(self, x):
        y = (x + 1.0).permute(*self.p1).reshape(*self.mid).permute(*self.p2)
        return y if self.last else y * 2.0


def test_permute_through_unit_reshape_random(seed, tmp_path):
    """permute, reshape adding/dropping size-1 dims, permute (random dims and shapes with
    unit dims): one permute_copy (plus at most one view_copy) in the "x86-64-avx512"
    program (python/ptec/passes/fold_permutes.py), equal to eager bit for bit on the host
    and the reference build."""
    rng = random.Random(seed)
    ref_run = _reference_runner()
    for case in range(4):
        shape = [rng.choice([1, 2, 3, 5]) for _ in range(rng.randrange(2, 5))]
        p1 = rng.sample(range(len(shape)), len(shape))
        if case == 0:  # the transformer's K: [16, 4, 16] -> heads first -> [1, ...] -> K^T
            shape, p1, mid, p2 = [16, 4, 16], [1, 0, 2], [1, 4, 16, 16], [0, 1, 3, 2]
        else:
            mid = [n for n in (shape[d] for d in p1) if n != 1]
            for _ in range(rng.randrange(0, 3)):
                mid.insert(rng.randrange(len(mid) + 1), 1)
            if not mid:
                mid = [1]
            p2 = rng.sample(range(len(mid)), len(mid))
        last = case == 3
        x = torch.randn(*shape)
        module = _PermuteReshapePermute(p1, mid, p2, last)
        program = ptec.compile(module, (x,), target=TARGET)
        ops = _ops(program)
        what = f"case {case} {shape} {p1} {mid} {p2} (seed {seed})"
        assert ops.count("aten::permute_copy") <= 1 and ops.count("aten::view_copy") <= 1, \
            f"{what}: {ops}"
        _equal_to_eager_bit_for_bit(program, module, x, ref_run, tmp_path / str(case), what)


class _AroundOp(nn.Module):
    """x + 1, a reshape to `mid`, one op (mul by a scalar, gelu, softmax over the last
    dim), the reshape back, then * 2: the transformer's q/k scaling, gelu and softmax."""

    def __init__(self, mid, op: str):
        super().__init__()
        self.mid, self.op = mid, op

    def forward(self, x):
        y = (x + 1.0).reshape(*self.mid)
        y = y * 0.25 if self.op == "mul" else nn.functional.gelu(y) if self.op == "gelu" \
            else torch.softmax(y, -1)
        return y.reshape(x.shape) * 2.0


def test_reshapes_around_op_fold_random(seed, tmp_path):
    """reshape, elementwise op or last-dim softmax, reshape back (random shapes; the mid
    shape keeps the last dim for softmax): no view_copy left in the "x86-64-avx512"
    program (python/ptec/passes/fold_reshapes.py), the op on the input's shape equal to
    eager within 1e-6 on the host and the reference build; a softmax whose reshape
    changes the last dim keeps its copies (as many as without the pass)."""
    rng = random.Random(seed)
    ref_run = _reference_runner()
    for case, op in enumerate(["mul", "gelu", "softmax", "softmax"]):
        rows, last = rng.choice([1, 3, 4, 6]), rng.choice([2, 5, 16])
        shape = [rows, last]
        mid = [1, rows, last] if rng.random() < 0.5 else [1, rows, 1, last]
        changes_last = case == 3
        if changes_last:
            mid = [rows * last]
        x = torch.randn(*shape)
        module = _AroundOp(mid, op)
        program = ptec.compile(module, (x,), target=TARGET)
        views = _ops(program).count("aten::view_copy")
        what = f"case {case} {op} {shape} -> {mid} (seed {seed})"
        # Changing the last dim: as many copies as the host's program, which lacks the pass.
        host = _ops(ptec.compile(module, (x,))).count("aten::view_copy") if changes_last else 0
        assert views == host and (host > 0) == changes_last, f"{what}: {_ops(program)}"
        with torch.no_grad():
            want = module(x).numpy()
        for run, tag in ((RUN, "host"), (ref_run, "ref")):
            (got,) = _run_cli(run, program.buffer, (x,), tmp_path / f"{case}-{tag}")
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"{what}: {tag}")
