"""The last nine of ExecuTorch's portable operators (test_op_coverage.py):
host/device copies, the convolution and max-pool gradients, rand / randn
with a generator in the program, and view_as_real on complex64."""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.pte.file import deserialize_program
from ptec.runtime import PtecError

from program_builder import Input, Out, build, run

ROOT = Path(__file__).resolve().parents[2]
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))

H2D, D2H = "et_copy::_h2d_copy.out", "et_copy::_d2h_copy.out"


def _operator_names(buffer: bytes) -> list[str]:
    program, _ = deserialize_program(buffer)
    return [op.qualified_name for plan in program.execution_plan for op in plan.operators]


def _asan_verify(tmp_path: Path, name: str, pte: bytes, inputs, outputs, tol: float = 1e-5):
    """ptec-run --verify under ASan + UBSan on a bundle of eager's outputs."""
    path = tmp_path / f"last_portable_{name}.bpte"
    ptec.bundle(pte, [(list(inputs), list(outputs))], path=path)
    r = subprocess.run([PTEC_RUN_ASAN, str(path), "--verify", "--rtol", str(tol), "--atol",
                        str(tol)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{name}:\n{r.stdout}\n{r.stderr}"
    assert "1 of 1 cases passed" in r.stdout, r.stdout


# ------------------------------------------------------------ et_copy


class _DeviceRoundTrip(torch.nn.Module):
    """What ExecuTorch's PropagateDevicePass makes around a device delegate:
    input copied to the device, computed on, copied back."""

    def forward(self, x):
        y = torch.ops.et_copy._h2d_copy(x) * 3
        return torch.ops.et_copy._d2h_copy(y) - x


def _executorch_device_copy_pte(x: torch.Tensor) -> bytes:
    """ExecuTorch's own exporter emits the et_copy calls (kept from
    decomposition with preserve_ops, as its device pass keeps them)."""
    import executorch.exir.passes._device_copy_ops_registry  # noqa: F401  registers et_copy
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower
    ops = [torch.ops.et_copy._h2d_copy.default, torch.ops.et_copy._d2h_copy.default]
    exported = torch.export.export(_DeviceRoundTrip(), (x,))
    edge = to_edge_transform_and_lower(exported, compile_config=EdgeCompileConfig(
        _check_ir_validity=False, preserve_ops=ops))
    return bytes(edge.to_executorch().buffer)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int32,
                                   torch.int64, torch.int8])
def test_device_copies_in_executorch_program(seed, dtype):
    """ExecuTorch's .pte with both copies runs in ptec and equals eager
    exactly (the copies move bytes; * 3 and - x are exact in these ranges)."""
    shape = [random.randint(1, 5) for _ in range(random.randint(0, 4))]
    x = (torch.randint(-20, 20, shape)).to(dtype)
    pte = _executorch_device_copy_pte(x)
    names = _operator_names(pte)
    assert H2D in names and D2H in names, names
    (got,) = ptec.load(pte)(x)
    want = _DeviceRoundTrip()(x)
    assert got.dtype == want.dtype and torch.equal(got, want), (got, want)


def test_device_copies_keep_dim_order(seed):
    """A channels-last input: the copy follows each tensor's own dim order."""
    x = torch.randn(2, 3, 4, 5)
    for order, out_order in [((0, 2, 3, 1), (0, 1, 2, 3)), ((0, 1, 2, 3), (0, 2, 3, 1))]:
        for op in (H2D, D2H):
            (got,) = run(build(op, [Input(x.numpy().transpose(order).copy().transpose(
                np.argsort(order)), order), Out(x.shape, np.float32, out_order)]))
            np.testing.assert_array_equal(got, x.numpy())


def test_device_copies_refuse_mismatches():
    """ExecuTorch's kernel moves nbytes without converting: a dtype or shape
    that differs from self's is refused with a named status."""
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for op in (H2D, D2H):
        with pytest.raises(PtecError) as info:
            run(build(op, [Input(x), Out((2, 3), np.int32)]))
        assert info.value.status == "PTEC_STATUS_TYPE_MISMATCH", str(info.value)
        with pytest.raises(PtecError) as info:
            run(build(op, [Input(x), Out((3, 2), np.float32)]))
        assert info.value.status == "PTEC_STATUS_SHAPE_MISMATCH", str(info.value)


def test_device_copies_under_asan(seed, tmp_path):
    x = torch.randn(3, 7)
    _asan_verify(tmp_path, "device_copy", _executorch_device_copy_pte(x), [x],
                 [_DeviceRoundTrip()(x)])
