"""Bounded dynamic shapes: nonzero and masked_select, whose output size depends
on the data (docs/runtime.md, "Dynamic-bound shapes").

The compiler plans their results (and what is computed from them) at the
upper bound torch.export gives the size symbol and writes them DYNAMIC_BOUND;
the kernels set the actual shape at run time and the consumers follow. Each
program is compiled once and run on several inputs of the compiled shape:
all-false, all-true and random densities, equal to PyTorch eager."""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.errors import CompileError
from ptec.pte import schema as pte
from ptec.runtime import PtecError

ROOT = Path(__file__).resolve().parents[2]
PTEC_RUN = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))

#: The dtypes ExecuTorch's portable nonzero / masked_select take (real, half, bool).
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8, torch.int8,
          torch.int16, torch.int32, torch.int64, torch.bool]


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _values(shape, dtype, density):
    """A tensor of `shape` whose elements are non-zero with probability `density`
    (non-zero values of either sign, some tiny, so no dtype rounds them to 0)."""
    keep = torch.rand(shape) < density
    if dtype == torch.bool:
        return keep
    if dtype.is_floating_point:
        mag = torch.rand(shape) * 4 + 0.25
        v = torch.where(torch.rand(shape) < 0.5, -mag, mag)
    else:
        lo = 0 if dtype == torch.uint8 else -100
        v = torch.randint(lo, 100, shape)
        v = torch.where(v == 0, torch.ones_like(v), v)
    return torch.where(keep, v, torch.zeros_like(v)).to(dtype)


def _densities():
    return [0.0, 1.0, random.random(), random.random()]


def _check(got, want, what, exact=True):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want), what
    for k, (g, w) in enumerate(zip(got, want)):
        w = torch.as_tensor(w)
        assert g.shape == w.shape, f"{what} output {k}: shape {tuple(g.shape)} != {tuple(w.shape)}"
        assert g.dtype == w.dtype, f"{what} output {k}: dtype {g.dtype} != {w.dtype}"
        if exact or not w.dtype.is_floating_point:
            assert torch.equal(g, w) or (g.isnan().any() and torch.allclose(
                g, w, equal_nan=True, rtol=0, atol=0)), f"{what} output {k}: {g} != {w}"
        else:
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5, equal_nan=True,
                                       msg=lambda m: f"{what} output {k}: {m}")


def _compile_and_run(module, example, runs, exact=True):
    """Compiles on `example`, then runs every input tuple of `runs` against eager."""
    program = ptec.compile(module, example)
    runner = ptec.load(program.buffer)
    for inputs in runs:
        with torch.no_grad():
            want = module(*inputs)
        _check(runner(*inputs), want, f"inputs {[tuple(t.shape) for t in inputs]}", exact)
    return program


def _random_shape(max_rank=4):
    return tuple(random.randint(1, 5) for _ in range(random.randint(1, max_rank)))


def test_nonzero_scalar_and_empty(seed):
    """A 0-d input ([n, 0] out) and an input with a zero-size dim ([0, rank])."""
    _compile_and_run(Fn(torch.nonzero), (torch.tensor(2.0),),
                     [(torch.tensor(0.0),), (torch.tensor(-3.0),)])
    _compile_and_run(Fn(torch.nonzero), (torch.ones(3, 0),), [(torch.ones(3, 0),)])


def test_nonzero_channels_last_input(seed):
    """Indices are logical (row-major over sizes), whatever the input's memory order."""
    x = _values((2, 3, 4, 5), torch.float32, 0.4).to(memory_format=torch.channels_last)
    runs = [(_values((2, 3, 4, 5), torch.float32, d).to(memory_format=torch.channels_last),)
            for d in _densities()]
    _compile_and_run(Fn(torch.nonzero), (x,), runs)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_nonzero_and_masked_select_outputs(seed, dtype):
    """nonzero ([n, rank] int64, n from 0 to numel) and masked_select as the program's
    outputs, self and mask broadcast against each other; one program per dtype."""
    shape = _random_shape(3)
    # The mask's shape: self's, a broadcastable one (size-1 dims), or wider than self.
    kind = random.choice(["same", "mask_broadcasts", "self_broadcasts"])
    mshape = list(shape)
    sshape = list(shape)
    if kind == "mask_broadcasts":
        mshape = [1 if random.random() < 0.5 else s for s in shape][random.randint(0, 1):]
    elif kind == "self_broadcasts":
        sshape = [1 if random.random() < 0.5 else s for s in shape]
    print(f"self {sshape}, mask {mshape}")
    runs = [(_values(tuple(sshape), dtype, d), _values(tuple(mshape), torch.bool, e))
            for d, e in zip(_densities(), reversed(_densities()))]
    runs.append((_values(tuple(sshape), dtype, 0.5), runs[2][1]))
    program = _compile_and_run(Fn(lambda x, m: (torch.nonzero(x), torch.masked_select(x, m))),
                               runs[2], runs)
    ops = [i.operator for i in program.instructions]
    assert "aten::nonzero.out" in ops and "aten::masked_select.out" in ops, ops


