"""The executor's call cache (ptec_method_set_call_cache; docs/runtime.md,
"The call cache"): each call's kernel and arguments decoded once after init,
so execute walks a table instead of decoding the program again.

Every program here is loaded twice, with and without the cache, and run on the
same inputs in turn: outputs equal bit for bit, run after run, so state carried
between runs (mutable buffers, dynamic sizes, rebound inputs and views, moves)
is re-read as it changes. The example models, ptec's cond and while_loop, and
ExecuTorch's own programs (MoveCall, et_view of unplanned inputs), a delegate
call; dynamic-bound
tensors whose sizes change between runs; a KV-cache-like state shared by two
methods. Bad memory is refused by name, and malformed programs fail the same
way on both paths under ASan+UBSan ptec-run.
"""
import ctypes
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from executorch.exir import to_edge
from test_llm_state import Cache, CounterRing
from test_ops_control_flow import ByFlag, CondInLoop, CountedLoop
from test_ops_executorch_names import executorch_program

import ptec
from ptec.pte import deserialize_program
from ptec.runtime import library

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import models  # noqa: E402

PTEC_RUN_ASAN = Path(os.environ.get("PTEC_RUN_ASAN", ROOT / "build" / "asan" / "ptec-run"))


def _both(buffer: bytes, batches, method: str = "forward") -> list:
    """Runs each batch with and without the cache (one load of each, so runs
    follow each other as a caller's would): equal outputs, bit for bit.
    Returns the cached run's outputs."""
    on, off = ptec.load(buffer, call_cache=True), ptec.load(buffer, call_cache=False)
    assert on.method(method)._call_cache is not None and off.method(method)._call_cache is None
    results = []
    for k, batch in enumerate(batches):
        got, want = on.run(list(batch), method), off.run(list(batch), method)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape, f"run {k}"
            assert torch.equal(g, w) or (g.isnan() == w.isnan()).all(), f"run {k}"
        results.append(got)
    return results


def _kinds(buffer: bytes) -> set[str]:
    plan = deserialize_program(buffer)[0].execution_plan[0]
    return {type(ins.instr_args).__name__ for ins in plan.chains[0].instructions}


def test_example_models_equal_with_and_without_cache(seed):
    """DS-CNN (fp32 and int8) and the transformer: three runs on new inputs."""
    gen = torch.Generator().manual_seed(seed)
    for name, int8 in (("ds_cnn", False), ("ds_cnn", True), ("transformer", False)):
        model, inputs = getattr(models, name)()
        if int8:
            prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
            ptec.quantize.calibrate(prepared, [inputs])
            model = ptec.quantize.convert(prepared)
        buffer = ptec.compile(model, inputs).buffer
        batches = [inputs] + [tuple(torch.randn(x.shape, generator=gen) if x.is_floating_point()
                                    else torch.randint(0, 100, x.shape, generator=gen)
                                    for x in inputs) for _ in range(2)]
        got = _both(buffer, batches)
        if not int8:
            with torch.no_grad():
                torch.testing.assert_close(got[0][0], model(*inputs), rtol=1e-4, atol=1e-4)


def test_delegate_calls_equal_with_and_without_cache(seed):
    """DS-CNN as one TOSA delegate (tosa-fp): the delegate call's arguments cached."""
    gen = torch.Generator().manual_seed(seed)
    model, inputs = models.ds_cnn()
    buffer = ptec.compile(model, inputs, target="tosa-fp").buffer
    assert _kinds(buffer) == {"DelegateCall"}
    batches = [tuple(torch.randn(x.shape, generator=gen) for x in inputs) for _ in range(3)]
    for batch, outputs in zip(batches, _both(buffer, batches)):
        with torch.no_grad():
            torch.testing.assert_close(outputs[0], model(*batch), rtol=1e-4, atol=1e-4)


