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

prints one row per model as it finishes (docs/quantization.md, "Measured",
has the figures); --report adds each program's compile report.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

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


class Fallback(NamedTuple):
    """An op the program runs in float, and the lowering's reason."""
    node: str
    operator: str
    reason: str


@dataclass
class Int8Result:
    name: str
    integer_calls: int
    float_fallbacks: int
    integer_operators: frozenset[str]  # the operators of the integer calls
    fallbacks: list[Fallback]
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
    held_out = [tuple(_random_like(t, g) for t in inputs)
                for _ in range(samples or SAMPLES[name])]
    d_exact, d_f32, sqnr = _compare(model, converted, program, held_out)
    integer = [i for i in program.instructions if runs_on(i) == INTEGER]
    fallbacks = [Fallback(i.node, i.operator, i.lowering) for i in program.instructions
                 if runs_on(i) == FLOAT_FALLBACK]
    return Int8Result(
        name=name, integer_calls=len(integer), float_fallbacks=len(fallbacks),
        integer_operators=frozenset(i.operator.split(".")[0] for i in integer),
        fallbacks=fallbacks, elements=d_exact.numel(),
        within_one_exact=_fraction(d_exact <= 1), bit_exact=_fraction(d_exact == 0),
        within_one_float32=_fraction(d_f32 <= 1), sqnr_db=sqnr,
        fp32_pte_bytes=len(ptec.compile(model, inputs).buffer),
        int8_pte_bytes=len(program.buffer), report=program.report())


def _compare(model, converted, program, held_out):
    """Distances in output steps from the C runtime's results to the exact and
    the float32 fake-quantized model, and the SQNR (dB) against the fp32 model."""
    runtime = ptec.load(program.buffer)
    exact = float64_reference(converted)
    step = _output_scale(program)
    diffs_exact, diffs_f32, signal, noise = [], [], 0.0, 0.0
    with torch.no_grad():
        for x in held_out:
            got = torch.from_numpy(np.asarray(runtime(*x)[0])).to(torch.float64)
            diffs_exact.append(((got - _first(exact(*x))).abs() / step).round().reshape(-1))
            diffs_f32.append(((got - _first(converted(*x))).abs() / step).round().reshape(-1))
            reference = _first(model(*x)).to(torch.float64)
            signal += float((reference ** 2).sum())
            noise += float(((got - reference) ** 2).sum())
    sqnr = 10 * np.log10(signal / max(noise, 1e-30))
    return torch.cat(diffs_exact), torch.cat(diffs_f32), float(sqnr)


def _fraction(mask: torch.Tensor) -> float:
    return float(mask.double().mean())


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


#: The table's columns: heading, width, and the cell for one result. "int
#: calls" counts every integer kernel call, data movement on int8 (views,
#: permutes, layout copies) included; "<= 1 step" and "exact" compare with the
#: fake-quantized model evaluated exactly, "<= 1 f32" with PyTorch running it
#: in float32.
COLUMNS = (
    ("model", 13, lambda r: r.name),
    ("int calls", 9, lambda r: f"{r.integer_calls}"),
    ("float", 5, lambda r: f"{r.float_fallbacks}"),
    ("<= 1 step", 9, lambda r: f"{100 * r.within_one_exact:.2f}%"),
    ("exact", 8, lambda r: f"{100 * r.bit_exact:.2f}%"),
    ("<= 1 f32", 8, lambda r: f"{100 * r.within_one_float32:.2f}%"),
    ("SQNR dB", 7, lambda r: f"{r.sqnr_db:.1f}"),
    ("outputs", 7, lambda r: f"{r.elements}"),
    (".pte fp32 -> int8 bytes", 30,
     lambda r: f"{r.fp32_pte_bytes:,} -> {r.int8_pte_bytes:,} "
               f"({r.fp32_pte_bytes / r.int8_pte_bytes:.1f}x)"),
)


def _line(cells: Sequence[str]) -> str:
    # The model name left-aligned, the figures right-aligned under their headings.
    parts = [c.ljust(w) if k == 0 else c.rjust(w)
             for k, ((_, w, _), c) in enumerate(zip(COLUMNS, cells))]
    return "  ".join(parts).rstrip()


def table_header() -> str:
    return _line([heading for heading, _, _ in COLUMNS])


def table_row(r: Int8Result) -> str:
    return _line([cell(r) for _, _, cell in COLUMNS])


def fallback_notes(results: Sequence[Int8Result]) -> list[str]:
    """One line per float fallback, with the lowering's reason."""
    return [f"{r.name}: {f.node} ({f.operator}) stays float: {f.reason}"
            for r in results for f in r.fallbacks]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", choices=sorted(EXAMPLES))
    parser.add_argument("--report", action="store_true", help="print each program's report")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = []
    print(table_header(), flush=True)
    for name in args.model or list(EXAMPLES):
        r = evaluate(name, seed=args.seed)
        results.append(r)
        if args.report:
            print(r.report)
        print(table_row(r), flush=True)  # each row as its model finishes: they take a while
    notes = fallback_notes(results)
    if notes:
        print("\nfloat fallbacks:\n  " + "\n  ".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
