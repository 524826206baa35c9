"""Threads outside the core: the platform's parallel-for (src/platform/posix_threads.c) through
ptec.load(..., threads=N) and ptec-run --threads N gives the same outputs as one thread, int8
and fp32 alike, bit for bit (each output is computed by one thread, in the same order)."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402
from test_tosa_lowering import SIZES  # noqa: E402  (the small sizes)


@functools.lru_cache(maxsize=None)
def _programs(name: str):
    model, inputs = EXAMPLES[name](**SIZES[name])
    prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
    ptec.quantize.calibrate(prepared, [inputs])
    return name, inputs, {"int8": ptec.compile(ptec.quantize.convert(prepared), inputs).buffer,
                          "fp32": ptec.compile(model, inputs).buffer}


@pytest.fixture(scope="module", params=["ds_cnn", "mobilenet_v2", "resnet18"])
def programs(request):
    return _programs(request.param)


def _same(a, b, what):
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert torch.equal(x, y), f"{what}: outputs depend on the thread count"


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_load_threads_equal_one_thread(programs, threads):
    name, inputs, progs = programs
    for tag, program in progs.items():
        _same(ptec.load(program)(*inputs), ptec.load(program, threads=threads)(*inputs),
              f"{name} {tag} threads={threads}")


def test_ptec_run_threads(programs, tmp_path):
    name, inputs, progs = programs
    runner = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))
    for tag, program in progs.items():
        (tmp_path / "m.pte").write_bytes(program)
        np.save(tmp_path / "in.npy", inputs[0].numpy())
        outs = []
        for n in (1, 4):
            out = tmp_path / f"{tag}-{n}"
            subprocess.run([runner, str(tmp_path / "m.pte"), "--input", str(tmp_path / "in.npy"),
                            "--output-dir", str(out), "--threads", str(n)], check=True,
                           capture_output=True)
            outs.append(np.load(out / "output0.npy"))
        assert np.array_equal(outs[0], outs[1]), f"{name} {tag}: ptec-run --threads 4 differs"


@pytest.mark.skipif(shutil.which("qemu-aarch64") is None or
                    not (ROOT / "build" / "cortex-a76" / "ptec-run").is_file(),
                    reason="needs qemu-aarch64 and `make build-aarch64`")
def test_cortex_a76_threads():
    name, inputs, progs = _programs("ds_cnn")  # one model under qemu is enough
    for tag, program in progs.items():
        _same(ptec.load(program, target="cortex-a76")(*inputs),
              ptec.load(program, target="cortex-a76", threads=3)(*inputs), f"{name} {tag}")


def test_bad_thread_count_is_a_usage_error(tmp_path):
    runner = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))
    done = subprocess.run([runner, "m.pte", "--threads", "0"], capture_output=True)
    assert done.returncode == 1