def test_consumers_elementwise_copies_reductions(seed):
    """A dynamic result through unary, binary (with a scalar, with itself, with a
    static tensor broadcast), where, a dtype conversion, clone, sum and mean."""
    def fn(x, m, w):
        s = torch.masked_select(x, m)
        a = torch.abs(s) + 1.5
        b = torch.where(s > 0, s * s, -s)
        c = (s - 0.25).to(torch.float64)
        d = (s * 3).to(torch.int32)
        e = s.unsqueeze(1) * w           # [n, 4] from [n, 1] * [4]
        return a, b, c, d, e.clone(), s.sum(), a.mean(), torch.exp(s).sum()
    shape = _random_shape(3)
    x, w = torch.randn(shape), torch.randn(4)
    runs = [(x, _values(shape, torch.bool, d), w) for d in _densities()]
    _compile_and_run(Fn(fn), runs[2], runs, exact=False)


def test_index_with_nonzero(seed):
    """x[mask], x[nonzero(m, as_tuple=True)], a mask over leading dims, and
    index_select by a nonzero column, then elementwise and sum."""
    def fn(x, m, v):
        cols = torch.nonzero(m, as_tuple=True)
        rows = torch.nonzero(v, as_tuple=True)[0]
        return (x[m], x[cols] + 1, x[m].sum(), x[m[:, :, 0]] * 2,
                torch.index_select(x, 0, rows), rows)
    shape = (random.randint(1, 5), random.randint(1, 5), random.randint(1, 4))
    x = torch.randn(shape)
    runs = [(x, _values(shape, torch.bool, d), _values(shape[:1], torch.int32, d))
            for d in _densities()]
    _compile_and_run(Fn(fn), runs[2], runs, exact=False)


def test_mask_computed_in_the_program(seed):
    """The usual form: a mask from a comparison of the input itself."""
    x = torch.randn(4, 6)
    runs = [(x,), (torch.full((4, 6), -1.0),), (torch.full((4, 6), 2.0),), (torch.randn(4, 6),)]
    _compile_and_run(Fn(lambda t: (t[t > 0.5], torch.nonzero(t < 0), t[t > 0].sum())), (x,),
                     runs, exact=False)


@pytest.mark.parametrize("fn, name", [
    (lambda x: torch.masked_select(x, x > 0).cumsum(0), "cumsum"),
    (lambda x: torch.nonzero(x).float().softmax(0), "_softmax"),
    (lambda x: x[x > 0].view(-1, 1), "view"),
], ids=["cumsum", "softmax", "view"])
def test_consumer_without_dynamic_support_is_refused(fn, name):
    """An operator whose kernel does not follow a dynamic input is refused at compile
    time, named, never run on the wrong shape."""
    with pytest.raises(CompileError) as info:
        ptec.compile(Fn(fn), (torch.randn(3, 4),))
    assert name in str(info.value) and "data-dependent" in str(info.value), str(info.value)


def _nonzero_program():
    return ptec.compile(Fn(torch.nonzero), (torch.randn(3, 4),))


def _dynamic_tensors(program):
    plan = program.program.execution_plan[0]
    return [v.val for v in plan.values if isinstance(v.val, pte.Tensor)
            and v.val.shape_dynamism == pte.TensorShapeDynamism.DYNAMIC_BOUND]


def test_pte_holds_the_upper_bound():
    """The .pte's tensor is DYNAMIC_BOUND with its bound sizes, as ExecuTorch writes it."""
    program = _nonzero_program()
    [t] = _dynamic_tensors(program)
    assert list(t.sizes) == [12, 2] and t.allocation_info is not None


def test_bound_past_planned_memory_is_refused():
    """A malformed file whose dynamic tensor claims a bound its planned memory
    cannot hold is refused at load, named."""
    program = _nonzero_program()
    [t] = _dynamic_tensors(program)
    t.sizes = [4096, 2]
    program.__dict__.pop("buffer", None)
    with pytest.raises(PtecError) as info:
        ptec.load(program.buffer)(torch.randn(3, 4))
    assert info.value.status == "PTEC_STATUS_BAD_MEMORY_PLAN", str(info.value)
    assert "outside planned buffer" in info.value.message


