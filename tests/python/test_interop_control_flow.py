"""torch.cond and while_loop between ExecuTorch 1.4.1 and ptec.

* ptec's `.pte` with cond (JumpFalseCall, MoveCall inline in the chain) runs in
  ExecuTorch's runtime (`executorch.runtime`) with PyTorch eager's results.
* ExecuTorch's own `.pte` with cond (`to_edge(...).to_executorch()`) runs in
  ptec with the results ExecuTorch's runtime gives.
* ptec's `.pte` with while_loop (copy_ calls and a backward JumpFalseCall)
  runs in ExecuTorch's runtime with eager's results. ExecuTorch 1.4.1 itself
  cannot write a while_loop program (its emitter raises "Unsupported control
  flow operator"), so there is no such file for ptec to run; its scan/map
  loops need aten::sym_size and executorch_prim ops ptec lacks: ptec refuses
  ExecuTorch's scan file at load, naming the operator (docs/compiler.md).
"""
import functools

import pytest
import torch
from executorch.exir import to_edge
from executorch.runtime import Runtime
from test_ops_control_flow import (ByFlag, CondInLoop, CountedLoop, LinearOrShift, NestedConv,
                                   Recurrent, SwapLoop, TwoConds)

import ptec
from ptec.runtime import PtecError


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@functools.lru_cache(maxsize=None)
def _executorch_method(buffer: bytes):
    return Runtime.get().load_program(buffer).load_method("forward")


def _run_executorch(buffer: bytes, inputs) -> list:
    return _outputs(_executorch_method(buffer).execute(list(inputs)))


def _batches(name):
    """Inputs taking each branch (both, or each path of the nested cond)."""
    pos = torch.rand(1, 3, 6, 6) + 0.2
    small = torch.rand(1, 3, 6, 6) * 0.02
    small[0, 0, 0, 0] = 0.5
    return {
        "flag": [(torch.randn(3, 5), torch.tensor(True)), (torch.randn(3, 5), torch.tensor(False))],
        "linear": [(torch.rand(2, 8) + 0.1,), (-torch.rand(2, 8) - 0.1,)],
        "nested": [(pos,), (small,), (-pos,)],
        "two": [(torch.rand(4, 4) + 1,), (-torch.rand(4, 4),), (torch.rand(4, 4) * 0.1,)],
    }[name]


MODELS = {"flag": ByFlag, "linear": LinearOrShift, "nested": NestedConv, "two": TwoConds}


def test_ptec_cond_runs_in_executorch(seed):
    """ptec's programs (bool input, nested cond with convolutions, two conds
    in a row) in ExecuTorch's runtime: eager's results on every path."""
    for name in ("flag", "nested", "two"):
        _ptec_in_executorch(name, MODELS[name](), _batches(name))


def _ptec_in_executorch(name, module, batches):
    """ptec compiles `module`; ExecuTorch's runtime gives eager's results on every batch."""
    module = module.eval()
    buffer = ptec.compile(module, batches[0]).buffer
    for batch in batches:
        with torch.no_grad():
            want = _outputs(module(*batch))
        got = _run_executorch(buffer, batch)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype, name
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5, msg=lambda m: f"{name}: {m}")


def test_executorch_cond_runs_in_ptec(seed):
    """ExecuTorch's own programs with cond: ptec gives ExecuTorch's runtime's
    results (jumps to the end of the chain, MoveCall rebinding, weights as branch
    operands, a nested cond), and eager's."""
    for name in ("flag", "nested"):
        module = MODELS[name]().eval()
        batches = _batches(name)
        buffer = bytes(to_edge(torch.export.export(module, batches[0])).to_executorch().buffer)
        runner = ptec.load(buffer)
        for batch in batches:
            with torch.no_grad():
                want = _outputs(module(*batch))
            got = runner(*batch)
            theirs = _run_executorch(buffer, batch)
            for g, t, w in zip(got, theirs, want):
                # Kernels may sum in another order (addmm): not bit for bit.
                torch.testing.assert_close(g, t, rtol=1e-6, atol=1e-6,
                                           msg=lambda m: f"{name}: vs ExecuTorch's runtime: {m}")
                torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_executorch_two_conds_as_executorch_runs_them():
    """Two conds in a row: ExecuTorch 1.4.1's planner gives the first cond's
    branch output and the second cond's branch temporaries the same bytes (the
    MoveCall's aliasing is not a use), so its runtime returns the second
    cond's value as the first result. ptec runs the file as ExecuTorch does;
    the second result is right in both (ptec's own plan keeps the first
    alive: test_ops_control_flow.py::test_a_cond_result_outlives_a_later_cond)."""
    module = TwoConds().eval()
    batches = _batches("two")
    buffer = bytes(to_edge(torch.export.export(module, batches[0])).to_executorch().buffer)
    runner = ptec.load(buffer)
    for batch in batches:
        got, theirs, want = runner(*batch), _run_executorch(buffer, batch), module(*batch)
        assert all(torch.equal(g, t) for g, t in zip(got, theirs))
        torch.testing.assert_close(got[1], want[1])


def test_ptec_while_loop_runs_in_executorch(seed):
    """ptec's loops in ExecuTorch's runtime: 0, 1 and many iterations, a
    data-dependent count, five carried dtypes, swapped carries, weights and
    an input read by every iteration, a cond in the body: eager's results."""
    cases = {
        "counted": (CountedLoop(), [(torch.tensor(n), torch.randn(2, 3),
                                     torch.randint(-5, 5, (4,), dtype=torch.int32),
                                     torch.randn(3).half(), torch.tensor([True, False]))
                                    for n in (0, 1, 9)]),
        "swap": (SwapLoop(), [(torch.tensor(k), torch.randn(5), torch.randn(5)) for k in (0, 6)]),
        "recurrent": (Recurrent(), [(torch.randn(2, 8) * s, torch.randn(8, 8) * 0.3)
                                    for s in (0.01, 3.0)]),
        "cond": (CondInLoop(), [(torch.randn(3), torch.tensor(n)) for n in (0, 5)]),
    }
    for name, (module, batches) in cases.items():
        _ptec_in_executorch(name, module, batches)


def test_executorch_cannot_emit_while_loop():
    """Why no ExecuTorch-written while_loop program is tested in ptec: its
    1.4.1 emitter refuses the operator (if a later version emits it, this
    fails and such a test becomes possible)."""
    ep = torch.export.export(SwapLoop().eval(), (torch.tensor(0), torch.randn(5), torch.randn(5)))
    with pytest.raises(Exception, match="Unsupported control flow operator: while_loop"):
        to_edge(ep).to_executorch()


def test_executorch_scan_is_refused_naming_the_operator():
    """ExecuTorch 1.4.1 writes torch.scan as a loop counted with aten::sym_size
    and executorch_prim scalar ops, stacking with et_copy_index; ptec's runtime
    has none of them, and says so at load with a named status (no crash)."""
    from torch._higher_order_ops.scan import scan

    class S(torch.nn.Module):
        def forward(self, init, xs):
            return scan(lambda c, x: (c + x, (c * x).clone()), init, xs)

    args = (torch.zeros(3), torch.randn(4, 3))
    buffer = bytes(to_edge(torch.export.export(S(), args)).to_executorch().buffer)
    assert [t.shape for t in _run_executorch(buffer, args)] == [(3,), (4, 3)]
    with pytest.raises(PtecError, match="OPERATOR_MISSING.*sym_size"):
        ptec.load(buffer)(*args)
