"""EthosUBackend programs move both ways between ExecuTorch's Arm flow and ptec.

One small int8 CNN (2 convs, add, relu, average pool; 1x3x16x16) is compiled for
ethos-u55-128 by ExecuTorch 1.4.1's Arm flow (EthosUQuantizer, EthosUPartitioner,
Vela 5.2.0; tests/python/executorch_arm.py) and by ptec, from the same weights
and calibration data.

* ptec reads ExecuTorch's .pte: its Python .pte reader and `ptec inspect --json`
  find the EthosUBackend delegate (in a 128-byte-aligned segment, ExecuTorch's
  default, or inline), `ptec.ethosu.parse_blob` accepts the blob, and the C
  runtime loads the program and initialises the method (which verifies the
  blob); executing it without an NPU fails with the no-driver status, not a
  parse error; on ptec's Ethos-U55 simulator (ptec.load(..., target=NPU)) it
  runs and matches ExecuTorch's quantized reference (the converted PT2E model).
* The two blobs have the same layout block for block (names, order, 32-byte
  headers, sizes, zero padding, external=0), cmd_data starts COP1 with the same
  configuration words, and the compile specs ptec writes equal ExecuTorch's.
* ExecuTorch's own flatbuffer reader (`deserialize_pte_binary`) and runtime
  (`executorch.runtime`: program load, method metadata) read ptec's .pte and
  find ptec's blob under the EthosUBackend delegate; loading the method fails
  only because ExecuTorch's pip runtime registers no EthosUBackend.
"""
from __future__ import annotations

import functools
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import ptec
from ptec.cli import main as ptec_cli
from ptec.ethosu import BACKEND_ID, parse_blob, tosa_twin_of_pte
from ptec.ethosu.blob import BLOCK_ORDER
from ptec.pte.schema import DataLocation
from ptec.pte.file import delegate_bytes, deserialize_program, read_extended_header
from ptec.runtime import PtecError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executorch_arm import executorch_ethosu_lowered  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(os.environ.get("PTEC_RUN", REPO / "build" / "host" / "ptec-run"))
NPU = "ethos-u55-128"
SHAPE = (1, 3, 16, 16)
SEED = 7
#: The compile specs both write (ExecuTorch adds its own pass-pipeline entries).
SHARED_SPECS = ("tosa_spec", "compile_flags", "output_format", "target",
                "preserve_io_quantization")
SEGMENT_ALIGNMENT = 128


class SmallCnn(nn.Module):
    """conv3x3 -> relu -> conv3x3, + skip, relu, global average pool: 8 channels at 16x16."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        a = torch.relu(self.conv1(x))
        return self.pool(torch.relu(a + self.conv2(a)))


@functools.lru_cache(maxsize=None)
def _setup():
    torch.manual_seed(SEED)
    model = SmallCnn().eval()
    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(SHAPE, generator=g)
    calibration = [(torch.randn(SHAPE, generator=g),) for _ in range(4)]
    return model, x, calibration


@functools.lru_cache(maxsize=None)
def _executorch():
    """ExecuTorch's program both ways (blobs in segments, its default, and inline) and the
    TOSA graph its backend gave Vela."""
    model, x, calibration = _setup()
    edge, tosa, converted = executorch_ethosu_lowered(model, (x,), calibration, NPU)
    from executorch.exir import ExecutorchBackendConfig

    segmented = bytes(edge.to_executorch().buffer)
    inline = bytes(edge.to_executorch(
        ExecutorchBackendConfig(extract_delegate_segments=False)).buffer)
    return segmented, inline, tosa, converted


@functools.lru_cache(maxsize=None)
def _ptec():
    model, x, calibration = _setup()
    return bytes(ptec.compile(model, (x,), target=NPU,
                              quantize=ptec.Int8(calibration=calibration)).buffer)


def _ethosu_delegates(buffer: bytes):
    """[(delegate, blob)] of every EthosUBackend delegate, read with ptec's .pte reader."""
    program, segments = deserialize_program(buffer)
    return [(d, delegate_bytes(program, segments, d))
            for d in program.execution_plan[0].delegates or [] if d.id == BACKEND_ID]


def _only_blob(buffer: bytes):
    (delegate, blob), = _ethosu_delegates(buffer)
    return delegate, blob


def _specs(delegate) -> dict[str, bytes]:
    return {s.key: bytes(s.value) for s in delegate.compile_specs}


