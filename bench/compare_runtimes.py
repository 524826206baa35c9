#!/usr/bin/env python3
"""ptec's C runtime beside ExecuTorch's runtime and PyTorch eager, in one run.

    .venv/bin/python bench/compare_runtimes.py [--models ds_cnn transformer ...] [--repeat 20]

For each example model it times, on this host and on one thread:
  - ptec: the program compiled by ptec, run by `build/host/ptec-run --repeat N` (best of N,
    timed inside the runner, so process start and file loading are excluded);
  - ExecuTorch: the program ExecuTorch 1.4.1 exports for the same model (portable kernels),
    run by its Python runtime (best of N, `method.execute` only);
  - eager: the PyTorch module (best of N, torch.no_grad, one thread).
It prints milliseconds and the ratios to ptec, and the planned memory of both programs. It is
a benchmark, not a test: nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.pte.file import deserialize_program  # noqa: E402

CONFIGS = {
    "ds_cnn": {},
    "transformer": {},
    "mobilenet_v2": {"resolution": 224},
    "resnet18": {"resolution": 224},
}


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def time_ptec(program: bytes, inputs, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pte"
        path.write_bytes(program)
        args = [str(ROOT / "build" / "host" / "ptec-run"), str(path), "--repeat", str(repeat)]
        for k, x in enumerate(inputs):
            np.save(Path(tmp) / f"in{k}.npy", x.contiguous().numpy())
            args += ["--input", str(Path(tmp) / f"in{k}.npy")]
        result = subprocess.run(args, capture_output=True, text=True, check=True)
        return float(re.search(r"best of \d+: ([\d.]+) ms", result.stderr).group(1))


def executorch_program(model, inputs) -> bytes:
    from executorch.exir import to_edge_transform_and_lower

    exported = torch.export.export(model, inputs)
    return to_edge_transform_and_lower(exported).to_executorch().buffer


def time_executorch(program: bytes, inputs, repeat: int) -> float:
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(program).load_method("forward")
    method.execute(list(inputs))
    return best_of(lambda: method.execute(list(inputs)), repeat)


def planned_bytes(program: bytes) -> int:
    prog, _ = deserialize_program(program)
    return sum(prog.execution_plan[0].non_const_buffer_sizes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(CONFIGS))
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    header = (f"{'model':14} {'ptec ms':>9} {'ET ms':>9} {'eager ms':>9} {'ET/ptec':>8} "
              f"{'eager/ptec':>10} {'ptec arena':>11} {'ET arena':>11}")
    print(header)
    print("-" * len(header))
    for name in args.models:
        model, inputs = EXAMPLES[name](**CONFIGS.get(name, {}))
        ours = ptec.compile(model, inputs).buffer
        theirs = executorch_program(model, inputs)
        t_ptec = time_ptec(ours, inputs, args.repeat)
        t_et = time_executorch(theirs, inputs, args.repeat)
        with torch.no_grad():
            t_eager = best_of(lambda: model(*inputs), args.repeat)
        print(f"{name:14} {t_ptec:9.2f} {t_et:9.2f} {t_eager:9.2f} {t_et / t_ptec:8.2f} "
              f"{t_eager / t_ptec:10.2f} {planned_bytes(ours):11,} {planned_bytes(theirs):11,}")
    print("\nratios > 1 mean ptec is faster; all runs single-threaded on this host")
    return 0


if __name__ == "__main__":
    sys.exit(main())
