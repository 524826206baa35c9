"""The whole Ethos-U chain: PyTorch -> ptec -> Vela -> .pte -> C runtime ->
Arm's driver API -> ptec's simulated NPU (runtime/src/backends/ethosu/sim).

- every int8 op family of the TOSA tests (test_tosa_lowering.INT8_CASES),
  compiled for ethos-u55-128 and ethos-u65-256 with integer I/O, runs through
  `ptec.load(..., target=npu)` and equals its TOSA twin (the delegates' TOSA
  graphs on ptec's C TOSA executor) and the host int8 build, bit for bit;
- the digits CNN (examples/digits.py), DS-CNN and MobileNetV2 96x96 x0.5
  (examples/models.py) for ethos-u55-128 equal the host int8 build bit for
  bit through `ptec.load`, `build/host/ptec-run --npu` and the ASan+UBSan
  `build/asan/ptec-run --npu` (leak checking on);
- on ethos-u85-256 the same op families and DS-CNN / MobileNetV2 96x96 x0.5
  equal the host int8 build bit for bit through `ptec.load` (and DS-CNN through
  ptec-run and the ASan ptec-run); what the simulator does not model of the
  U85 fails with the named status "not simulated" (U85_UNSUPPORTED lists op
  families, none today; U85_NOT_SIMULATED the commands, with the reason);
- on the emulated Cortex-M55 (QEMU mps3-an547), the runner firmware linked
  with the simulator as its driver (tests/cortex_m: ptec-runner-ethosu-sim.elf,
  the simulator's work memory placed in the board's DDR) runs the digits CNN,
  DS-CNN, MobileNetV2 and the transformer example (int64 token ids in, its
  embedding on the M55) for ethos-u55-128 and ethos-u85-256 equal to the host
  int8 build (ResNet-18, whose program is placed in the DDR, runs there in
  test_ethosu_compile.py);
- ExecuTorch 1.4.1's own Arm-flow .pte (EthosUQuantizer + EthosUPartitioner)
  runs in ptec's runtime on the simulator;
- A16W8 families on U55-128 and U85-256, and the transformer example's NPU
  delegate on U85-256 (equal to the host int8 build and its TOSA twin).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec import device
from ptec.ethosu import tosa_twin
from ptec.ethosu.report import npu_delegates
from ptec.runtime import PtecError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_tosa_lowering import INT8_CASES, integer_case, quantize_input  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))
from models import EXAMPLES  # noqa: E402

RUNNERS = {"gcc": Path(os.environ.get("PTEC_RUN", REPO / "build" / "host" / "ptec-run")),
           "asan": Path(os.environ.get("PTEC_RUN_ASAN", REPO / "build" / "asan" / "ptec-run"))}
SIM_ELF = device.build_dir("cortex-m55") / "tests-cortex-m" / "ptec-runner-ethosu-sim.elf"
SEED = 11


@functools.lru_cache(maxsize=None)
def _case(case: str, target: str):
    """(program, integer input) of INT8_CASES[case] for `target` ("host" or an NPU)."""
    model, x, config = integer_case(case, SEED)
    kwargs = {} if target == "host" else {"target": target}
    program = ptec.compile(model, (x,), quantize=config, integer_io=True, **kwargs)
    return program, quantize_input(program, x)


def _first(outputs) -> np.ndarray:
    return np.asarray(outputs[0])


@pytest.mark.parametrize("npu", ["ethos-u55-128", "ethos-u65-256"])
@pytest.mark.parametrize("case", sorted(INT8_CASES))
def test_int8_op_families_on_the_simulated_npu(npu, case):
    host, xq = _case(case, "host")
    program, _ = _case(case, npu)
    want = _first(ptec.load(host.buffer)(xq))
    twin = _first(ptec.load(tosa_twin(program))(xq))
    np.testing.assert_array_equal(twin, want)
    loaded = ptec.load(program.buffer, target=npu)
    calls = len(npu_delegates(program.instructions))
    got = _first(loaded(xq))
    np.testing.assert_array_equal(got, want)
    stats = loaded.npu_stats
    assert stats["invokes"] == calls and stats["failed"] == 0, stats
    assert calls == 0 or stats["ops"] > 0 and stats["bytes_written"][1] > 0, stats


#: a16w8 (int16 activations, EXT-INT16) families the simulated U55 runs bit-exactly.
#: Not avg_pool_padded: Vela 5.2.0 miscompiles its PAD after the convolution's
#: per-channel RESCALE of int32 data (an elementwise MUL on the NPU writes the PAD's
#: interior at the padded tensor's origin, test_ethosu_sim.py::test_vela_pad_after_
#: elementwise and docs/ethos-u-simulator.md), so the stream differs from the twin.
A16W8_ON_U55 = ["conv_stride2", "conv_dilated", "depthwise_relu6", "max_pool", "linear_relu",
                "add_relu"]


#: ... and on the U85 (48-bit accumulators, per-channel RESCALE of int32 data as a
#: POOL NONE from IFM2 with scale records): a few, for the test budget.
A16W8_ON_U85 = ["depthwise_relu6", "add_relu"]


@pytest.mark.parametrize("case,npu", [(c, "ethos-u55-128") for c in A16W8_ON_U55] +
                         [(c, "ethos-u85-256") for c in A16W8_ON_U85])
def test_a16w8_op_families_on_the_simulated_npu(case, npu):
    model, x, config = integer_case(case, SEED, ptec.A16W8)
    host = ptec.compile(model, (x,), quantize=config, integer_io=True)
    program = ptec.compile(model, (x,), target=npu, quantize=config, integer_io=True)
    xq = quantize_input(host, x)
    want = _first(ptec.load(host.buffer)(xq))
    np.testing.assert_array_equal(_first(ptec.load(tosa_twin(program))(xq)), want)
    np.testing.assert_array_equal(_first(ptec.load(program.buffer, target=npu)(xq)), want)


# ------------------------------------------------------------------ models

def _digits():
    sys.path.insert(0, str(REPO / "examples"))
    pytest.importorskip("sklearn")
    import digits
    x_train, y_train, x_test, _ = digits.load_data()
    torch.set_num_threads(1)
    model = digits.train(x_train, y_train)
    calibration = [(x_train[i:i + 1],) for i in range(32)]
    return model, (x_test[:1],), calibration, (x_test[1:2],)


def _example(name: str, **sizes):
    def build():
        model, inputs = EXAMPLES[name](**sizes)
        g = torch.Generator().manual_seed(0)
        calibration = [tuple(torch.randn(t.shape, generator=g) for t in inputs)
                       for _ in range(4)]
        return model, inputs, calibration, tuple(torch.randn(t.shape, generator=g)
                                                 for t in inputs)
    return build


MODELS = {"digits": _digits, "ds_cnn": _example("ds_cnn"),
          "mobilenet_v2": _example("mobilenet_v2", resolution=96, width_mult=0.5)}
MODEL_NPU = "ethos-u55-128"


@functools.lru_cache(maxsize=None)
def _model(name: str):
    """(host int8 program, NPU program, test inputs, host outputs) of MODELS[name]."""
    model, inputs, calibration, test = MODELS[name]()
    config = ptec.Int8(calibration=calibration)
    host = ptec.compile(model, inputs, quantize=config)
    program = ptec.compile(model, inputs, target=MODEL_NPU, quantize=config)
    assert npu_delegates(program.instructions), program.report()
    want = [np.asarray(t) for t in ptec.load(host.buffer)(*test)]
    return host, program, test, want


def _check_on_npu(program, test, want, npu: str):
    """`program` run by ptec.load on the simulated `npu` equals `want`, bit for bit."""
    loaded = ptec.load(program.buffer, target=npu)
    got = [np.asarray(t) for t in loaded(*test)]
    for w, o in zip(want, got):
        np.testing.assert_array_equal(o, w)
    stats = loaded.npu_stats
    assert stats["invokes"] == len(npu_delegates(program.instructions)), stats
    assert stats["failed"] == 0 and stats["macs"] > 0, stats


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_on_the_simulated_npu_equal_the_host(name):
    host, program, test, want = _model(name)
    _check_on_npu(program, test, want, MODEL_NPU)


def _ptec_run(flavour: str, pte: bytes, inputs, tmp: Path, *extra: str):
    runner = RUNNERS[flavour]
    if not runner.is_file():
        pytest.fail(f"{runner} is missing: `make build-host build-asan`")
    (tmp / "model.pte").write_bytes(pte)
    args = [str(runner), str(tmp / "model.pte"), "--output-dir", str(tmp), *extra]
    for k, x in enumerate(inputs):
        np.save(tmp / f"in{k}.npy", np.asarray(x))
        args += ["--input", str(tmp / f"in{k}.npy")]
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("flavour", sorted(RUNNERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_through_ptec_run_npu(name, flavour, tmp_path):
    host, program, test, want = _model(name)
    done = _ptec_run(flavour, program.buffer, test, tmp_path, "--npu", MODEL_NPU, "--npu-stats")
    assert done.returncode == 0, done.stderr
    stats = [line for line in done.stderr.splitlines() if line.startswith("ptec-run: npu ")]
    assert stats and " macs " in stats[0], done.stderr
    for k, w in enumerate(want):
        np.testing.assert_array_equal(np.load(tmp_path / f"output{k}.npy"), w)


def test_ptec_run_without_npu_has_no_driver(tmp_path):
    host, program, test, _ = _model("ds_cnn")
    done = _ptec_run("gcc", program.buffer, test, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "PTEC_STATUS_DEVICE_ERROR" in done.stderr and "no Ethos-U driver available" in \
        done.stderr


def test_ptec_run_names_a_stream_for_another_npu(tmp_path):
    host, program, test, _ = _model("ds_cnn")
    done = _ptec_run("gcc", program.buffer, test, tmp_path, "--npu", "ethos-u55-256")
    assert done.returncode == 2, done.stderr
    assert "stream compiled for another NPU" in done.stderr, done.stderr
    done = _ptec_run("gcc", program.buffer, test, tmp_path, "--npu", "ethos-u42-1")
    assert done.returncode == 1 and "is no Ethos-U" in done.stderr, done.stderr


def test_too_little_npu_work_memory_is_named(tmp_path):
    """MobileNetV2's 1000x1280 classifier decodes to 2 x 2.56 MB of int16 in the
    simulator's work memory: 4 MiB is too little, said as such."""
    host, program, test, _ = _model("mobilenet_v2")
    done = _ptec_run("gcc", program.buffer, test, tmp_path, "--npu", MODEL_NPU,
                     "--npu-work", str(4 << 20))
    assert done.returncode == 2, done.stderr
    assert "(simulator status 11 work buffer too small)" in done.stderr, done.stderr
    assert "1000x1x1x1280 kernel" in done.stderr, done.stderr


