"""The EthosUBackend with a test double of Arm's Ethos-U driver
(tests/c/ethosu_driver_double.c), on programs Vela compiles at test time.

- on the host: `ptec-c-tests ethosu FILE.pte MACS PRODUCT` (gcc build and the
  ASan+UBSan build) loads, plans and runs a program with the double set to an
  NPU; the double checks the base addresses, sizes, alignment, the command
  stream and its config word, then writes output = input + 1;
- on the emulated Cortex-M55: the runner firmware linked with the double
  (tests/cortex_m: ptec-runner-ethosu-double.elf), the program in flash;
  and the plain runner (ptec_ethosu_nodriver), which fails cleanly;
- the C tests' committed programs (tests/c/data/ethosu_programs.h) are what
  tests/c/data/make_ethosu_data.py makes with the pinned Vela.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ethosu_testing import add_graph, double_output, ethosu_program, rescale_graph, vela_blob
from ptec import device
from ptec.ethosu.npu import npu_config

REPO = Path(__file__).resolve().parents[2]
C_TESTS = [REPO / "build" / "host" / "ptec-c-tests", REPO / "build" / "asan" / "ptec-c-tests"]
PRODUCTS = {"u55": 0, "u65": 1, "u85": 2}
NPUS = ["ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u85-256",
        "ethos-u85-512"]


def npu_args(npu: str) -> list[str]:
    return [str(npu_config(npu).macs), str(PRODUCTS[npu.split("-")[1]])]


def run_c_double(binary: Path, pte: Path, npu: str) -> subprocess.CompletedProcess:
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: `make build-host build-asan`")
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run([str(binary), "ethosu", str(pte), *npu_args(npu)], capture_output=True,
                          text=True, timeout=60, env=env)


def test_committed_c_data_is_current():
    path = REPO / "tests" / "c" / "data" / "make_ethosu_data.py"
    spec = importlib.util.spec_from_file_location("make_ethosu_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OUT.read_text() == module.generate(), \
        "tests/c/data/ethosu_programs.h is stale: run tests/c/data/make_ethosu_data.py"


@pytest.mark.parametrize("binary", C_TESTS, ids=["gcc", "asan"])
def test_fresh_programs_through_the_driver_double(binary, seed, tmp_path):
    rng = np.random.default_rng(seed)
    for i in range(4):
        shape = (1, *(int(v) for v in rng.integers(1, 9, 2)), int(rng.integers(1, 17)))
        make = [rescale_graph, add_graph][i % 2]
        npu = NPUS[int(rng.integers(len(NPUS)))]
        graph = make(shape)
        _, blob = vela_blob(graph, npu)
        pte = tmp_path / f"p{i}.pte"
        pte.write_bytes(ethosu_program(blob, graph))
        what = f"{make.__name__}{shape} on {npu} (PTEC_SEED={seed})"
        done = run_c_double(binary, pte, npu)
        assert done.returncode == 0 and "outputs ok" in done.stdout, \
            f"{what}: {done.stdout}{done.stderr}"
        # The same program on an NPU of another product or size: the driver refuses it.
        other = "ethos-u65-512" if "u65" not in npu else "ethos-u55-128"
        done = run_c_double(binary, pte, other)
        assert done.returncode == 2 and "PTEC_STATUS_DEVICE_ERROR" in done.stdout, what
        assert "return code -13" in done.stdout, f"{what}: {done.stdout}"


# -------------------------------------------------------------- Cortex-M55

def run_on_m55(elf: Path, pte: bytes, inputs: list[np.ndarray], tmp_path: Path):
    if not elf.is_file():
        pytest.fail(f"{elf} is missing: build it with `make build-m55`")
    (tmp_path / "model.pte").write_bytes(pte)
    (tmp_path / "out").mkdir(exist_ok=True)
    args = ["model.pte", "--output-dir", "out"]
    for k, x in enumerate(inputs):
        np.save(tmp_path / f"in{k}.npy", x)
        args += ["--input", f"in{k}.npy"]
    return device.run_firmware(elf, "mps3-an547", args, timeout=120, cwd=tmp_path)


DOUBLE_ELF = device.build_dir("cortex-m55") / "tests-cortex-m" / "ptec-runner-ethosu-double.elf"


@pytest.mark.parametrize("make", [rescale_graph, add_graph])
def test_m55_runner_with_the_driver_double(make, seed, tmp_path):
    """The backend on the device: the program (weights too) in flash, the scratch in
    method memory; the double, set to an Ethos-U55-128 as on Corstone-300, checks them."""
    rng = np.random.default_rng(seed)
    graph = make((1, 4, 4, 8))
    _, blob = vela_blob(graph, "ethos-u55-128")
    inputs = [rng.integers(-128, 128, graph.tensors[n].shape, dtype=np.int8)
              for n in graph.inputs]
    rc, out = run_on_m55(DOUBLE_ELF, ethosu_program(blob, graph), inputs, tmp_path)
    assert rc == 0, out
    assert "ethosu-double: ran" in out and "place program flash" in out
    y = np.load(tmp_path / "out" / "output0.npy")
    np.testing.assert_array_equal(y, double_output(inputs, y.shape))


def test_m55_driver_refuses_a_stream_for_another_npu(tmp_path):
    graph = rescale_graph((1, 4, 4, 8))
    _, blob = vela_blob(graph, "ethos-u85-256")
    rc, out = run_on_m55(DOUBLE_ELF, ethosu_program(blob, graph),
                         [np.zeros((1, 4, 4, 8), np.int8)], tmp_path)
    assert rc == 2, out
    assert "ethosu-double: refused -13" in out
    assert "PTEC_STATUS_DEVICE_ERROR" in out and "return code -13" in out


def test_m55_runner_without_a_driver_fails_cleanly(tmp_path):
    """ptec-runner links ptec_ethosu_nodriver (PTEC_ETHOSU_DRIVER) for now."""
    graph = rescale_graph((1, 4, 4, 8))
    _, blob = vela_blob(graph, "ethos-u55-128")
    rc, out = run_on_m55(device.runner_elf("cortex-m55"), ethosu_program(blob, graph),
                         [np.zeros((1, 4, 4, 8), np.int8)], tmp_path)
    assert rc == 2, out
    assert "PTEC_STATUS_DEVICE_ERROR" in out and "no Ethos-U driver available" in out
