"""Ethos-U targets in the compiler: Vela in the loop, the EthosUBackend blob,
the NPU's operator rules, refusals kept on the CPU, the report's estimates.

The NPU's expected output is its delegates' TOSA graphs run on ptec's C TOSA
executor (the program's TOSA twin): it must equal the host int8 build bit for
bit. (Running Vela's command stream itself is the simulator's test.)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import ptec
from ptec.errors import CompileError
from ptec.ethosu import parse_blob, tosa_twin
from ptec.ethosu.report import npu_delegates
from ptec.ethosu.target import EthosUTarget
from ptec.report import DELEGATE, runs_on
from ptec.targets import get_target
from ptec.tosa.partition import Refused
from ptec.tosa.schema import Op

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_tosa_lowering import (  # noqa: E402,F401 (example: a fixture)
    INT8_CASES, example, integer_case, quantize_input,
)
from test_ethosu_run import run_on_the_m55_simulator  # noqa: E402


NPUS = ("ethos-u55-128", "ethos-u85-256")


def _check_blobs(program, npu: str):
    """Every NPU delegate's blob parses, is for this NPU, and says so in its compile specs."""
    plan = program.program.execution_plan[0]
    for d in plan.delegates:
        if d.id != "EthosUBackend":
            continue
        blob = parse_blob(program.program.backend_delegate_data[d.processed.index].data)
        family = {"u55": 0, "u65": 1, "u85": 2}[npu.split("-")[1]]
        config = int.from_bytes(blob.cmd_data[8:12], "little")
        assert config >> 28 == family and 1 << (config & 0xF) == int(npu.split("-")[2])
        specs = {s.key: s.value for s in d.compile_specs}
        assert specs["target"] == npu.encode() and specs["output_format"] == b"vela"
        assert f"--accelerator-config={npu}".encode() in specs["compile_flags"]
        assert all(io.region == 1 and io.offset + io.nbytes <= blob.scratch_size
                   for io in blob.inputs + blob.outputs)


@pytest.mark.parametrize("npu", NPUS)
@pytest.mark.parametrize("case", sorted(INT8_CASES))
def test_int8_op_families_go_to_the_npu_or_say_why(seed, npu, case):
    model, x, config = integer_case(case, seed)
    host = ptec.compile(model, (x,), quantize=config, integer_io=True)
    program = ptec.compile(model, (x,), target=npu, quantize=config, integer_io=True)
    report = program.report()
    calls = npu_delegates(program.instructions)
    cpu = [i for i in program.instructions if runs_on(i) != DELEGATE]
    # One NPU delegate, or CPU instructions that each say why they are not on the NPU.
    assert len(calls) == 1 and not cpu or all(i.delegation for i in cpu), report
    assert all(f"({i.operator}) on the CPU: {i.delegation}" in report for i in cpu)
    _check_blobs(program, npu)
    xq = quantize_input(host, x)
    want = np.asarray(ptec.load(host.buffer)(xq)[0])
    got = np.asarray(ptec.load(tosa_twin(program))(xq)[0])
    np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def example_and_host(example):
    name, model, inputs, config, test = example
    return name, model, inputs, config, test, ptec.compile(model, inputs, quantize=config)


