"""Scalar program inputs: forward(x, dim), forward(x, alpha), forward(a, b, flag).

torch.export specialises int, float and bool arguments: the graph holds the
example value as a constant. The program keeps each as an Int, Double or
Bool input (as ExecuTorch's emitter does) and the runtime accepts only that
value (as ExecuTorch's set_input does), through ptec.load and ptec-run.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.pte import schema as pte
from ptec.runtime import PtecError

from op_testing import check_module

ROOT = Path(__file__).resolve().parents[2]


class CatDim(torch.nn.Module):
    def forward(self, x, y, dim: int):
        return torch.cat([x, y], dim)


class AddAlpha(torch.nn.Module):
    def forward(self, a, b, alpha: float):
        return torch.add(a, b, alpha=alpha) * alpha


class Select(torch.nn.Module):
    def forward(self, a, b, flag: bool, k: int):
        out = a * b if flag else a - b
        return out.sum(k), torch.clamp(a, min=-k, max=k)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_with_dim_input(seed, dim):
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    program = check_module(CatDim(), (x, y, dim), expect_ops=["aten::cat.out"])
    plan = program.program.execution_plan[0]
    kinds = [type(plan.values[i].val).__name__ for i in plan.inputs]
    assert kinds == ["Tensor", "Tensor", "Int"]
    assert plan.values[plan.inputs[2]].val.int_val == dim


def test_float_and_bool_inputs(seed):
    a, b = torch.randn(3, 4), torch.randn(1, 4)
    for alpha in (0.5, -2.0):
        check_module(AddAlpha(), (a, b, alpha))
    for flag in (True, False):
        check_module(Select(), (a, b.expand(3, 4).contiguous(), flag, 1))


def test_other_value_is_refused_with_the_reason(seed):
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    runner = ptec.load(ptec.compile(CatDim(), (x, y, 1)).buffer)
    with pytest.raises(PtecError) as info:
        runner(x, y, 0)
    assert info.value.status == "PTEC_STATUS_INVALID_ARGUMENT"
    assert "compiled for the value 1, not 0" in info.value.message
    with pytest.raises(PtecError) as info:
        runner(x, y, 1.5)
    assert info.value.status == "PTEC_STATUS_TYPE_MISMATCH"
    runner = ptec.load(ptec.compile(AddAlpha(), (x, y, 0.5)).buffer)
    with pytest.raises(PtecError) as info:
        runner(x, y, 0.25)
    assert "another float value" in info.value.message


def test_ptec_run_takes_scalar_values(seed, tmp_path):
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    module = Select()
    program = ptec.compile(module, (a, b, False, 1))
    program.save(tmp_path / "m.pte")
    np.save(tmp_path / "a.npy", a.numpy())
    np.save(tmp_path / "b.npy", b.numpy())
    runner = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))
    base = [runner, str(tmp_path / "m.pte"), "--input", str(tmp_path / "a.npy"),
            "--input", str(tmp_path / "b.npy"), "--output-dir", str(tmp_path)]
    done = subprocess.run(base + ["--input", "false", "--input", "1"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    want = module(a, b, False, 1)
    for k in range(2):
        got = torch.from_numpy(np.load(tmp_path / f"output{k}.npy"))
        torch.testing.assert_close(got, want[k])
    wrong = subprocess.run(base + ["--input", "true", "--input", "1"], capture_output=True,
                           text=True)
    assert wrong.returncode == 2 and "PTEC_STATUS_INVALID_ARGUMENT" in wrong.stderr
    bad = subprocess.run(base + ["--input", "false", "--input", "x"], capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "is a scalar (an int)" in bad.stderr


def test_symbolic_or_other_inputs_are_refused_at_compile_time():
    class TakesString(torch.nn.Module):
        def forward(self, x, mode: str):
            return x + 1

    with pytest.raises(ptec.CompileError):
        ptec.compile(TakesString(), (torch.randn(2), "a"))