def test_cond_and_while_loop_equal_with_and_without_cache(seed):
    """ptec's cond (both branches) and loops of 0, 1 and many iterations (a
    data-dependent count, five carried dtypes, a cond in the body), run in
    turn on one load: jump targets and carried values per run."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 5, generator=gen)
    cases = [
        (ByFlag(), [(x, torch.tensor(True)), (x, torch.tensor(False)), (-x, torch.tensor(True))]),
        (CountedLoop(), [(torch.tensor(n), torch.randn(2, 3, generator=gen),
                          torch.randint(-5, 5, (4,), dtype=torch.int32, generator=gen),
                          torch.randn(3, generator=gen).half(), torch.tensor([True, False]))
                         for n in (3, 0, 1, 7)]),
        (CondInLoop(), [(torch.randn(3, generator=gen), torch.tensor(n)) for n in (5, 0, 2)]),
    ]
    for module, batches in cases:
        module = module.eval()
        buffer = ptec.compile(module, batches[0]).buffer
        got = _both(buffer, batches)
        for batch, outputs in zip(batches, got):
            with torch.no_grad():
                want = module(*batch)
            want = list(want) if isinstance(want, (tuple, list)) else [want]
            for g, w in zip(outputs, want):
                torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


class Viewed(torch.nn.Module):
    def forward(self, x, y):
        return (x.view(2, 6) * 2).reshape(3, 4) + y


def test_executorch_moves_and_views_of_unplanned_inputs(seed):
    """ExecuTorch's own programs: cond's MoveCall (a move's destination is
    read through its alias, so those calls stay uncached), and et_view of
    inputs the caller binds in place (new memory each run: re-read)."""
    gen = torch.Generator().manual_seed(seed)
    module = ByFlag().eval()
    x = torch.randn(3, 5, generator=gen)
    buffer = bytes(to_edge(torch.export.export(module, (x, torch.tensor(True))))
                   .to_executorch().buffer)
    assert {"MoveCall", "JumpFalseCall"} <= _kinds(buffer)
    _both(buffer, [(x, torch.tensor(True)), (x, torch.tensor(False)), (x * 3, torch.tensor(True))])
    batches = [(torch.randn(12, generator=gen), torch.randn(3, 4, generator=gen))
               for _ in range(3)]
    buffer = executorch_program(Viewed(), batches[0], plan_inputs=False)
    got = _both(buffer, batches)
    for batch, outputs in zip(batches, got):
        torch.testing.assert_close(outputs[0], Viewed()(*batch))


class Nonzero(torch.nn.Module):
    def forward(self, x):
        return torch.nonzero(x > 0.5).sum(1) + 1, torch.masked_select(x, x < 0.2) * 2


def test_dynamic_sizes_change_between_runs(seed):
    """nonzero / masked_select: each run's sizes differ; consumers follow."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(4, 6, generator=gen)
    buffer = ptec.compile(Nonzero(), (x,)).buffer
    batches = [(x,), (torch.zeros(4, 6),), (torch.ones(4, 6),), (torch.rand(4, 6, generator=gen),)]
    got = _both(buffer, batches)
    for batch, outputs in zip(batches, got):
        for g, w in zip(outputs, Nonzero()(*batch)):
            assert torch.equal(g, w)


def test_state_and_two_methods(seed):
    """A counter and ring buffer over runs, and a KV-cache-like buffer shared by
    prefill and decode: the state each run leaves is what the next reads."""
    gen = torch.Generator().manual_seed(seed)
    batches = [(torch.randn(1, 3, generator=gen), torch.tensor([i % 4])) for i in range(6)]
    got = _both(ptec.compile(CounterRing(), batches[0]).buffer, batches)
    eager = CounterRing()
    for batch, outputs in zip(batches, got):
        torch.testing.assert_close(outputs[0], eager(*batch))
    model = Cache()
    compiled = ptec.compile_methods(
        {"prefill": (model, (torch.randn(1, 3, 4), torch.arange(3))),
         "decode": (model, (torch.randn(1, 1, 4), torch.tensor([3])))})
    on, off = (ptec.load(compiled.buffer, call_cache=c) for c in (True, False))
    eager = Cache()
    eager.load_state_dict(model.state_dict())
    steps = [("prefill", torch.randn(1, 3, 4, generator=gen), torch.arange(3))]
    steps += [("decode", torch.randn(1, 1, 4, generator=gen), torch.tensor([t])) for t in (3, 4, 5)]
    for method, x, pos in steps:
        got, want = on.run([x, pos], method=method)[0], off.run([x, pos], method=method)[0]
        assert torch.equal(got, want), method
        torch.testing.assert_close(got, eager(x, pos))


def _status(code: int) -> str:
    return library().ptec_status_to_string(code).decode()


