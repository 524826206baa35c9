"""Stateful programs: registered buffers updated in place persist across runs.

A counter, a ring buffer written with `index_copy_` and a shift register
with a non-zero initial value, run N times through ptec's C runtime, equal the
same module run N times in PyTorch eager; `reset` starts over; two methods
compiled together share the state; ExecuTorch's runtime runs ptec's stateful
files with the same results (docs/llm.md).
"""
import pytest
import torch

import ptec
from ptec.pte import deserialize_program
from ptec.state import STATE_MEMORY_ID

RUNS = 12


class CounterRing(torch.nn.Module):
    """A step counter and a 4-slot ring buffer written at `pos`."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", torch.zeros(1))
        self.register_buffer("ring", torch.zeros(4, 3))

    def forward(self, x, pos):
        self.count.add_(1)
        self.ring.index_copy_(0, pos, x)
        return self.ring.sum(0) * self.count


class Shift(torch.nn.Module):
    """A shift register that starts from non-zero values (initial data)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("hist", torch.arange(12.0).reshape(4, 3))

    def forward(self, x):
        self.hist.copy_(torch.cat([self.hist[1:], x]))
        return self.hist.cumsum(0)[-1] + self.hist[0]


class Cache(torch.nn.Module):
    """A KV-cache-like buffer written at positions: prefill T tokens, then decode 1."""

    def __init__(self, n=8, d=4):
        super().__init__()
        self.register_buffer("k", torch.zeros(1, 2, n, d))
        self.proj = torch.nn.Linear(d, 2 * d)

    def forward(self, x, pos):
        kv = self.proj(x).view(1, x.shape[1], 2, -1).transpose(1, 2)
        self.k.index_copy_(2, pos, kv)
        return self.k.sum(2)


def _counter_inputs(gen):
    return [(torch.randn(1, 3, generator=gen), torch.tensor([i % 4])) for i in range(RUNS)]


def _tensors_in_memory(program, memory_id):
    plan = program.execution_plan[0]
    return [v.val for v in plan.values if getattr(v.val, "allocation_info", None) is not None
            and v.val.allocation_info.memory_id == memory_id]


def test_counter_and_ring_buffer_equal_eager_over_runs(seed):
    gen = torch.Generator().manual_seed(seed)
    inputs = _counter_inputs(gen)
    compiled = ptec.compile(CounterRing(), inputs[0])
    program = ptec.load(compiled.buffer)
    eager = CounterRing()
    for k, (x, pos) in enumerate(inputs):
        expected = eager(x, pos)
        (got,) = program(x, pos)
        # Sums may add in another order: float rounding, not state, differs.
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6, msg=f"run {k}")
    assert eager.count.item() == RUNS  # the eager side did mutate


def test_state_lives_in_memory_2_without_initial_data():
    compiled = ptec.compile(CounterRing(), _counter_inputs(torch.Generator())[0])
    program, _ = deserialize_program(compiled.buffer)
    plan = program.execution_plan[0]
    state = _tensors_in_memory(program, STATE_MEMORY_ID)
    assert sorted(tuple(t.sizes) for t in state) == [(1,), (4, 3)]
    assert all(t.data_buffer_idx == 0 for t in state)  # zeros: no bytes in the file
    assert plan.non_const_buffer_sizes == [0, compiled.memory.arena_bytes, 16 + 48]
    assert [len(plan.inputs), len(plan.outputs)] == [2, 1]  # state is neither


def test_initial_data_and_reset():
    x = [torch.full((1, 3), float(k)) for k in range(6)]
    compiled = ptec.compile(Shift(), (x[0],))
    state = _tensors_in_memory(deserialize_program(compiled.buffer)[0], STATE_MEMORY_ID)
    assert [t.data_buffer_idx > 0 for t in state] == [True]
    program = ptec.load(compiled.buffer)
    eager = Shift()
    for k in range(6):
        assert torch.equal(program(x[k])[0], eager(x[k])), f"run {k}"
    program.reset()
    eager = Shift()
    for k in range(3):
        assert torch.equal(program(x[k])[0], eager(x[k])), f"run {k} after reset"


