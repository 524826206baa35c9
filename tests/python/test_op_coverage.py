"""ExecuTorch's portable operator library as ptec's floor.

executorch_portable_ops.txt is a copy of the operator list of ExecuTorch's
kernels/portable/functions.yaml (its header says which release). Each
operator there must have

* a kernel in runtime/src/kernels/ops.def (or the lists it includes), and
* a test against PyTorch: a tests/python/test_*.py file that names the
  operator (op tests name it in `expect_ops`, which fails unless the compiled
  program calls that kernel), or an entry of TESTED_BY naming the test that
  exercises it under a name built at run time (f"aten::{op}.Tensor_out").

Operators ptec still lacks are listed in MISSING with the reason; the test
fails if an operator is neither covered nor listed there, and if a listed
one has become covered (so the list stays honest).
"""
from __future__ import annotations

import ast
from pathlib import Path

from test_op_list import read_ops_def

HERE = Path(__file__).resolve().parent
PORTABLE_LIST = HERE / "executorch_portable_ops.txt"

#: Operators tested under a name the test builds at run time (or through a
#: PyTorch function whose kernel name it does not spell out): the test that
#: does it.
TESTED_BY = {
    "aten::eq.Tensor_out": "test_ops_compare.py::test_tensor",
    "aten::ne.Tensor_out": "test_ops_compare.py::test_tensor",
    "aten::lt.Tensor_out": "test_ops_compare.py::test_tensor",
    "aten::le.Tensor_out": "test_ops_compare.py::test_tensor",
    "aten::gt.Tensor_out": "test_ops_compare.py::test_tensor",
    "aten::ge.Tensor_out": "test_ops_compare.py::test_tensor",
    "aten::ne.Scalar_out": "test_ops_compare.py::test_scalar",
    "aten::lt.Scalar_out": "test_ops_compare.py::test_scalar",
    "aten::le.Scalar_out": "test_ops_compare.py::test_scalar",
    "aten::gt.Scalar_out": "test_ops_compare.py::test_scalar",
    "aten::ge.Scalar_out": "test_ops_compare.py::test_scalar",
    "aten::logical_and.out": "test_ops_compare.py::test_logical_binary",
    "aten::logical_or.out": "test_ops_compare.py::test_logical_binary",
    "aten::logical_xor.out": "test_ops_compare.py::test_logical_binary",
    "aten::amax.out": "test_ops_reduce.py::test_amax_amin",
    "aten::amin.out": "test_ops_reduce.py::test_amax_amin",
    "aten::any.all_out": "test_ops_reduce.py::test_any_all",
    "aten::any.dims_out": "test_ops_reduce.py::test_any_all",
    "aten::any.out": "test_ops_reduce.py::test_any_all",
    "aten::arange.out": "test_ops_factory.py::test_arange",
    "aten::arange.start_out": "test_ops_factory.py::test_arange",
    "aten::full.out": "test_ops_factory.py::test_full",
    "aten::full_like.out": "test_ops_factory.py::test_full_like_and_zeros",
    "aten::scalar_tensor.out": "test_ops_factory.py::test_scalar_tensor",
    "aten::div.Scalar_out": "test_ops_binary.py::test_scalar_overloads_float",
    "aten::div.out_mode": "test_ops_binary.py::test_div_rounding",
    "aten::div.Scalar_mode_out": "test_ops_binary.py::test_div_rounding",
    "aten::floor_divide.out": "test_ops_binary.py::test_remainder_and_floor_divide",
    "aten::maximum.out": "test_ops_binary.py::test_integer",
    "aten::minimum.out": "test_ops_binary.py::test_integer",
    "aten::mul.out": "test_ops_binary.py::test_integer",
    "aten::sub.out": "test_ops_binary.py::test_integer",
    "aten::sub.Scalar_out": "test_ops_binary.py::test_scalar_overloads_float",
    "aten::rsub.Scalar_out": "test_ops_binary.py::test_rsub_int",
    "aten::pow.Tensor_Scalar_out": "test_ops_binary.py::test_scalar_overloads_float",
    "aten::squeeze_copy.dim_out": "test_ops_shape.py::test_squeeze_unsqueeze",
    "aten::squeeze_copy.dims_out": "test_ops_shape.py::test_squeeze_unsqueeze",
    "aten::unsqueeze_copy.out": "test_ops_shape.py::test_squeeze_unsqueeze",
    "aten::reflection_pad1d.out": "test_ops_layout.py::test_reflection_and_replication_pads",
    "aten::reflection_pad2d.out": "test_ops_layout.py::test_reflection_and_replication_pads",
    "aten::reflection_pad3d.out": "test_ops_layout.py::test_reflection_and_replication_pads",
    "aten::replication_pad1d.out": "test_ops_layout.py::test_reflection_and_replication_pads",
    "aten::replication_pad2d.out": "test_ops_layout.py::test_reflection_and_replication_pads",
    "aten::replication_pad3d.out": "test_ops_layout.py::test_reflection_and_replication_pads",
}

#: ExecuTorch portable operators ptec has no kernel (or no test) for yet,
#: with the reason. Keep it short by adding kernels, not entries.
MISSING = {
}


def portable_operators() -> list[str]:
    return [line.strip() for line in PORTABLE_LIST.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _test_sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(HERE.glob("test_*.py"))
            if p.name != Path(__file__).name}


def _defines(source: str, function: str) -> bool:
    return any(isinstance(node, ast.FunctionDef) and node.name == function
               for node in ast.walk(ast.parse(source)))


def coverage() -> tuple[list[str], dict[str, str]]:
    """(covered operators, {uncovered operator: what it lacks})."""
    kernels = {name for name, _, _ in read_ops_def()}
    sources = _test_sources()
    covered, lacking = [], {}
    for op in portable_operators():
        if op not in kernels:
            lacking[op] = "no kernel in ops.def"
            continue
        named = any(f'"{op}"' in text for text in sources.values())
        if not named and op in TESTED_BY:
            file, _, function = TESTED_BY[op].partition("::")
            named = file in sources and _defines(sources[file], function)
        if named:
            covered.append(op)
        else:
            lacking[op] = "a kernel but no test naming it"
    return covered, lacking


def test_list_is_executorch_portable_library():
    ops = portable_operators()
    assert len(ops) == len(set(ops)) > 200
    assert "aten::add.out" in ops and "aten::upsample_nearest2d.vec_out" in ops


def test_every_portable_operator_has_a_kernel_and_a_test():
    covered, lacking = coverage()
    total = len(portable_operators())
    print(f"\nptec covers {len(covered)} of ExecuTorch's {total} portable operators; "
          f"{len(MISSING)} listed missing")
    unexplained = {op: why for op, why in lacking.items() if op not in MISSING}
    assert not unexplained, "not covered and not in MISSING:\n" + "\n".join(
        f"  {op}: {why}" for op, why in sorted(unexplained.items()))
    now_covered = sorted(set(MISSING) & set(covered))
    assert not now_covered, f"covered now, remove from MISSING: {now_covered}"
    unknown = sorted(set(MISSING) - set(portable_operators()))
    assert not unknown, f"MISSING names operators outside the list: {unknown}"


def test_tested_by_entries_name_real_tests():
    sources = _test_sources()
    for op, where in TESTED_BY.items():
        file, _, function = where.partition("::")
        assert file in sources and _defines(sources[file], function), f"{op}: {where} not found"