# --------------------------------------------------------------------- U85

U85 = "ethos-u85-256"
#: INT8_CASES the U85 simulator does not run yet: case -> why (the named status
#: "not simulated" and the simulator's message say which command).
U85_UNSUPPORTED: dict[str, str] = {}


@pytest.mark.parametrize("case", sorted(INT8_CASES))
def test_int8_op_families_on_the_simulated_u85(case):
    host, xq = _case(case, "host")
    program, _ = _case(case, U85)
    want = _first(ptec.load(host.buffer)(xq))
    loaded = ptec.load(program.buffer, target=U85)
    calls = len(npu_delegates(program.instructions))
    if case in U85_UNSUPPORTED:
        with pytest.raises(PtecError) as failed:
            loaded(xq)
        assert failed.value.npu_status == "not simulated", failed.value
        assert U85_UNSUPPORTED[case].split(":")[0] in str(failed.value), failed.value
        return
    got = _first(loaded(xq))
    np.testing.assert_array_equal(got, want)
    stats = loaded.npu_stats
    assert stats["invokes"] == calls and stats["failed"] == 0, stats
    assert calls == 0 or stats["ops"] > 0 and stats["bytes_written"][1] > 0, stats


@functools.lru_cache(maxsize=None)
def _u85_model(name: str):
    host, _, test, want = _model(name)
    model, inputs, calibration, _ = MODELS[name]()
    program = ptec.compile(model, inputs, target=U85, quantize=ptec.Int8(calibration=calibration))
    assert npu_delegates(program.instructions), program.report()
    return program, test, want