@pytest.mark.parametrize("npu", NPUS)
def test_example_models_compile_and_their_npu_graphs_equal_the_host(example_and_host, npu,
                                                                    tmp_path):
    """Each example model compiles for the NPU; its TOSA twin and Vela's command streams
    on the simulated NPU equal the host int8 build bit for bit. ResNet-18 (11.7 MB of
    int8 weights) does not fit the board's 8 MiB flash: the program goes to the DDR
    (python/ptec/boards.py), and it also runs inside the emulated Cortex-M55 firmware."""
    name, model, inputs, config, test, host = example_and_host
    program = ptec.compile(model, inputs, target=npu, quantize=config)
    calls = npu_delegates(program.instructions)
    assert calls, program.report()
    _check_blobs(program, npu)
    data = program.report_data()["npu"]
    assert data["accelerator"] == npu and all(
        d["estimates"]["npu_cycles"] > 0 and d["layers"] for d in data["delegates"])
    json.dumps(program.report_data())  # the report is JSON-ready
    want = [np.asarray(t) for t in ptec.load(host.buffer)(*test)]
    got = [np.asarray(t) for t in ptec.load(tosa_twin(program))(*test)]
    for w, o in zip(want, got):
        np.testing.assert_array_equal(o, w)
    loaded = ptec.load(program.buffer, target=npu)
    for w, o in zip(want, loaded(*test)):
        np.testing.assert_array_equal(np.asarray(o), w)
    assert loaded.npu_stats["invokes"] == len(calls) and loaded.npu_stats["failed"] == 0
    (placed,) = [p for p in program.placement if p.what == "program"]
    assert placed.nbytes == len(program.buffer)
    if name != "resnet18":
        assert placed.region == "flash", program.report()
        return
    assert placed.region == "ddr" and len(program.buffer) > 8 << 20, program.report()
    assert "in ddr at +0x0 (larger than the flash)" in program.report()
    run = run_on_the_m55_simulator(program.buffer, test, npu, tmp_path)
    (ddr,) = [m for m in get_target(npu).memories if m.role == "ddr"]
    # The firmware places it where the compiler did.
    assert f"place program ddr 0x{ddr.address + placed.offset:08x} {placed.nbytes}\n" in run.text

    assert f"npu_stats invokes {len(calls)} " in run.text, run.text
    for w, o in zip(want, run.outputs):
        np.testing.assert_array_equal(o, w)


def test_a_program_larger_than_the_flash_goes_to_the_ddr():
    """Ethos-U targets: the program goes into the 8 MiB flash, or when it does not fit,
    into the board's DDR (as ExecuTorch's Corstone-300 examples keep the model); the
    Cortex-M55 alone keeps refusing it (its programs must fit the flash)."""
    from ptec.placement import place

    npu = get_target("ethos-u55-128").memories
    assert [p.region for p in place("u55", npu, 8 << 20, [1024])] == ["flash", "dtcm"]
    assert [p.region for p in place("u55", npu, (8 << 20) + 1, [1024])] == ["ddr", "dtcm"]
    with pytest.raises(CompileError, match=r"needs 300.00 MiB of flash.*ddr 248.00 MiB"):
        place("u55", npu, 300 << 20, [1024])
    with pytest.raises(CompileError, match=r"needs 8.00 MiB of flash.*\(flash 8.00 MiB\)"):
        place("m55", get_target("cortex-m55").memories, (8 << 20) + 1, [1024])


def test_npu_rules_follow_each_family():
    from ptec.ethosu.support import npu_refusal
    from ptec.tosa import DType, GraphBuilder

    g = GraphBuilder()
    a, b = g.input("a", [1, 4], DType.INT32), g.input("b", [1, 4], DType.INT32)
    y = g.tensor("y", [1, 4], DType.BOOL)
    g.op(Op.EQUAL, [a, b], [y])
    g.output(y)
    assert npu_refusal("u55", g) == "Ethos-U55 has no TOSA EQUAL"
    assert npu_refusal("u65", g) == "Ethos-U65 has no TOSA EQUAL"
    assert npu_refusal("u85", g) is None
    t = GraphBuilder()
    x = t.input("x", [1, 1, 2, 2, 3], DType.INT32)
    z = t.tensor("z", [1, 1, 2, 3, 2], DType.INT32)
    t.op(Op.TRANSPOSE, [x], [z], perms=[0, 1, 2, 4, 3])
    t.output(z)
    assert "an int32 transpose of rank 5" in npu_refusal("u55", t)


class _RefusesMaxPool(EthosUTarget):
    """Vela with a pretend gap: any graph with a MAX_POOL2D is refused."""

    def lower(self, graph):
        if any(o.op == Op.MAX_POOL2D for o in graph.operators):
            raise Refused("pretend Vela error: no MAX_POOL2D today")
        return super().lower(graph)


class _NoRules(EthosUTarget):
    def refusal(self, graph):
        return None


