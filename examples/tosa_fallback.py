"""A layer with no TOSA form: partial delegation, CPU fallback, correct output.

MobileNetV2 with a LocalResponseNorm after its stem (examples/models.py,
mobilenet_v2_lrn), compiled for both TOSA targets:

  * tosa-int: quantized with ptec.Int8; the stem and the rest of the network
    become two TOSABackend delegates, the LRN (pow, a 3-D average pool, ...)
    stays in float on the CPU between dequantize and quantize. Output equal,
    bit for bit, to the same model compiled for the host's integer kernels.
  * tosa-fp: fp32; same split, output within 1e-4 of PyTorch eager.

The compile report names each op left on the CPU and the rule that refused it.

    .venv/bin/python examples/tosa_fallback.py [--report]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from models import mobilenet_v2_lrn  # noqa: E402

import ptec  # noqa: E402
from ptec.report import DELEGATE, runs_on  # noqa: E402


def delegate_calls(program) -> int:
    return sum(runs_on(i) == DELEGATE for i in program.instructions)


def cpu_reasons(program) -> list[str]:
    return [f"{i.node}: {i.delegation}" for i in program.instructions
            if runs_on(i) != DELEGATE]


def run(seed: int = 0, show_report: bool = False) -> dict:
    model, (x,) = mobilenet_v2_lrn()
    g = torch.Generator().manual_seed(seed)
    calibration = [(torch.randn(x.shape, generator=g),) for _ in range(4)]
    test = torch.randn(x.shape, generator=g)
    result = {}
    config = ptec.Int8(calibration=calibration)
    host = ptec.compile(model, (x,), quantize=config)
    tosa = ptec.compile(model, (x,), target="tosa-int", quantize=config)
    want = np.asarray(ptec.load(host.buffer)(test)[0])
    got = np.asarray(ptec.load(tosa.buffer)(test)[0])
    result["int8"] = dict(delegates=delegate_calls(tosa), cpu=cpu_reasons(tosa),
                          bit_exact=bool(np.array_equal(got, want)), report=tosa.report())
    fp = ptec.compile(model, (x,), target="tosa-fp")
    got = np.asarray(ptec.load(fp.buffer)(test)[0])
    with torch.no_grad():
        ref = model(test).numpy()
    result["fp32"] = dict(delegates=delegate_calls(fp), cpu=cpu_reasons(fp),
                          max_error=float(np.abs(got - ref).max() / np.abs(ref).max()),
                          report=fp.report())
    for name, r in result.items():
        if show_report:
            print(r["report"])
        print(f"{name}: {r['delegates']} delegate calls, {len(r['cpu'])} instructions on the "
              "CPU:")
        for line in r["cpu"]:
            print(f"   {line}")
    print(f"tosa-int output equals the host int8 build bit for bit: {result['int8']['bit_exact']}")
    print(f"tosa-fp output vs PyTorch eager: max error {result['fp32']['max_error']:.2e} "
          "of max|output|")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="print both compile reports")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    r = run(args.seed, args.report)
    return 0 if r["int8"]["bit_exact"] and r["fp32"]["max_error"] < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
