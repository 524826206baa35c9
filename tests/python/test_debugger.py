"""The numerical debugger (ptec.debug): every intermediate of the C runtime against PyTorch.

The references are PyTorch's: the float model in eager mode for float
programs, the PT2E fake-quantized model for integer programs. A planted fault
(one layer's weights corrupted in the .pte bytes) must be named first.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.cli import main as ptec_cli  # noqa: E402
from ptec.pte.file import serialize_program  # noqa: E402


@pytest.fixture(scope="module")
def ds_cnn():
    model, inputs = EXAMPLES["ds_cnn"]()
    return model, inputs, ptec.compile(model, inputs), ptec.compile(
        model, inputs, quantize=ptec.Int8(calibration=[inputs]))


def corrupt_weight(program, layer: str, seed: int) -> bytes:
    """The .pte with the weight (argument 1) of `layer`'s first instruction scrambled."""
    k = next(i for i, info in enumerate(program.instructions) if info.module == layer
             and ("conv" in info.operator or "linear" in info.operator))
    plan = program.program.execution_plan[0]
    weight = plan.values[plan.chains[0].instructions[k].instr_args.args[1]].val
    offsets = program.program.constant_segment.offsets
    start, end = offsets[weight.data_buffer_idx], offsets[weight.data_buffer_idx + 1]
    segment = bytearray(program.segments[0])
    rng = np.random.default_rng(seed)
    segment[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    print(f"[fault] {layer}: instruction {k}, bytes {start}..{end} scrambled")
    return serialize_program(program.program, [bytes(segment), *program.segments[1:]],
                             segment_alignment=16)


def test_float_program_matches_eager_at_every_layer(ds_cnn):
    model, inputs, fp32, _ = ds_cnn
    report = ptec.debug(model, fp32, inputs)
    print(report.table())
    assert report.reference == "eager"
    layers = [e.layer for e in report.layers]
    # conv + batch norm folded into one call: compared at the batch norm's output
    assert layers[:2] == ["stem.1", "stem.2"] and layers[-1] == "fc"
    assert all(e.sqnr_db > 100 for e in report.layers)  # float rounding only
    assert report.first_jump is None


def test_integer_program_matches_its_fake_quantized_model(ds_cnn):
    model, inputs, _, int8 = ds_cnn
    report = ptec.debug(model, int8, inputs)
    print(report.table())
    assert report.reference == "fake-quantized"
    assert len(report.layers) >= 10
    # Against the fake-quantized model: within about one output step everywhere.
    for e in report.layers:
        step = int8.instructions[e.instruction].output_qparams[0]
        assert e.max_abs_error <= step * 1.01, e
    # Against the float model: the quantization error, which int8 leaves at 25-45 dB.
    assert all(20 < e.sqnr_vs_float_db < 60 for e in report.layers)
    assert report.first_jump is None


@pytest.mark.parametrize("kind,layer", [("fp32", "blocks.10"), ("int8", "blocks.11")])
def test_planted_fault_is_named_first(ds_cnn, kind, layer, seed):
    model, inputs, fp32, int8 = ds_cnn
    program = fp32 if kind == "fp32" else int8
    broken = corrupt_weight(program, layer, seed)
    report = ptec.debug(model, program, inputs, pte=broken)
    print(report.table())
    assert report.first_jump == layer
    before = [e for e in report.layers if e.instruction < next(
        x.instruction for x in report.layers if x.layer == layer)]
    assert before and all(e.sqnr_db > report.floor_db for e in before)


def test_report_as_data(ds_cnn, tmp_path):
    model, inputs, fp32, _ = ds_cnn
    report = ptec.debug(model, fp32, inputs)
    report.save(tmp_path / "debug.json")
    data = json.loads((tmp_path / "debug.json").read_text())
    assert data["reference"] == "eager"
    assert [row["layer"] for row in data["layers"]] == [e.layer for e in report.layers]


def test_command_line(tmp_path, capsys):
    out = tmp_path / "debug.json"
    code = ptec_cli(["debug", "examples/models.py:ds_cnn", "--int8", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "fake-quantized" in text and "first jump: none" in text
    assert json.loads(out.read_text())["layers"]


def test_inside_a_tosa_delegate_at_the_operator_level(seed):
    """The TOSA executor reports each operator's output (ptec_method_set_delegate_hook):
    every layer inside the delegate is compared, and a fault planted in one TOSA weight
    constant is named first."""
    from ptec.tosa.serialize import decode_graph

    model, inputs = EXAMPLES["ds_cnn"]()
    program = ptec.compile(model, inputs, target="tosa-int",
                           quantize=ptec.Int8(calibration=[inputs]))
    (delegate,) = [i for i in program.instructions if i.delegate_tensors]
    report = ptec.debug(model, program, inputs)
    print(report.table())
    assert len(report.layers) >= 10 and report.first_jump is None
    assert all("TOSA" in e.operator for e in report.layers)
    for e in report.layers:  # within one output step of the fake-quantized model
        qparams = delegate.delegate_tensors[e.node][3]
        assert e.max_abs_error <= qparams[0] * 1.01, e

    node, layer = "quantized_conv2d_default_4", "blocks.11"
    assert delegate.delegate_tensors[node][2] == layer
    plan = program.program.execution_plan[0]
    blob = program.program.backend_delegate_data[plan.delegates[0].processed.index].data
    (block,) = decode_graph(blob).regions[0].blocks
    weight = next(bytes(t.data) for t in block.tensors if t.name == f"{node}_weight")
    data = bytearray(program.buffer)
    at = data.find(weight)
    assert at > 0 and data.find(weight, at + 1) < 0
    rng = np.random.default_rng(seed)
    data[at:at + len(weight)] = rng.integers(0, 256, len(weight), dtype=np.uint8).tobytes()
    broken = ptec.debug(model, program, inputs, pte=bytes(data))
    print(broken.table())
    assert broken.first_jump == layer