@pytest.mark.parametrize("name", ["ds_cnn", "mobilenet_v2"])
def test_models_on_the_simulated_u85_equal_the_host(name):
    program, test, want = _u85_model(name)
    _check_on_npu(program, test, want, U85)


@functools.lru_cache(maxsize=None)
def _transformer(npu: str):
    """(NPU program, test inputs, host outputs, TOSA twin's outputs) of the transformer
    example (8 tokens, vocabulary 128; int64 token ids, the embedding stays on the CPU).
    tosa_friendly is given explicitly: left to the target, the host build would keep
    ptec's fused softmax / layer-norm kernels and the NPU build the TOSA decompositions,
    two quantized models that round a few values differently; with one converted model
    the host and the NPU delegate are equal bit for bit."""
    model, inputs = EXAMPLES["transformer"](seq_len=8, vocab_size=128)
    g = torch.Generator().manual_seed(0)
    calibration = [(torch.randint(0, 128, (1, 8), generator=g),) for _ in range(4)]
    test = (torch.randint(0, 128, (1, 8), generator=g),)
    config = ptec.Int8(calibration=calibration, tosa_friendly=True)
    host = ptec.compile(model, inputs, quantize=config)
    program = ptec.compile(model, inputs, target=npu, quantize=config)
    assert len(npu_delegates(program.instructions)) == 1, program.report()
    want = [np.asarray(t) for t in ptec.load(host.buffer)(*test)]
    twin = [np.asarray(t) for t in ptec.load(tosa_twin(program))(*test)]
    return program, test, want, twin


