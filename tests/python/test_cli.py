"""`ptec inspect`: what a .pte contains, as text and as JSON, for ptec's and ExecuTorch's files."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ptec
from ptec.cli import main

requires_executorch = pytest.mark.skipif(importlib.util.find_spec("executorch") is None,
                                         reason="executorch is not installed")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return torch.relu(y + y).mean(dim=(2, 3))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    program = ptec.compile(Net().eval(), (torch.randn(1, 3, 8, 8),), check_kernels=False)
    path = tmp_path_factory.mktemp("cli") / "net.pte"
    program.save(path)
    return program, path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_text(compiled, capsys):
    program, path = compiled
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 0
    plan = program.program.execution_plan[0]
    assert f"method 'forward': inputs {plan.inputs} outputs {plan.outputs}" in out
    assert "aten::relu.out  x2" in out and "aten::convolution.out  x1" in out
    assert f"#1 {program.memory.arena_bytes:,} bytes" in out
    assert "float32[1, 3, 8, 8] dim_order=[0, 1, 2, 3] planned memory 1 +" in out
    assert "float32[4, 3, 3, 3] dim_order=[0, 1, 2, 3] constant #1" in out
    assert "constants: 2 tensors" in out and "header: program_size=" in out
    call = plan.chains[0].instructions[0].instr_args
    assert f"aten::convolution.out({', '.join(map(str, call.args))})" in out


def test_inspect_json(compiled, capsys):
    program, path = compiled
    code, out, _ = run(capsys, "inspect", "--json", str(path))
    assert code == 0
    d = json.loads(out)
    plan = program.program.execution_plan[0]
    (method,) = d["methods"]
    assert method["planned_buffers"] == [program.memory.arena_bytes]
    assert len(method["values"]) == len(plan.values)
    assert [i["operator"] for i in method["instructions"]] == [
        plan.operators[i.instr_args.op_index].qualified_name for i in plan.chains[0].instructions]
    first_input = method["values"][plan.inputs[0]]
    assert first_input == {"index": plan.inputs[0], "type": "Tensor", "dtype": "float32",
                           "sizes": [1, 3, 8, 8], "dim_order": [0, 1, 2, 3],
                           "storage": "planned", "memory_id": 1,
                           "offset": plan.values[plan.inputs[0]].val.allocation_info.offset}
    int_lists = [v for v in method["values"] if v["type"] == "IntList"]
    assert any(v["value"] == [1, 1] for v in int_lists)  # conv stride, unboxed
    assert d["file_bytes"] == path.stat().st_size


def test_inspect_rejects_a_file_that_is_not_a_program(tmp_path, capsys):
    bad = tmp_path / "bad.pte"
    bad.write_bytes(b"\x08\0\0\0NOPE" + bytes(32))
    code, _, err = run(capsys, "inspect", str(bad))
    assert code == 1 and "bad.pte" in err and "identifier" in err


def test_console_script(compiled):
    _, path = compiled
    beside = Path(sys.executable).with_name("ptec")  # the venv's script, if PATH lacks it
    exe = shutil.which("ptec") or (str(beside) if beside.is_file() else None)
    if exe is None:
        pytest.skip("the ptec console script is not installed")
    result = subprocess.run([exe, "inspect", str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "method 'forward'" in result.stdout


@requires_executorch
def test_inspect_executorch_files_with_delegates(tmp_path, capsys):
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    edge = to_edge_transform_and_lower(torch.export.export(model, (torch.randn(2, 4),)),
                                       partitioner=[XnnpackPartitioner()])
    for extract, location in ((True, "SEGMENT"), (False, "INLINE")):
        path = tmp_path / f"xnn_{location}.pte"
        path.write_bytes(edge.to_executorch(
            ExecutorchBackendConfig(extract_delegate_segments=extract)).buffer)
        code, out, _ = run(capsys, "inspect", str(path))
        assert code == 0
        assert f"[0] XnnpackBackend: {location} #" in out
        assert "delegate 0 XnnpackBackend(" in out
        code, out, _ = run(capsys, "inspect", "--json", str(path))
        (delegate,) = json.loads(out)["methods"][0]["delegates"]
        assert delegate["id"] == "XnnpackBackend" and delegate["location"] == location
        assert delegate["bytes"] > 0


@requires_executorch
def test_inspect_executorch_portable_file(tmp_path, capsys):
    from executorch.exir import to_edge
    path = tmp_path / "et.pte"
    path.write_bytes(to_edge(torch.export.export(Net().eval(), (torch.randn(1, 3, 8, 8),)))
                     .to_executorch().buffer)
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 0 and "aten::convolution.out  x1" in out
