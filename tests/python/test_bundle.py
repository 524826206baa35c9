"""Bundled test vectors in ExecuTorch's BundledProgram format (ptec.bundle, --verify).

A bundle carries the program and (inputs, expected outputs) cases; `ptec-run
--verify` and the emulated Cortex-M55's runner run each case and report its
largest error. ExecuTorch 1.4.1's BundledProgram tools are the reference for
the format: they read ptec's bundles, and ptec-run verifies theirs.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.devtools.bundle import read_bundle  # noqa: E402

PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))


def verify(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([PTEC_RUN_ASAN, str(path), "--verify", *extra], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def ds_cnn():
    """DS-CNN fp32 with three cases whose expected outputs are PyTorch eager's."""
    model, inputs = EXAMPLES["ds_cnn"]()
    program = ptec.compile(model, inputs)
    g = torch.Generator().manual_seed(7)
    cases = []
    for _ in range(3):
        x = torch.randn(inputs[0].shape, generator=g)
        with torch.no_grad():
            cases.append(([x], [model(x)]))
    return program, cases


def test_bundle_round_trips_and_executorch_reads_it(ds_cnn, tmp_path):
    from executorch.devtools.bundled_program.serialize import (
        deserialize_from_flatbuffer_to_bundled_program)

    program, cases = ds_cnn
    data = ptec.bundle(program, cases, path=tmp_path / "ds_cnn.bpte")
    assert (tmp_path / "ds_cnn.bpte").read_bytes() == data
    pte, suites = read_bundle(data)
    assert pte == program.buffer
    assert [torch.equal(c.inputs[0], x[0]) for c, (x, _) in zip(suites["forward"], cases)] == [
        True] * 3
    theirs = deserialize_from_flatbuffer_to_bundled_program(data)
    assert bytes(theirs.program) == program.buffer
    (suite,) = theirs.method_test_suites
    assert suite.method_name == "forward" and len(suite.test_cases) == 3
    t = suite.test_cases[2].expected_outputs[0].val
    expected = cases[2][1][0]
    assert list(t.sizes) == list(expected.shape)
    assert bytes(t.data) == expected.contiguous().numpy().tobytes()


def test_ptec_run_verifies_every_case(ds_cnn, tmp_path):
    program, cases = ds_cnn
    path = tmp_path / "ds_cnn.bpte"
    ptec.bundle(program, cases, path=path)
    r = verify(path)
    print(r.stdout, r.stderr)
    assert r.returncode == 0
    lines = [line for line in r.stdout.splitlines() if line.startswith("ptec-run: case")]
    assert len(lines) == 3 and all(line.endswith(": ok") for line in lines)
    errors = [float(line.split("max error ")[1].split()[0]) for line in lines]
    assert all(0 <= e < 1e-4 for e in errors)  # float rounding against eager
    assert "3 of 3 cases passed" in r.stdout


def test_a_wrong_expected_output_fails_naming_the_case(ds_cnn, tmp_path):
    program, cases = ds_cnn
    wrong = [(x, [y[0].clone()]) for x, y in cases]
    wrong[1][1][0][0, 3] += 0.5
    path = tmp_path / "wrong.bpte"
    ptec.bundle(program, wrong, path=path)
    r = verify(path)
    print(r.stdout)
    assert r.returncode == 3
    (line,) = [x for x in r.stdout.splitlines() if x.endswith("FAIL")]
    assert line.startswith("ptec-run: case 1: max error ")
    assert float(line.split("max error ")[1].split()[0]) == pytest.approx(0.5, abs=1e-5)
    assert "2 of 3 cases passed" in r.stdout


def test_ptec_run_verifies_an_executorch_bundle(tmp_path):
    """ExecuTorch's own flow: its program, its BundledProgram, its serializer."""
    from executorch.devtools import BundledProgram
    from executorch.devtools.bundled_program.config import MethodTestCase, MethodTestSuite
    from executorch.devtools.bundled_program.serialize import (
        serialize_from_bundled_program_to_flatbuffer)
    from executorch.exir import to_edge

    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.randn(2, 8)
    et = to_edge(torch.export.export(model.eval(), (x,))).to_executorch()
    xs = [torch.randn(2, 8) for _ in range(2)]
    with torch.no_grad():
        suite = MethodTestSuite("forward", [MethodTestCase((v,), (model(v),)) for v in xs])
    data = serialize_from_bundled_program_to_flatbuffer(BundledProgram(et, [suite]))
    path = tmp_path / "et.bpte"
    path.write_bytes(data)
    r = verify(path)
    print(r.stdout, r.stderr)
    assert r.returncode == 0 and "2 of 2 cases passed" in r.stdout
    pte, suites = read_bundle(data)
    out = ptec.load(pte).run(suites["forward"][1].inputs)
    torch.testing.assert_close(out[0], suites["forward"][1].expected_outputs[0])


def test_malformed_bundles_are_named_errors(ds_cnn, tmp_path, seed):
    program, cases = ds_cnn
    data = bytearray(ptec.bundle(program, cases[:1]))
    rng = np.random.default_rng(seed)
    statuses = set()
    for k in range(12):
        broken = bytearray(data)
        if k == 0:
            broken = broken[: len(broken) // 2]  # truncated
        else:
            for at in rng.integers(0, 64 if k < 6 else len(broken), 4):
                broken[at] ^= 0xFF
        path = tmp_path / f"broken{k}.bpte"
        path.write_bytes(bytes(broken))
        r = verify(path)
        assert r.returncode in (0, 1, 2, 3), r.stderr  # never a crash or a sanitizer report
        assert "Sanitizer" not in r.stderr
        if r.returncode == 2:
            statuses.add(r.stderr.split("PTEC_STATUS_")[1].split(":")[0])
    print("statuses:", statuses)
    assert statuses  # the damaged headers are refused with a named status


def test_bundle_verifies_on_the_emulated_cortex_m55(tmp_path):
    """int8 DS-CNN for the M55: expected outputs from the host build, bit for bit."""
    from ptec.device import run_program

    model, inputs = EXAMPLES["ds_cnn"]()
    program = ptec.compile(model, inputs, target="cortex-m55",
                           quantize=ptec.Int8(calibration=[inputs]))
    host = ptec.load(program.buffer)
    g = torch.Generator().manual_seed(3)
    xs = [torch.randn(inputs[0].shape, generator=g) for _ in range(2)]
    cases = [([x], host.run([x])) for x in xs]
    good, bad = tmp_path / "good.bpte", tmp_path / "bad.bpte"
    ptec.bundle(program, cases, path=good)
    wrong = [(x, [y[0].clone() + (1.0 if k == 1 else 0.0)]) for k, (x, y) in enumerate(cases)]
    ptec.bundle(program, wrong, path=bad)
    run = run_program(good, [], tmp_path / "out", cpu="cortex-m55", verify=True, profile=False)
    print(run.output)
    assert run.exit_code == 0 and [(c, e, ok) for c, e, ok in run.cases] == [
        (0, 0.0, True), (1, 0.0, True)]
    run = run_program(bad, [], tmp_path / "out", cpu="cortex-m55", verify=True, profile=False)
    assert run.exit_code == 4
    assert [(c, ok) for c, _, ok in run.cases] == [(0, True), (1, False)]