def test_bad_memory_is_refused_by_name():
    """Too few bytes: PTEC_STATUS_OUT_OF_MEMORY naming both sizes, and the
    method runs on without the cache; misaligned or NULL memory:
    PTEC_STATUS_INVALID_ARGUMENT; an uninitialised method: INVALID_STATE."""
    lib = library()
    x = torch.randn(3, 5)
    program = ptec.load(ptec.compile(ByFlag(), (x, torch.tensor(True))).buffer, call_cache=False)
    method = program.method()
    need = method.call_cache_bytes.value
    assert 0 < need < 1 << 20
    memory = np.zeros(need + 64, np.uint8)
    base = memory.ctypes.data + (-memory.ctypes.data) % 16
    code = lib.ptec_method_set_call_cache(method._h, base, need - 1)
    message = lib.ptec_method_message(method._h).decode()
    assert _status(code) == "PTEC_STATUS_OUT_OF_MEMORY"
    assert f"{need - 1} bytes is too small: the method needs {need}" in message
    want = [a * 2 for a in (x,)] + [x.exp()]
    assert all(torch.allclose(g, w) for g, w in zip(program(x, torch.tensor(True)), want))
    for where, size in ((base + 8, need), (None, need)):
        code = lib.ptec_method_set_call_cache(method._h, where, size)
        assert _status(code) == "PTEC_STATUS_INVALID_ARGUMENT"
        assert "aligned" in lib.ptec_method_message(method._h).decode()
    blank = np.zeros(lib.ptec_method_struct_size() + 16, np.uint8)
    blank_h = blank.ctypes.data + (-blank.ctypes.data) % 16
    code = lib.ptec_method_set_call_cache(blank_h, base, need)
    assert _status(code) == "PTEC_STATUS_INVALID_STATE"
    size = ctypes.c_size_t()
    assert _status(lib.ptec_method_call_cache_size(blank_h, ctypes.byref(size))) == \
        "PTEC_STATUS_INVALID_STATE"
    # Exactly the bytes ptec_method_call_cache_size states: the cache is used from there on.
    assert _status(lib.ptec_method_set_call_cache(method._h, base, need)) == "PTEC_STATUS_OK"
    got = program(-x, torch.tensor(False))
    assert torch.equal(got[0], -x + 3) and torch.equal(got[1], x.abs())
    del program, method, memory  # the method before the memory it holds


def _asan(model: Path, inputs: list[Path], out: Path, *flags: str):
    args = [a for p in inputs for a in ("--input", str(p))]
    out.mkdir(exist_ok=True)
    return subprocess.run([str(PTEC_RUN_ASAN), str(model), *args, "--output-dir", str(out),
                           *flags], capture_output=True, text=True, errors="replace", timeout=120)


def test_malformed_programs_fail_alike_under_asan(seed, tmp_path):
    """Random byte edits of a program with a loop, a cond, int lists and a
    view: ASan+UBSan ptec-run with and without the cache reports no error,
    exits alike, and names the same status (or writes the same outputs)."""
    rng = random.Random(seed)
    n, x = torch.tensor(3), torch.randn(3)
    buffer = bytearray(ptec.compile(CondInLoop(), (x, n)).buffer)
    inputs = [tmp_path / "x.npy", tmp_path / "n.npy"]
    np.save(inputs[0], x.numpy())
    np.save(inputs[1], n.numpy())
    statuses = set()
    for k in range(24):
        edited = bytearray(buffer)
        for _ in range(rng.randint(1, 4)):
            edited[rng.randrange(len(edited))] = rng.randrange(256)
        model = tmp_path / f"m{k}.pte"
        model.write_bytes(edited)
        on = _asan(model, inputs, tmp_path / f"on{k}")
        off = _asan(model, inputs, tmp_path / f"off{k}", "--no-call-cache")
        for r in (on, off):
            assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
        assert on.returncode == off.returncode, (k, on.stderr, off.stderr)
        if on.returncode != 0:
            assert on.stderr.splitlines()[0] == off.stderr.splitlines()[0]
            statuses.add(on.stderr.split(":")[2].strip() if on.returncode == 2 else "usage")
            continue
        names = sorted(p.name for p in (tmp_path / f"on{k}").iterdir())
        assert names == sorted(p.name for p in (tmp_path / f"off{k}").iterdir()) and names
        for name in names:
            a, b = np.load(tmp_path / f"on{k}" / name), np.load(tmp_path / f"off{k}" / name)
            assert np.array_equal(a, b, equal_nan=True), (k, name)
    print("statuses:", sorted(statuses))
