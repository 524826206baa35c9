"""Every example model runs through ptec-run built with ASan and UBSan.

The pytest suites call the runtime through ctypes; this one runs the same
programs in the sanitized command-line runner, so that every kernel and the
executor are exercised with invalid memory accesses and undefined behaviour
turned into failures. Outputs are still compared with PyTorch.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))
from models import EXAMPLES  # noqa: E402

RUNNER = Path(os.environ.get("PTEC_RUN_ASAN", REPO / "build" / "asan" / "ptec-run"))

# Small configurations: sanitizers slow kernels down by an order of magnitude.
CONFIGS = {
    "mobilenet_v2": dict(resolution=64, width_mult=0.5),
    "resnet18": dict(resolution=64),
    "ds_cnn": dict(),
    "transformer": dict(),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_example_under_sanitizers(name, tmp_path):
    model, inputs = EXAMPLES[name](**CONFIGS[name])
    program = ptec.compile(model, inputs)
    path = tmp_path / f"{name}.pte"
    program.save(path)
    args = [str(RUNNER), str(path), "--output-dir", str(tmp_path)]
    for k, x in enumerate(inputs):
        np.save(tmp_path / f"in{k}.npy", x.contiguous().numpy())
        args += ["--input", str(tmp_path / f"in{k}.npy")]
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "runtime error" not in result.stderr
    expected = model(*inputs).detach()
    got = torch.from_numpy(np.load(tmp_path / "output0.npy"))
    err = (got - expected).abs().max().item()
    assert err <= 1e-4 * expected.abs().max().item(), f"max abs error {err}"
