"""ptec's two readers (C and Python) decode a .pte to the same program.

`ptec-run --describe` prints the method as the C runtime decoded it; the same
description is rebuilt here from the Python reader's dataclasses. Equal text
means equal values (tags, dtypes, shapes, dim orders, resolved int lists,
double bits), data placement (planned buffer and offset, or constant's file
offset), inputs, outputs and instructions.
"""
from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest
import torch

import ptec
from ptec.pte import schema as s
from ptec.pte.file import deserialize_program, read_extended_header

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(os.environ.get("PTEC_RUN", REPO / "build" / "host" / "ptec-run"))

DTYPE_NAMES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16",
               6: "float32", 7: "float64", 11: "bool"}


def _bits(x: float) -> str:
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def describe_with_python_reader(data: bytes) -> str:
    program, _ = deserialize_program(data)
    header = read_extended_header(data)
    plan = program.execution_plan[0]
    values = plan.values or []

    def constant_position(index: int) -> int:
        seg = program.segments[program.constant_segment.segment_index]
        return header.segment_base_offset + seg.offset + program.constant_segment.offsets[index]

    def describe(v) -> str:
        if isinstance(v, s.Null):
            return "none"
        if isinstance(v, s.Int):
            return f"int {v.int_val}"
        if isinstance(v, s.Bool):
            return f"bool {int(bool(v.bool_val))}"
        if isinstance(v, s.Double):
            return f"double {_bits(v.double_val)}"
        if isinstance(v, s.String):
            return f"string {v.string_val or ''}"
        if isinstance(v, s.IntList):
            return "int_list " + ",".join(str(values[i].val.int_val) for i in v.items or [])
        if isinstance(v, s.DoubleList):
            return "double_list " + ",".join(_bits(x) for x in v.items or [])
        if isinstance(v, s.BoolList):
            return "bool_list " + ",".join(str(int(bool(x))) for x in v.items or [])
        if isinstance(v, s.TensorList):
            return "tensor_list " + ",".join(map(str, v.items or []))
        if isinstance(v, s.OptionalTensorList):
            return "optional_tensor_list " + ",".join(map(str, v.items or []))
        assert isinstance(v, s.Tensor)
        text = (f"tensor {DTYPE_NAMES[int(v.scalar_type)]} [{','.join(map(str, v.sizes or []))}] "
                f"order={','.join(map(str, v.dim_order or []))}")
        if v.allocation_info is not None:
            a = v.allocation_info
            return text + f" planned={a.memory_id}:{a.offset}"
        if v.data_buffer_idx:
            return text + f" constant=+{constant_position(v.data_buffer_idx)}"
        return text + " unbound"

    lines = [f"method {plan.name}",
             "planned_buffers " + ",".join(map(str, plan.non_const_buffer_sizes[1:])),
             "inputs " + ",".join(map(str, plan.inputs)),
             "outputs " + ",".join(map(str, plan.outputs))]
    lines += [f"value {i} {describe(ev.val)}" for i, ev in enumerate(values)]
    for i, ins in enumerate(plan.chains[0].instructions if plan.chains else []):
        a = ins.instr_args
        if isinstance(a, s.KernelCall):
            op = plan.operators[a.op_index].qualified_name
            lines.append(f"instruction {i} kernel {op} {','.join(map(str, a.args))}")
        elif isinstance(a, s.DelegateCall):
            lines.append(f"instruction {i} delegate {a.delegate_index} {','.join(map(str, a.args))}")
        elif isinstance(a, s.MoveCall):
            lines.append(f"instruction {i} move {a.move_from} {a.move_to}")
        elif isinstance(a, s.JumpFalseCall):
            lines.append(f"instruction {i} jump_false {a.cond_value_index} {a.destination_instruction}")
        elif isinstance(a, s.FreeCall):
            lines.append(f"instruction {i} free {a.value_index}")
    return "\n".join(lines) + "\n"


def describe_with_c_reader(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "model.pte"
    path.write_bytes(data)
    result = subprocess.run([str(RUNNER), str(path), "--describe"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


class SmallNet(torch.nn.Module):
    """Touches most value kinds: tensors, ints, int lists, doubles, bools, lists."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.norm = torch.nn.LayerNorm(8)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        a, b = torch.split(y, 2, dim=1)
        z = torch.cat([a * 0.5, b], dim=1)
        return self.norm(z).mean(dim=(2,), keepdim=True)


@pytest.mark.parametrize("channels_last", [False, True])
def test_c_and_python_readers_agree(tmp_path, channels_last):
    model = SmallNet().eval()
    x = torch.randn(1, 3, 8, 8)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    data = ptec.compile(model, (x,)).buffer
    c_text = describe_with_c_reader(data, tmp_path)
    py_text = describe_with_python_reader(data)
    assert c_text == py_text
    assert " kernel aten::" in c_text and "constant=+" in c_text and "planned=1:" in c_text


def test_written_program_roundtrips_through_python_reader():
    model = SmallNet().eval()
    prog = ptec.compile(model, (torch.randn(1, 3, 8, 8),))
    decoded, _ = deserialize_program(prog.buffer)
    assert decoded == prog.program