def test_ptec_reads_executorchs_pte_and_blob(capsys, tmp_path):
    segmented, inline, tosa, _ = _executorch()
    assert len(tosa) == 1, "the whole CNN should be one NPU delegate"

    # ExecuTorch's default: the blob in a segment, aligned to 128 bytes in the file.
    program, _ = deserialize_program(segmented)
    header = read_extended_header(segmented)
    delegate, blob = _only_blob(segmented)
    assert delegate.processed.location == DataLocation.SEGMENT
    segment = program.segments[delegate.processed.index]
    assert (header.segment_base_offset + segment.offset) % SEGMENT_ALIGNMENT == 0
    assert segment.size == len(blob)
    parsed = parse_blob(blob)
    assert len(parsed.inputs) == 1 and len(parsed.outputs) == 1

    # Without segments, inline in the program: the same blob.
    inline_delegate, inline_blob = _only_blob(inline)
    assert inline_delegate.processed.location == DataLocation.INLINE
    assert inline_blob == blob

    # `ptec inspect --json` shows it.
    path = tmp_path / "executorch.pte"
    path.write_bytes(segmented)
    capsys.readouterr()
    assert ptec_cli(["inspect", "--json", str(path)]) == 0
    described = json.loads(capsys.readouterr().out)
    (d,), = [m["delegates"] for m in described["methods"]]
    assert (d["id"], d["location"], d["bytes"]) == (BACKEND_ID, "SEGMENT", len(blob))
    assert {s["key"] for s in d["compile_specs"]} >= set(SHARED_SPECS)