def test_transformer_delegate_on_the_simulated_u85():
    """The transformer example for ethos-u85-256: its NPU delegate on the simulator
    equals the host int8 build and its TOSA twin bit for bit."""
    program, test, want, twin = _transformer(U85)
    for w, t in zip(want, twin):
        np.testing.assert_array_equal(t, w)
    _check_on_npu(program, test, want, U85)


@pytest.mark.parametrize("flavour", sorted(RUNNERS))
def test_u85_through_ptec_run_npu(flavour, tmp_path):
    program, test, want = _u85_model("ds_cnn")
    done = _ptec_run(flavour, program.buffer, test, tmp_path, "--npu", U85, "--npu-stats")
    assert done.returncode == 0, done.stderr
    for k, w in enumerate(want):
        np.testing.assert_array_equal(np.load(tmp_path / f"output{k}.npy"), w)


#: What the U85 simulator does not model (valid U85 commands, named status "not
#: simulated"; none of INT8_CASES or the models needs them): command -> reason.
U85_NOT_SIMULATED = {
    "NPU_OP_RESIZE REPLICATE": "resize mode 1",
    "NPU_OP_BRANCH": "NPU_OP_BRANCH (control flow)",
    "acc_input KEEP / acc_output DISABLE": "operation chaining",
    "int16 LUTs, TANH, SIGMOID": "activation function",
    "DIV by zero": "DIV by zero",
}


