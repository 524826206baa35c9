"""Programs move both ways between ExecuTorch and ptec.

* ptec's C runtime runs `.pte` files made by ExecuTorch's own AOT flow
  (`to_edge_transform_and_lower(...).to_executorch()`, no partitioner, so
  portable kernels), and reproduces ExecuTorch's runtime and PyTorch eager.
* ExecuTorch's runtime (`executorch.runtime`, the pip pybindings with the
  portable kernel library) runs ptec's fp32 `.pte` files with PyTorch's results.

ExecuTorch is only a test reference here (requirements-interop.txt); the suite
skips this file when it is not installed.
"""
import functools
import sys
from pathlib import Path

import pytest
import torch

from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower  # noqa: E402
from executorch.exir._serialize._program import deserialize_pte_binary  # noqa: E402
from executorch.runtime import Runtime  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402
from run_examples import RELATIVE_TOLERANCE, compare  # noqa: E402

import ptec  # noqa: E402

MODELS = ["ds_cnn", "transformer"]


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _check_close(actual, expected, what):
    err, mag = compare(_as_list(actual), _as_list(expected))
    print(f"{what}: max abs error {err:.3e}, max |output| {mag:.3e}")
    assert err <= RELATIVE_TOLERANCE * mag, (
        f"{what}: max abs error {err:.3e} > {RELATIVE_TOLERANCE:.0e} x max|output| {mag:.3e}")


@functools.lru_cache(maxsize=None)
def _example(name):
    model, inputs = EXAMPLES[name]()
    with torch.no_grad():
        expected = _as_list(model(*inputs))
    return model, inputs, expected


@functools.lru_cache(maxsize=None)
def _executorch_pte(name, skip_dim_order):
    """ExecuTorch's own .pte of an example: edge dialect, portable ops, default memory plan."""
    model, inputs, _ = _example(name)
    exported = torch.export.export(model, inputs)
    edge = to_edge_transform_and_lower(
        exported, compile_config=EdgeCompileConfig(_skip_dim_order=skip_dim_order))
    return bytes(edge.to_executorch().buffer)


@functools.lru_cache(maxsize=None)
def _ptec_pte(name):
    model, inputs, _ = _example(name)
    return bytes(ptec.compile(model, inputs).buffer)


def _operator_names(buffer):
    """`ns::op.overload` of every operator a .pte declares, read with ExecuTorch's deserializer."""
    program = deserialize_pte_binary(buffer).program
    return sorted({f"{op.name}.{op.overload}" if op.overload else op.name
                   for plan in program.execution_plan for op in plan.operators})


def _run_executorch(buffer, inputs):
    method = Runtime.get().load_program(buffer).load_method("forward")
    return _as_list(method.execute(list(inputs)))


@pytest.mark.parametrize("skip_dim_order", [False, True], ids=["dim_order", "skip_dim_order"])
@pytest.mark.parametrize("name", MODELS)
def test_ptec_runs_executorch_pte(name, skip_dim_order):
    _, inputs, expected = _example(name)
    buffer = _executorch_pte(name, skip_dim_order)
    print(f"{name}: ExecuTorch .pte of {len(buffer)} B, operators {_operator_names(buffer)}")

    reference = _run_executorch(buffer, inputs)
    _check_close(reference, expected, f"{name}: ExecuTorch runtime vs eager")

    actual = ptec.load(buffer)(*inputs)
    _check_close(actual, reference, f"{name}: ptec runtime vs ExecuTorch runtime")
    _check_close(actual, expected, f"{name}: ptec runtime vs eager")


@pytest.mark.parametrize("name", MODELS)
def test_executorch_runs_ptec_pte(name):
    _, inputs, expected = _example(name)
    buffer = _ptec_pte(name)
    operators = _operator_names(buffer)
    print(f"{name}: ptec .pte of {len(buffer)} B, operators {operators}")
    missing = sorted(set(operators) - Runtime.get().operator_registry.operator_names)
    assert not missing, f"ExecuTorch's portable runtime lacks {missing}"

    actual = _run_executorch(buffer, inputs)
    _check_close(actual, expected, f"{name}: ExecuTorch runtime on ptec's .pte vs eager")
    _check_close(ptec.load(buffer)(*inputs), actual,
                 f"{name}: ptec runtime vs ExecuTorch runtime on ptec's .pte")