@pytest.mark.parametrize("layout", ["segment", "inline"])
def test_ptec_runtime_loads_executorchs_program_and_fails_only_for_want_of_a_driver(
        layout, tmp_path):
    segmented, inline, _, _ = _executorch()
    buffer = segmented if layout == "segment" else inline
    _, x, _ = _setup()

    # The C reader: ptec-run loads the program and initialises the method (the backend's
    # init verifies the blob) before --describe prints it.
    path = tmp_path / "executorch.pte"
    path.write_bytes(buffer)
    described = subprocess.run([str(RUNNER), str(path), "--describe"], capture_output=True,
                               text=True, timeout=60)
    assert described.returncode == 0, described.stderr
    assert "delegate 0" in described.stdout

    # Executing needs an Ethos-U driver: without --npu (target="host") there is none.
    np.save(tmp_path / "x.npy", x.numpy())
    run = subprocess.run([str(RUNNER), str(path), "--input", str(tmp_path / "x.npy")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "PTEC_STATUS_DEVICE_ERROR" in run.stderr and "no Ethos-U driver" in run.stderr, \
        run.stderr

    loaded = ptec.load(buffer, target="host")  # method init: the blob is verified here
    with pytest.raises(PtecError) as failure:
        loaded(x)
    assert failure.value.status == "PTEC_STATUS_DEVICE_ERROR", failure.value
    assert "EthosUBackend: no Ethos-U driver available" in failure.value.message


def test_executorchs_program_runs_on_ptecs_npu_simulator():
    """ExecuTorch's command stream on ptec's U55 simulator, through ptec's EthosUBackend:
    within two output steps of ExecuTorch's own quantized reference (its converted
    PT2E model in eager mode, whose float rounding differs from TOSA's integer
    rescales), and the same from the segment and the inline blob."""
    segmented, inline, _, converted = _executorch()
    _, x, _ = _setup()
    with torch.no_grad():
        reference = converted(x)
    (scale,) = [n.args[1] for n in converted.graph.nodes
                if "dequantize_per_tensor" in str(n.target)][-1:]
    got = torch.as_tensor(np.asarray(ptec.load(segmented, target=NPU)(x)[0]))
    again = torch.as_tensor(np.asarray(ptec.load(inline, target=NPU)(x)[0]))
    assert torch.equal(got, again)
    assert got.shape == reference.shape
    error = (got - reference).abs().max().item()
    assert error <= 2 * scale + 1e-6, f"max error {error} > 2 output steps of {scale}"


def _headers(blob: bytes):
    """(name bytes, size, external, reserved, offset) of every block header, walking the blob."""
    out, pos = [], 0
    while pos < len(blob):
        raw, size, external, reserved = struct.unpack_from("<16sIB11s", blob, pos)
        out.append((raw, size, external, reserved, pos))
        pos += 32 + size + (-size % 16)
    assert pos == len(blob)
    return out


def test_executorchs_blob_layout_equals_ptecs_block_for_block():
    segmented, _, _, _ = _executorch()
    et_delegate, et_blob = _only_blob(segmented)
    pt_delegate, pt_blob = _only_blob(_ptec())

    # (c) The backend id.
    assert et_delegate.id == pt_delegate.id == BACKEND_ID == "EthosUBackend"

    # (b) Block names, order, headers, padding.
    et_headers, pt_headers = _headers(et_blob), _headers(pt_blob)
    assert [h[0] for h in et_headers] == [h[0] for h in pt_headers] == [
        name.encode().ljust(16, b"\0") for name in BLOCK_ORDER]
    for blob, headers in ((et_blob, et_headers), (pt_blob, pt_headers)):
        assert len(blob) % 16 == 0
        for raw, size, external, reserved, pos in headers:
            assert external == 0 and reserved == bytes(11), raw
            padding = blob[pos + 32 + size:pos + 32 + size + (-size % 16)]
            assert padding == bytes(len(padding)), raw
    et, pt = parse_blob(et_blob), parse_blob(pt_blob)
    assert [b[0] for b in et.blocks] == [b[0] for b in pt.blocks] == list(BLOCK_ORDER)
    sizes = {e[0]: (e[2], p[2]) for e, p in zip(et.blocks, pt.blocks)}
    for name in ("vela_bin_stream", "vela_end_stream"):
        assert sizes[name] == (0, 0)
    assert sizes["scratch_size"] == (4, 4)
    assert sizes["inputs"] == sizes["outputs"] == (40, 40)  # count + one 36-byte VelaIO

    # cmd_data: COP1, the OPTIMIZER_CONFIG action, the NPU config word and the NPU id word.
    assert et.cmd_data[:4] == pt.cmd_data[:4] == b"COP1"
    assert et.cmd_data[4:16] == pt.cmd_data[4:16]
    config = int.from_bytes(et.cmd_data[8:12], "little")
    assert config >> 28 == 0 and 1 << (config & 0xF) == 128  # U55, 128 MACs

    # The I/O each one hands the NPU: the same tensors (int8, 6-D shapes), in the scratch.
    for a, b in zip(et.inputs + et.outputs, pt.inputs + pt.outputs):
        assert a.elem_size == b.elem_size == 1 and a.region == b.region == 1
        assert a.nbytes == b.nbytes
        assert a.offset + a.nbytes <= et.scratch_size and b.offset + b.nbytes <= pt.scratch_size

    # The compile specs ptec writes are ExecuTorch's, with the same values.
    et_specs, pt_specs = _specs(et_delegate), _specs(pt_delegate)
    assert set(pt_specs) == set(SHARED_SPECS)
    for key in SHARED_SPECS:
        assert pt_specs[key] == et_specs[key], key


def test_executorch_reads_ptecs_pte():
    from executorch.exir._serialize._program import deserialize_pte_binary
    from executorch.runtime import Runtime

    buffer = _ptec()
    pt_delegate, pt_blob = _only_blob(buffer)

    # ExecuTorch's flatbuffer reader finds the EthosUBackend delegate and ptec's blob.
    pte = deserialize_pte_binary(buffer)
    program = pte.program
    (delegate,) = program.execution_plan[0].delegates
    assert delegate.id == BACKEND_ID
    ref = delegate.processed
    assert ref.location == DataLocation.INLINE  # ptec writes its blobs inline
    blob = program.backend_delegate_data[ref.index].data
    assert bytes(blob) == pt_blob
    assert {s.key: bytes(s.value) for s in delegate.compile_specs} == _specs(pt_delegate)

    # ExecuTorch's runtime loads (verifies) the program and reads the method's metadata;
    # running it would need an EthosUBackend, which its pip runtime does not register.
    runtime = Runtime.get()
    loaded = runtime.load_program(buffer)
    assert "forward" in loaded.method_names
    meta = loaded.metadata("forward")
    assert meta.num_inputs() == 1 and meta.num_outputs() == 1
    assert list(meta.input_tensor_meta(0).sizes()) == list(SHAPE)
    assert BACKEND_ID not in runtime.backend_registry.registered_backend_names
    with pytest.raises(RuntimeError, match="Failed to load method forward"):
        loaded.load_method("forward")  # "Backend EthosUBackend is not registered."


def test_executorchs_stream_on_the_simulator_equals_its_tosa_graph_on_the_executor():
    """ExecuTorch's own Vela output for its own TOSA graph: ptec's NPU simulator (the
    command stream) and ptec's TOSA executor (the graph, in the program's TOSA twin)
    agree bit for bit; the CPU parts of the two programs are the same."""
    segmented, _, tosa, _ = _executorch()
    _, x, _ = _setup()
    npu = np.asarray(ptec.load(segmented, target=NPU)(x)[0])
    twin = np.asarray(ptec.load(tosa_twin_of_pte(segmented, tosa), target="host")(x)[0])
    np.testing.assert_array_equal(npu, twin)