def _with_first_op(pte: bytes, opcode: int) -> bytes:
    """`pte` with the first CONV/DEPTHWISE/POOL/ELEMENTWISE of its first command
    stream (COP1 payload) replaced by the cmd0 operation `opcode`."""
    at = pte.index(b"COP1")
    words = np.frombuffer(pte[at:], np.uint32, count=(len(pte) - at) // 4).copy()
    i = 1
    while words[i] & 0xff != 2:  # driver actions up to COMMAND_STREAM
        i += 3 if words[i] & 0xff == 1 else 1
    i += 1
    while words[i] & 0x4000 or (words[i] & 0x3ff) not in (2, 3, 5, 6):
        i += 2 if words[i] & 0x4000 else 1
    words[i] = opcode
    return pte[:at] + words.tobytes() + pte[at + 4 * len(words):]


def test_u85_unsimulated_commands_are_named(tmp_path):
    """A U85 command the simulator does not model (NPU_OP_RESIZE in REPLICATE mode put
    in DS-CNN's stream) fails with "not simulated" and the command, in Python and in
    ptec-run; a stream for another U85 is refused as the hardware's driver does."""
    program, test, _ = _u85_model("ds_cnn")
    resize = _with_first_op(program.buffer, 7 | 1 << 16)
    with pytest.raises(PtecError) as failed:
        ptec.load(resize, target=U85)(*test)
    assert failed.value.status == "PTEC_STATUS_DEVICE_ERROR"
    assert failed.value.npu_status == "not simulated"
    assert U85_NOT_SIMULATED["NPU_OP_RESIZE REPLICATE"] in str(failed.value), failed.value
    for flavour in sorted(RUNNERS):
        done = _ptec_run(flavour, resize, test, tmp_path, "--npu", U85)
        assert done.returncode == 2, done.stderr
        assert "(simulator status 10 not simulated)" in done.stderr, done.stderr
    with pytest.raises(PtecError) as failed:
        ptec.load(program.buffer, target="ethos-u85-512")(*test)
    assert "stream compiled for another NPU" in str(failed.value), failed.value
    done = _ptec_run("gcc", program.buffer, test, tmp_path, "--npu", "ethos-u85-512")
    assert done.returncode == 2 and "stream compiled for another NPU" in done.stderr, done.stderr


# ------------------------------------------------------------- Cortex-M55

#: (model, NPU) run in the firmware: the programs the tests above compiled. MobileNetV2's
#: classifier decodes to more than the board's largest RAM region; the simulator's work
#: memory is in the DDR.
M55_MODELS = [("digits", MODEL_NPU), ("ds_cnn", MODEL_NPU), ("mobilenet_v2", MODEL_NPU),
              ("transformer", MODEL_NPU), ("digits", U85), ("ds_cnn", U85),
              ("mobilenet_v2", U85), ("transformer", U85)]


@dataclass
class M55Run:
    text: str                 # what the firmware printed
    outputs: list[np.ndarray]


def run_on_the_m55_simulator(pte: bytes, inputs, npu: str, tmp_path: Path) -> M55Run:
    """Runs `pte` in the runner firmware linked with the simulator (SIM_ELF) on the
    emulated Cortex-M55 (QEMU mps3-an547) with --npu `npu`; fails unless it succeeds."""
    if not SIM_ELF.is_file():
        pytest.fail(f"{SIM_ELF} is missing: build it with `make build-m55`")
    (tmp_path / "model.pte").write_bytes(pte)
    (tmp_path / "out").mkdir()
    args = ["model.pte", "--output-dir", "out", "--npu", npu]
    for k, x in enumerate(inputs):
        np.save(tmp_path / f"in{k}.npy", np.asarray(x))
        args += ["--input", f"in{k}.npy"]
    rc, out = device.run_firmware(SIM_ELF, "mps3-an547", args, timeout=600, cwd=tmp_path)
    assert rc == 0, out
    outputs = sorted((tmp_path / "out").glob("output*.npy"),
                     key=lambda p: int(p.stem.removeprefix("output")))
    return M55Run(out, [np.load(p) for p in outputs])


@pytest.mark.parametrize("name,npu", M55_MODELS)
def test_models_on_the_emulated_m55_through_the_simulator(name, npu, tmp_path):
    if name == "transformer":  # int64 token ids in, its embedding on the M55
        program, test, want, _ = _transformer(npu)
    elif npu == MODEL_NPU:
        _, program, test, want = _model(name)
    else:
        program, test, want = _u85_model(name)
    run = run_on_the_m55_simulator(program.buffer, test, npu, tmp_path)
    assert "place program flash" in run.text and "place npu_work ddr" in run.text, run.text
    assert "ptec-runner: npu_stats invokes 1 " in run.text, run.text
    assert len(run.outputs) == len(want)
    for o, w in zip(run.outputs, want):
        np.testing.assert_array_equal(o, w)


# ------------------------------------------------- ExecuTorch's own programs

class _SmallCnn(torch.nn.Module):
    """conv3x3 -> relu -> conv3x3 + skip -> relu -> global average pool (int8)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        a = torch.relu(self.conv1(x))
        return self.pool(torch.relu(a + self.conv2(a)))


def test_executorchs_arm_flow_program_on_the_simulated_npu():
    """ExecuTorch 1.4.1's Arm flow (EthosUQuantizer + EthosUPartitioner + Vela; needs
    build/tosa-tools for tosa_serializer, tests/python/executorch_arm.py) compiles a small
    CNN for ethos-u55-128; ptec's runtime runs ExecuTorch's .pte with its command stream
    on the simulator (the segment and the inline blob alike), within one output step of
    ExecuTorch's quantized model in eager mode (PT2E's converted module: float rounding,
    where the NPU rescales in integers). (ExecuTorch's own TOSA graph cannot be the
    oracle yet: its serializer gives graph inputs an empty data vector, which ptec's
    TOSA readers take for a constant with no bytes.)"""
    pytest.importorskip("executorch")
    from executorch.exir import ExecutorchBackendConfig
    from executorch_arm import executorch_ethosu_lowered

    torch.manual_seed(SEED)
    model = _SmallCnn().eval()
    g = torch.Generator().manual_seed(SEED)
    shape = (1, 3, 16, 16)
    x = torch.randn(shape, generator=g)
    calibration = [(torch.randn(shape, generator=g),) for _ in range(4)]
    edge, tosa_graphs, converted = executorch_ethosu_lowered(model, (x,), calibration,
                                                             MODEL_NPU)
    segmented = bytes(edge.to_executorch().buffer)
    inline = bytes(edge.to_executorch(
        ExecutorchBackendConfig(extract_delegate_segments=False)).buffer)
    loaded = ptec.load(segmented, target=MODEL_NPU)
    got = np.asarray(loaded(x)[0])
    assert loaded.npu_stats["invokes"] == len(tosa_graphs) >= 1, loaded.npu_stats
    assert loaded.npu_stats["failed"] == 0 and loaded.npu_stats["macs"] > 0
    np.testing.assert_array_equal(np.asarray(ptec.load(inline, target=MODEL_NPU)(x)[0]), got)
    with torch.no_grad():
        reference = converted(x).numpy()
    (scale,) = [n.args[1] for n in converted.graph.nodes
                if "dequantize_per_tensor" in str(n.target)][-1:]
    error = np.abs(got - reference).max()
    assert error <= scale + 1e-6, f"max error {error} > one output step {scale}"
