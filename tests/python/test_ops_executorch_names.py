"""Kernels for operators only ExecuTorch's emitter produces: et_view
(views of unplanned tensors), and the dim order ops that replace clone and
_to_copy in edge programs. Each program here is built by ExecuTorch's own
AOT flow and run in ptec's runtime."""
import pytest
import torch

from executorch.exir import (EdgeCompileConfig, ExecutorchBackendConfig,  # noqa: E402
                             to_edge_transform_and_lower)
from executorch.exir._serialize._program import deserialize_pte_binary  # noqa: E402
from executorch.exir.passes import MemoryPlanningPass  # noqa: E402

import ptec  # noqa: E402
from op_testing import Fn, randn  # noqa: E402


def executorch_program(module, inputs, plan_inputs=True) -> bytes:
    ep = torch.export.export(module.eval(), tuple(inputs))
    edge = to_edge_transform_and_lower(ep, compile_config=EdgeCompileConfig())
    config = ExecutorchBackendConfig(
        memory_planning_pass=MemoryPlanningPass(alloc_graph_input=plan_inputs))
    return bytes(edge.to_executorch(config).buffer)


def operator_names(buffer: bytes) -> list[str]:
    program = deserialize_pte_binary(buffer)
    program = getattr(program, "program", program)
    return [f"{op.name}.{op.overload}" if op.overload else op.name
            for op in program.execution_plan[0].operators]


def check(module, inputs, expect_op, plan_inputs=True):
    buffer = executorch_program(module, inputs, plan_inputs)
    assert expect_op in operator_names(buffer), operator_names(buffer)
    got = ptec.load(buffer)(*inputs)
    with torch.no_grad():
        want = module(*inputs)
    want = list(want) if isinstance(want, (tuple, list)) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,view", [((2, 3, 4), (-1, 4)), ((6,), (2, 3)), ((2, 2), (4,))],
                         ids=str)
def test_et_view(seed, shape, view):
    """A view of an unplanned input aliases it: et_view binds its data."""
    check(Fn(lambda x: x.reshape(*view) + 1), (randn(*shape),),
          "executorch_prim::et_view.default", plan_inputs=False)


def test_clone_dim_order(seed):
    check(Fn(lambda x: torch.clone(x + 1, memory_format=torch.channels_last) * 2),
          (randn(2, 3, 4, 5),), "dim_order_ops::_clone_dim_order.out")
    check(Fn(lambda x: (x + 1).to(memory_format=torch.channels_last) * 2),
          (randn(2, 3, 4, 5),), "dim_order_ops::_to_dim_order_copy.out")
    check(Fn(lambda x: torch.clone(x + 1)), (randn(3, 4),), "dim_order_ops::_clone_dim_order.out")


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool, torch.float32])
def test_to_dim_order_copy(seed, dtype):
    check(Fn(lambda x: (x * 3).to(dtype)), (randn(3, 4),), "dim_order_ops::_to_dim_order_copy.out")


def test_to_dim_order_copy_channels_last(seed):
    check(Fn(lambda x: (x * 3).to(dtype=torch.int32, memory_format=torch.channels_last)),
          (randn(1, 3, 2, 5),), "dim_order_ops::_to_dim_order_copy.out")