def _compile_with(delegate_target, model, x):
    from ptec.targets import _tosa_passes, ethos_u_target
    import dataclasses
    import ptec.targets as targets

    base = ethos_u_target(delegate_target.npu.accelerator)
    spec = dataclasses.replace(base, passes=_tosa_passes("INT", delegate_target))
    original = targets.get_target
    try:
        targets.get_target = lambda *a, **k: spec
        import ptec.compiler as compiler
        compiler.get_target = targets.get_target
        return ptec.compile(model, (x,), target=base.name,
                            quantize=ptec.Int8(calibration=[(x,)]), integer_io=True)
    finally:
        targets.get_target = original
        compiler.get_target = original


def test_a_vela_refusal_sends_the_culprit_to_the_cpu_and_the_rest_to_the_npu():
    from ptec.ethosu.npu import npu_config

    model = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, 1, 1)).eval()
    x = torch.randn(1, 3, 16, 16)
    program = _compile_with(_RefusesMaxPool(npu_config("ethos-u55-128")), model, x)
    report = program.report()
    assert "refused it: pretend Vela error: no MAX_POOL2D today" in report, report
    assert len(npu_delegates(program.instructions)) == 2, report
    host = ptec.compile(model, (x,), quantize=ptec.Int8(calibration=[(x,)]), integer_io=True)
    xq = quantize_input(host, x)
    np.testing.assert_array_equal(np.asarray(ptec.load(tosa_twin(program))(xq)[0]),
                                  np.asarray(ptec.load(host.buffer)(xq)[0]))


def test_vela_errors_are_refusals_with_velas_words():
    """Vela has no CPU fallback for TOSA: an op the U55 lacks is an error, which
    compile_tosa turns into VelaRefused (the partitioner's signal)."""
    from ptec.ethosu import VelaRefused, compile_tosa, npu_config
    from ptec.tosa import DType, GraphBuilder

    g = GraphBuilder()
    a, b = g.input("a", [1, 8], DType.INT8), g.input("b", [1, 8], DType.INT8)
    y = g.tensor("y", [1, 8], DType.INT8)
    g.op(Op.INTDIV, [a, b], [y])
    g.output(y)
    with pytest.raises(VelaRefused) as refused:
        compile_tosa(g.serialize(), npu_config("ethos-u55-128"))
    assert str(refused.value)


def test_system_config_and_memory_mode_are_the_users_choice():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU()).eval()
    x = torch.randn(1, 3, 8, 8)
    config = ptec.Int8(calibration=[(x,)])
    default = ptec.compile(model, (x,), target="ethos-u65-256", quantize=config)
    flags = default.program.execution_plan[0].delegates[0].compile_specs[1].value.decode()
    assert "--system-config=Ethos_U65_High_End" in flags
    assert "--memory-mode=Dedicated_Sram_384KB" in flags
    chosen = ptec.compile(model, (x,), target="ethos-u55-256", quantize=config,
                          system_config="Ethos_U55_Deep_Embedded", memory_mode="Sram_Only")
    data = chosen.report_data()["npu"]
    assert (data["system_config"], data["memory_mode"]) == ("Ethos_U55_Deep_Embedded",
                                                            "Sram_Only")
    assert data["delegates"][0]["estimates"]["core_clock_hz"] == 200e6
    with pytest.raises(CompileError, match="unknown Vela memory mode"):
        ptec.compile(model, (x,), target="ethos-u55-128", quantize=config, memory_mode="Nope")
    with pytest.raises(CompileError, match="not for an Ethos-U85"):
        ptec.compile(model, (x,), target="ethos-u85-256", quantize=config,
                     system_config="Ethos_U55_High_End_Embedded")
    with pytest.raises(CompileError, match="runs quantized models"):
        ptec.compile(model, (x,), target="ethos-u85-256")


def test_int8_add_is_one_npu_add():
    """ExecuTorch's 20-bit add rescales: Vela maps the int8 add to one NPU ADD."""
    class Add(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(4, 8, 1), nn.Conv2d(4, 8, 1)

        def forward(self, x):
            return self.a(x) + self.b(x)

    x = torch.randn(1, 4, 8, 8)
    program = ptec.compile(Add().eval(), (x,), target="ethos-u55-128",
                           quantize=ptec.Int8(calibration=[(x,)]))
    layers = npu_delegates(program.instructions)[0].delegate_details.layers
    ops = [r["NNG Operator"] for r in layers]
    assert ops.count("Add") == 1 and "Mul" not in ops, ops
