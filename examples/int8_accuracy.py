"""Int8 example models: quantized, compiled, run on the C runtime, measured.

For each model of examples/models.py: quantize with ptec.Int8 on random
calibration inputs, compile, run on held-out random inputs through ptec's C
runtime and compare with

  * the fake-quantized model evaluated exactly (float64,
    ptec.quant.reference): the integer program must agree within one output
    step (it is bit-exact wherever the whole model is integer);
  * the same fake-quantized model run by PyTorch in float32: its own float32
    rounding flips codes at step midpoints, which deep random networks
    amplify, so this agreement is lower and is printed, not required;
  * the fp32 model: signal-to-quantization-noise ratio (SQNR, dB).

    .venv/bin/python examples/int8_accuracy.py [--model NAME] [--report]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.quant.reference import float64_reference  # noqa: E402
from ptec.report import FLOAT_FALLBACK, INTEGER, runs_on  # noqa: E402

#: Sizes used by `make test` and by default here (the CNNs at 96x96, MobileNetV2
#: at width 0.5); ResNet-18's global pool then averages 3x3 (odd) windows.
SIZES = {
    "mobilenet_v2": dict(resolution=96, width_mult=0.5),
    "resnet18": dict(resolution=96),
    "ds_cnn": {},
    "transformer": {},
}
#: Held-out inputs per model: more for the small outputs.
SAMPLES = {"mobilenet_v2": 2, "resnet18": 2, "ds_cnn": 16, "transformer": 32}


@dataclass
class Int8Result:
    name: str
    integer_calls: int
    float_fallbacks: int
    elements: int
    within_one_exact: float      # fraction within 1 step of the float64 reference
    bit_exact: float             # fraction equal to it
    within_one_float32: float    # fraction within 1 step of PyTorch's float32 run
    sqnr_db: float               # against the fp32 model
    fp32_pte_bytes: int
    int8_pte_bytes: int
    report: str


def _random_like(t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    if t.dtype == torch.int64:
        return torch.randint(0, int(t.max()) + 1, t.shape, generator=g)
    return torch.randn(t.shape, generator=g)


def _first(out) -> torch.Tensor:
    return out[0] if isinstance(out, (list, tuple)) else out


def evaluate(name: str, seed: int = 0, samples: Optional[int] = None,
             **model_kwargs) -> Int8Result:
    model, inputs = EXAMPLES[name](**(model_kwargs or SIZES[name]))
    g = torch.Generator().manual_seed(seed)
    calibration = [tuple(_random_like(t, g) for t in inputs) for _ in range(8)]
    converted = ptec.quantize.convert(_prepared(model, inputs, calibration))
    program = ptec.compile(converted, inputs)
    fp32_bytes = len(ptec.compile(model, inputs).buffer)
    runtime = ptec.load(program.buffer)
    exact = float64_reference(converted)
    step = _output_scale(program)
    diffs_exact, diffs_f32, signal, noise = [], [], 0.0, 0.0
    with torch.no_grad():
        for _ in range(samples or SAMPLES[name]):
            x = tuple(_random_like(t, g) for t in inputs)
            got = torch.from_numpy(np.asarray(runtime(*x)[0])).to(torch.float64)
            diffs_exact.append(((got - _first(exact(*x))).abs() / step).round().reshape(-1))
            diffs_f32.append(((got - _first(converted(*x))).abs() / step).round().reshape(-1))
            reference = _first(model(*x)).to(torch.float64)
            signal += float((reference ** 2).sum())
            noise += float(((got - reference) ** 2).sum())
    d_exact, d_f32 = torch.cat(diffs_exact), torch.cat(diffs_f32)
    places = [runs_on(i) for i in program.instructions]
    return Int8Result(
        name, places.count(INTEGER), places.count(FLOAT_FALLBACK), d_exact.numel(),
        float((d_exact <= 1).double().mean()), float((d_exact == 0).double().mean()),
        float((d_f32 <= 1).double().mean()), 10 * np.log10(signal / max(noise, 1e-30)),
        fp32_bytes, len(program.buffer), program.report())


def _prepared(model, inputs, calibration):
    prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
    ptec.quantize.calibrate(prepared, calibration)
    return prepared


def _output_scale(program) -> float:
    """The scale of the program's last dequantize (its output)."""
    plan = program.program.execution_plan[0]
    last = plan.chains[0].instructions[-1].instr_args
    op = plan.operators[last.op_index]
    assert op.name.endswith("dequantize_per_tensor"), "the output is not a dequantized tensor"
    return float(plan.values[last.args[1]].val.double_val)


def print_result(r: Int8Result) -> None:
    print(f"{r.name}: {r.integer_calls} integer kernel calls, {r.float_fallbacks} float "
          f"fallbacks; .pte {r.fp32_pte_bytes:,} B fp32 -> {r.int8_pte_bytes:,} B int8")
    print(f"   vs fake-quantized model (exact): {100 * r.within_one_exact:.2f}% within 1 step, "
          f"{100 * r.bit_exact:.2f}% bit-exact ({r.elements} elements)")
    print(f"   vs fake-quantized model (PyTorch float32): "
          f"{100 * r.within_one_float32:.2f}% within 1 step")
    print(f"   SQNR vs fp32 model: {r.sqnr_db:.1f} dB")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", choices=sorted(EXAMPLES))
    parser.add_argument("--report", action="store_true", help="print each program's report")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in args.model or list(EXAMPLES):
        r = evaluate(name, seed=args.seed)
        if args.report:
            print(r.report)
        print_result(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
