"""Per-call overheads around small models' kernels (issue 12, docs/runtime.md
"The call cache"): loading must stay near linear in the number of calls, and
the executor's lookups of values rebound at run time (inputs, views, moves)
must find them whatever order the program notes them in; DS-CNN int8 keeps
one layout (NHWC) from its first convolution on, with no clone between.

The programs here are ptec's cond (ByFlag: jump_false and move calls) edited
with ptec.pte: many calls put in front, the inputs listed in reverse. Outputs
are compared with PyTorch eager within rtol 1e-6 (elementwise fp32: x * 2,
x + 3 and abs round once, as eager does; exp is ptec's own, within an ulp or
two), and the runs with and without the call cache with each other bit for bit.
"""
import dataclasses
import sys
from pathlib import Path

import torch
from test_ops_control_flow import ByFlag

import ptec
from ptec.pte import deserialize_program, serialize_program
from ptec.pte.schema import JumpFalseCall

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import models  # noqa: E402


def _edit(buffer: bytes, extra_calls: int, reverse_inputs: bool) -> bytes:
    """ByFlag's program with `extra_calls` copies of its first kernel call
    (x * 2 into the true branch's temporary) in front of the chain, jump
    destinations moved along; the inputs listed in reverse if asked."""
    program, segments = deserialize_program(buffer)
    plan = program.execution_plan[0]
    chain = plan.chains[0]
    first_call = next(i for i in chain.instructions if type(i.instr_args).__name__ == "KernelCall")
    moved = []
    for ins in chain.instructions:
        args = ins.instr_args
        if isinstance(args, JumpFalseCall):
            args = dataclasses.replace(
                args, destination_instruction=args.destination_instruction + extra_calls)
        moved.append(dataclasses.replace(ins, instr_args=args))
    chain = dataclasses.replace(chain, instructions=[first_call] * extra_calls + moved)
    inputs = list(reversed(plan.inputs)) if reverse_inputs else list(plan.inputs)
    plan = dataclasses.replace(plan, chains=[chain], inputs=inputs)
    program = dataclasses.replace(program, execution_plan=[plan])
    return serialize_program(program, segments) if segments else serialize_program(program)


def _run_both(buffer: bytes, inputs: list) -> list:
    """Runs with and without the call cache; returns the cached run's outputs
    after checking the two agree bit for bit."""
    on, off = ptec.load(buffer, call_cache=True), ptec.load(buffer, call_cache=False)
    assert on.method()._call_cache is not None
    got, want = on.run(inputs), off.run(inputs)
    for g, w in zip(got, want):
        assert torch.equal(g, w)
    return got


def test_a_program_with_many_calls_and_moves_loads_and_runs(seed):
    """20000 kernel calls in front of a cond whose moves make the cache look
    each argument up: loads (the lookup was a scan of every instruction per
    argument, 20000 x 80000 steps) and runs both branches like eager."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 5, generator=gen)
    buffer = _edit(ptec.compile(ByFlag(), (x, torch.tensor(True))).buffer, 20000, False)
    assert len(deserialize_program(buffer)[0].execution_plan[0].chains[0].instructions) > 20000
    for flag in (True, False, True):
        x = torch.randn(3, 5, generator=gen)
        got = _run_both(buffer, [x, torch.tensor(flag)])
        want = ByFlag()(x, torch.tensor(flag))
        assert len(got) == 2
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-6, atol=0)


def test_inputs_noted_in_reverse_order_still_bind(seed):
    """The inputs listed (and so noted) in decreasing value order: the sorted
    state table inserts before an entry; set_input must bind each input to its
    own value, so swapping them would fail here."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 5, generator=gen)
    buffer = _edit(ptec.compile(ByFlag(), (x, torch.tensor(True))).buffer, 3, True)
    for flag in (False, True):
        got = _run_both(buffer, [torch.tensor(flag), x])
        for g, w in zip(got, ByFlag()(x, torch.tensor(flag))):
            torch.testing.assert_close(g, w, rtol=1e-6, atol=0)


def _tensor_args(program, ins) -> list:
    return [program.values[j].val for j in ins.instr_args.args
            if type(program.values[j].val).__name__ == "Tensor"]


def test_ds_cnn_int8_stays_channels_last_without_clones(seed):
    """DS-CNN int8 (host and x86-64-avx512): one clone (the input's, to NHWC),
    none after the first convolution (its one-channel input made the op's
    fake say NCHW, and the next conv cloned 25x5x64 back), every conv's 4-D
    activations NHWC; outputs equal the TOSA executor's (tosa-int) bit for
    bit on random inputs."""
    gen = torch.Generator().manual_seed(seed)
    model, inputs = models.ds_cnn()
    prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
    ptec.quantize.calibrate(prepared, [inputs] + [(torch.randn(inputs[0].shape, generator=gen),)
                                                  for _ in range(3)])
    quantized = ptec.quantize.convert(prepared)
    tosa = ptec.load(ptec.compile(quantized, inputs, target="tosa-int").buffer)
    for target in ("host", "x86-64-avx512"):
        buffer = ptec.compile(quantized, inputs, target=target).buffer
        plan = deserialize_program(buffer)[0].execution_plan[0]
        calls = [i for i in plan.chains[0].instructions
                 if type(i.instr_args).__name__ == "KernelCall"]
        names = [plan.operators[i.instr_args.op_index].name for i in calls]
        assert names.count("aten::clone") == 1, (target, names)
        convs = [i for i, n in zip(calls, names) if "quantized_conv2d" in n]
        assert len(convs) == 9, names
        for ins in convs[1:]:
            for t in _tensor_args(plan, ins):
                if len(t.sizes) == 4 and t.sizes[1] == 64 and t.sizes[0] == 1:
                    assert list(t.dim_order) == [0, 2, 3, 1], (target, list(t.sizes))
        program = ptec.load(buffer)
        for _ in range(3):
            x = torch.randn(inputs[0].shape, generator=gen) * 2
            assert torch.equal(program.run([x])[0], tosa.run([x])[0]), target