def test_result_past_the_bound_fails_cleanly(tmp_path):
    """A file whose bound is smaller than the data needs (a bound of 3 rows for 12
    non-zeros): the kernel fails with OUT_OF_RANGE before writing, in ptec and under
    ASan in ptec-run."""
    program = _nonzero_program()
    [t] = _dynamic_tensors(program)
    t.sizes = [3, 2]
    program.__dict__.pop("buffer", None)
    runner = ptec.load(program.buffer)
    with pytest.raises(PtecError) as info:
        runner(torch.ones(3, 4))
    assert info.value.status == "PTEC_STATUS_OUT_OF_RANGE", str(info.value)
    assert "dynamic bound" in info.value.message
    _check(runner(torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 2], [0] * 4])),
           torch.nonzero(torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 2], [0] * 4])), "within bound")
    path = tmp_path / "small_bound.pte"
    path.write_bytes(program.buffer)
    np.save(tmp_path / "x.npy", np.ones((3, 4), np.float32))
    r = subprocess.run([PTEC_RUN_ASAN, str(path), "--input", str(tmp_path / "x.npy"),
                        "--output-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 2 and "dynamic bound" in r.stderr, r.stderr
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr


def _outputs_and_consumers(x, m):
    s = torch.masked_select(x, m)
    rows = torch.nonzero(m[:, 0], as_tuple=True)[0]
    return (torch.nonzero(m), s * 2 + 1, x[torch.nonzero(m, as_tuple=True)].sum(), x[m].mean(),
            torch.where(s > 0, s, s.abs()).to(torch.float16), x[m[:, :, 0]] - 1,
            torch.index_select(x, 0, rows))


@pytest.mark.parametrize("binary", [PTEC_RUN, PTEC_RUN_ASAN], ids=["host", "asan"])
def test_ptec_run_writes_the_actual_shape(seed, tmp_path, binary):
    """ptec-run (and its ASan+UBSan build, nothing switched off) runs nonzero, masked_select
    and their consumers and writes each output at its actual shape."""
    fn = _outputs_and_consumers
    shape = (3, 5, 2)
    x = torch.randn(shape)
    program = ptec.compile(Fn(fn), (x, _values(shape, torch.bool, 0.5)))
    path = tmp_path / "model.pte"
    path.write_bytes(program.buffer)
    for k, density in enumerate(_densities()):
        m = _values(shape, torch.bool, density)
        np.save(tmp_path / "x.npy", x.numpy())
        np.save(tmp_path / "m.npy", m.numpy())
        out = tmp_path / f"out{k}"
        r = subprocess.run([binary, str(path), "--input", str(tmp_path / "x.npy"), "--input",
                            str(tmp_path / "m.npy"), "--output-dir", str(out)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "runtime error" not in r.stderr, r.stderr  # UBSan reports and goes on
        want = fn(x, m)
        got = [torch.from_numpy(np.load(out / f"output{i}.npy")) for i in range(len(want))]
        _check(got, want, f"density {density}", exact=False)


def test_executorch_program_with_nonzero_runs_in_ptec(seed):
    """ExecuTorch's own .pte of nonzero / masked_select (its DYNAMIC_BOUND tensors)
    runs in ptec; and ExecuTorch's runtime runs ptec's file of the same model."""
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower
    from executorch.runtime import Runtime

    def fn(x, m):
        return torch.nonzero(x > 0), torch.masked_select(x, m) * 2
    module = Fn(fn)
    x = torch.randn(3, 4)
    example = (x, x < 0)
    edge = to_edge_transform_and_lower(  # masked_select is not core ATen: allowed by name
        torch.export.export(module, example), compile_config=EdgeCompileConfig(
            _core_aten_ops_exception_list=[torch.ops.aten.masked_select.default]))
    theirs = bytes(edge.to_executorch().buffer)
    ours = ptec.compile(module, example).buffer
    runs = [(torch.randn(3, 4), _values((3, 4), torch.bool, d)) for d in _densities()]
    runs.append((torch.full((3, 4), -1.0), torch.ones(3, 4, dtype=torch.bool)))
    ptec_on_theirs = ptec.load(theirs)
    et_on_ours = Runtime.get().load_program(ours).load_method("forward")
    for inputs in runs:
        want = fn(*inputs)
        _check(ptec_on_theirs(*inputs), want, "ptec on ExecuTorch's .pte")
        _check(et_on_ours.execute(list(inputs)), want, "ExecuTorch on ptec's .pte")


def test_masked_select_bound_is_the_broadcast_numel(seed):
    """The bound is the broadcast numel of self and mask, not self's numel (PyTorch's
    range for the size), and is finite for 1 or 2 elements (PyTorch gives none)."""
    x = torch.randn(3, 1)
    full = torch.ones(3, 4, dtype=torch.bool)
    program = _compile_and_run(Fn(torch.masked_select), (x, full),
                               [(x, full), (x, _values((3, 4), torch.bool, 0.5)), (x, ~full)])
    [t] = _dynamic_tensors(program)
    assert list(t.sizes) == [12]
    one = torch.ones(1, dtype=torch.bool)
    _compile_and_run(Fn(torch.masked_select), (torch.randn(1), one),
                     [(torch.randn(1), one), (torch.randn(1), ~one)])


def test_tosa_target_keeps_dynamic_shapes_on_the_cpu(seed):
    """On tosa-fp the static part goes to the TOSA delegate; nonzero, masked_select and
    what reads them stay on the CPU kernels, with the reason in the report."""
    w = torch.randn(6, 6)

    def fn(x):
        y = torch.relu(x @ w) - 0.5
        return torch.masked_select(y, y > 0) * 2, torch.nonzero(y < 0)
    x = torch.randn(4, 6)
    program = ptec.compile(Fn(fn), (x,), target="tosa-fp")
    ops = [i.operator for i in program.instructions]
    assert "delegate" in " ".join(ops).lower() or any("tosa" in o.lower() for o in ops), ops
    assert {"aten::masked_select.out", "aten::nonzero.out"} <= set(ops), ops
    assert "TOSA shapes are static" in program.report()
    runner = ptec.load(program.buffer)
    for t in [x, torch.full((4, 6), -1.0), torch.randn(4, 6) * 3]:
        _check(runner(t), fn(t), "tosa-fp", exact=False)


class _Int8Masked(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(6, 6), torch.nn.Linear(6, 6)

    def forward(self, x):
        y = self.a(x)
        s = y[y > 0]
        return s * 2 + 1, s.sum(), torch.nonzero(x < 0), torch.relu(self.b(y))


@pytest.mark.parametrize("target", ["host", "tosa-int"])
def test_int8_keeps_data_dependent_tensors_float(seed, target):
    """int8 quantization around nonzero / masked_select: the linears are quantized
    (integer kernels, or the TOSA delegate), the data-dependent tensors and what reads
    them stay float (no quantize meets a run-time shape); results equal the converted
    (fake-quantized) module's, the float part within float32 rounding."""
    model = _Int8Masked().eval()
    g = torch.Generator().manual_seed(seed)
    config = ptec.Int8(calibration=[(torch.randn(4, 6, generator=g),) for _ in range(4)])
    x = torch.randn(4, 6, generator=g)
    program = ptec.compile(model, (x,), target=target, quantize=config)
    ops = [i.operator for i in program.instructions]
    assert "aten::masked_select.out" in ops and "aten::nonzero.out" in ops, ops
    assert not any(i.operator.startswith("aten::linear") or i.operator.startswith("aten::addmm")
                   for i in program.instructions), ops  # the linears are integer
    want = ptec.quantize.quantize(model, (x,), config)(x)
    got = ptec.load(program.buffer)(x)
    for w, o in zip(want, got):
        np.testing.assert_allclose(np.asarray(o), w.numpy(), rtol=1e-5, atol=1e-5)


def test_executorch_dynamic_batch_runs_in_ptec(seed):
    """An ExecuTorch program exported with a bounded dynamic batch (its input and every
    activation DYNAMIC_BOUND): ptec's set_input takes any batch up to the bound, the
    kernels follow it; a batch past the bound is refused by set_input."""
    from executorch.exir import to_edge_transform_and_lower

    module = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    module.eval()
    batch = torch.export.Dim("batch", max=8)
    ep = torch.export.export(module, (torch.randn(4, 6),), dynamic_shapes=({0: batch},))
    runner = ptec.load(bytes(to_edge_transform_and_lower(ep).to_executorch().buffer))
    for b in [4, 1, 8, random.randint(2, 7)]:
        x = torch.randn(b, 6)
        with torch.no_grad():
            _check(runner(x), module(x), f"batch {b}", exact=False)
    with pytest.raises(PtecError) as info:
        runner(torch.randn(9, 6))
    assert info.value.status == "PTEC_STATUS_SHAPE_MISMATCH", str(info.value)