def test_prefill_and_decode_share_the_cache(seed):
    gen = torch.Generator().manual_seed(seed)
    model = Cache()
    compiled = ptec.compile_methods(
        {"prefill": (model, (torch.randn(1, 3, 4), torch.arange(3))),
         "decode": (model, (torch.randn(1, 1, 4), torch.tensor([3])))},
        constant_methods={"get_max_seq_len": 8, "use_kv_cache": True})
    program = ptec.load(compiled.buffer)
    assert program.method_names == ["prefill", "decode", "get_max_seq_len", "use_kv_cache"]
    # The weights are stored once for both methods.
    assert compiled.constant_bytes == sum(p.numel() * 4 for p in model.parameters())
    eager = Cache()
    eager.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 4, generator=gen)
    expected = eager(x, torch.arange(3))
    torch.testing.assert_close(program.run([x, torch.arange(3)], method="prefill")[0], expected)
    for t in range(3, 8):
        x = torch.randn(1, 1, 4, generator=gen)
        expected = eager(x, torch.tensor([t]))
        got = program.run([x, torch.tensor([t])], method="decode")[0]
        torch.testing.assert_close(got, expected, msg=f"decode at {t}")


class CounterShift(torch.nn.Module):
    """State updated without an index write (ExecuTorch's portable library has no
    aten::index_copy.out, which ptec's in-place cache write uses)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", torch.zeros(1))
        self.register_buffer("hist", torch.zeros(4, 3))

    def forward(self, x):
        self.count.add_(1)
        self.hist.copy_(torch.cat([self.hist[1:], x]))
        return self.hist.sum(0) * self.count


def test_executorch_runs_ptec_stateful_file(seed):
    from executorch.runtime import Runtime

    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(1, 3, generator=gen) for _ in range(RUNS)]
    compiled = ptec.compile(CounterShift(), (inputs[0],))
    method = Runtime.get().load_program(compiled.buffer).load_method("forward")
    eager = CounterShift()
    for k, x in enumerate(inputs):
        (got,) = method.execute([x])
        torch.testing.assert_close(got, eager(x), rtol=1e-6, atol=1e-6, msg=f"run {k}")


def test_cache_write_is_in_place():
    """index_copy_ of a state buffer: one aten::index_copy.out whose out is the
    buffer itself, no write-back copy of it."""
    compiled = ptec.compile(CounterRing(), _counter_inputs(torch.Generator())[0])
    program, _ = deserialize_program(compiled.buffer)
    plan = program.execution_plan[0]
    names = [plan.operators[i.instr_args.op_index].qualified_name
             for i in plan.chains[0].instructions]
    assert names.count("aten::index_copy.out") == 1 and "aten::index_put.out" not in names
    assert names.count("aten::copy.out") == 1  # the counter's write-back only
    call = plan.chains[0].instructions[names.index("aten::index_copy.out")].instr_args
    ring = plan.values[call.args[0]].val
    assert call.args[0] == call.args[4]  # self is out
    assert ring.allocation_info.memory_id == STATE_MEMORY_ID and list(ring.sizes) == [4, 3]


def test_bad_initial_data_is_refused_by_name():
    """A mutable buffer whose initial data points past the constants, or whose
    constant is shorter than the buffer, is refused at load, named."""
    import dataclasses

    from ptec.pte import serialize_program
    from ptec.runtime import PtecError

    compiled = ptec.compile(Shift(), (torch.zeros(1, 3),))
    program, segment = deserialize_program(compiled.buffer)
    plan = program.execution_plan[0]
    index = next(i for i, v in enumerate(plan.values)
                 if getattr(v.val, "allocation_info", None) is not None
                 and v.val.allocation_info.memory_id == STATE_MEMORY_ID)
    cases = [(99, "PTEC_STATUS_INDEX_OUT_OF_RANGE", "constant 99 out of range"),
             (None, "PTEC_STATUS_TRUNCATED", "runs past its data")]
    for buffer_idx, status, message in cases:
        bad = dataclasses.replace(plan.values[index].val)
        if buffer_idx is None:  # a bigger buffer than its initial data
            bad.sizes = [8, 3]
            sizes = list(plan.non_const_buffer_sizes)
            sizes[2] = 4096
            edited_plan = dataclasses.replace(plan, non_const_buffer_sizes=sizes)
        else:
            bad.data_buffer_idx = buffer_idx
            edited_plan = plan
        values = list(edited_plan.values)
        values[index] = dataclasses.replace(values[index], val=bad)
        edited = dataclasses.replace(program, execution_plan=[
            dataclasses.replace(edited_plan, values=values)])
        data = serialize_program(edited, [segment[:program.segments[0].size]])
        with pytest.raises(PtecError) as info:
            ptec.load(data)(torch.zeros(1, 3))
        assert info.value.status == status, str(info.value)
        assert message in info.value.message, str(info.value)
