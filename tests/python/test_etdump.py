"""Profiles in ExecuTorch's ETDump format, read back by ExecuTorch 1.4.1's Inspector.

`ptec-run --etdump` and `ptec.load(...).run(..., profile=True)` write, for every
execute, a "Method::execute" event and one event per operator or delegate call,
named as the program's instruction (`ptec inspect --json`) with its index.
The reference is ExecuTorch's own reader: `executorch.devtools.Inspector`.
"""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.cli import main as ptec_cli  # noqa: E402

PTEC_RUN = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))
SIZES = {"mobilenet_v2": dict(resolution=64), "resnet18": dict(resolution=64), "ds_cnn": {},
         "transformer": {}}


def inspector(etdump: bytes):
    from executorch.devtools import Inspector
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Output Buffer not found": no debug tensors asked for
        return Inspector(etdump_data=etdump)


def expected_events(path: Path, capsys) -> list[tuple[str, int]]:
    """(name, instruction) of each call the program makes, from `ptec inspect --json`."""
    assert ptec_cli(["inspect", "--json", str(path)]) == 0
    (method,) = json.loads(capsys.readouterr().out)["methods"]
    events = []
    for k, ins in enumerate(method["instructions"]):
        if ins["kind"] == "KernelCall":
            events.append((ins["operator"], k))
        elif ins["kind"] == "DelegateCall":
            events.append(("DELEGATE_CALL", k))
    return events


def check_blocks(etdump: bytes, expected: list[tuple[str, int]], runs: int):
    """The Inspector merges the runs of one method into a block, one time per run."""
    (block,) = inspector(etdump).event_blocks
    assert block.name == "Execute"
    names = [(e.name, e._instruction_id) for e in block.events]
    assert names[0] == ("Method::execute", -1)
    assert names[1:] == expected
    assert all(len(e.perf_data.raw) == runs for e in block.events)
    for run in range(runs):
        total = block.events[0].perf_data.raw[run]
        calls = sum(e.perf_data.raw[run] for e in block.events[1:])
        assert 0 < calls <= total  # each call inside the execute


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def example(request, tmp_path_factory):
    name = request.param
    model, inputs = EXAMPLES[name](**SIZES[name])
    folder = tmp_path_factory.mktemp(name)
    path = folder / f"{name}.pte"
    ptec.compile(model, inputs).save(path)
    for k, x in enumerate(inputs):
        np.save(folder / f"input{k}.npy", x.numpy())
    return path, inputs


def test_ptec_run_etdump_of_each_example_loads_in_executorch_inspector(example, tmp_path, capsys):
    path, inputs = example
    args = [PTEC_RUN, str(path), "--repeat", "2", "--etdump", str(tmp_path / "p.etdp")]
    for k in range(len(inputs)):
        args += ["--input", str(path.parent / f"input{k}.npy")]
    subprocess.run(args, check=True, capture_output=True)
    check_blocks((tmp_path / "p.etdp").read_bytes(), expected_events(path, capsys), runs=2)


def test_profile_from_python_equals_program_and_outputs(example, capsys):
    path, inputs = example
    loaded = ptec.load(path)
    plain = loaded.run(inputs)
    profiled = loaded.run(inputs, profile=True)
    for a, b in zip(plain, profiled):
        assert torch.equal(a, b)  # observing changes nothing
    profile = loaded.last_profile
    expected = expected_events(path, capsys)
    assert [(e.name, e.instruction) for e in profile.events[1:]] == expected
    check_blocks(profile.etdump, expected, runs=1)
    loaded.run(inputs)
    assert loaded.last_profile is profile  # a run without profile keeps the last one


def test_delegate_calls_are_events(tmp_path, capsys):
    """An int8 program with TOSA delegates and CPU fallback: DELEGATE_CALL events."""
    model, inputs = EXAMPLES["ds_cnn"]()
    program = ptec.compile(model, inputs, target="tosa-int",
                           quantize=ptec.Int8(calibration=[inputs]))
    path = tmp_path / "ds_cnn_tosa.pte"
    program.save(path)
    expected = expected_events(path, capsys)
    assert any(name == "DELEGATE_CALL" for name, _ in expected)
    np.save(tmp_path / "x.npy", inputs[0].numpy())
    subprocess.run([PTEC_RUN_ASAN, str(path), "--input", str(tmp_path / "x.npy"), "--etdump",
                    str(tmp_path / "p.etdp")], check=True, capture_output=True)
    check_blocks((tmp_path / "p.etdp").read_bytes(), expected, runs=1)


def test_etdump_to_an_unwritable_path_is_an_error(example, tmp_path):
    path, inputs = example
    args = [PTEC_RUN_ASAN, str(path), "--etdump", str(tmp_path / "missing" / "p.etdp")]
    for k in range(len(inputs)):
        args += ["--input", str(path.parent / f"input{k}.npy")]
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 1
    assert "cannot write" in r.stderr


def test_cortex_m55_runner_writes_an_etdump(tmp_path, capsys):
    """The emulated Cortex-M55's runner: the same events, in SysTick ticks, over semihosting."""
    from ptec.device import DeviceProgram

    model, inputs = EXAMPLES["ds_cnn"]()
    program = ptec.compile(model, inputs, target="cortex-m55",
                           quantize=ptec.Int8(calibration=[inputs]))
    device = DeviceProgram(program.buffer, "cortex-m55")
    out = device.run(inputs, profile=True)
    assert torch.equal(out[0], ptec.load(program.buffer).run(inputs)[0])
    profile = device.last_profile
    ticks = {op.index: op.ticks for op in device.last_run.ops}
    assert [(e.name, e.instruction) for e in profile.events[1:]] == [
        (op.name, op.index) for op in device.last_run.ops]
    assert all(e.duration_ns == ticks[e.instruction] for e in profile.events[1:])
    path = tmp_path / "ds_cnn_m55.pte"
    program.save(path)
    check_blocks(profile.etdump, expected_events(path, capsys), runs=1)
