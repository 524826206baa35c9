#!/usr/bin/env python3
"""Compile the example models with ptec, run them on the C runtime, compare with PyTorch.

    python examples/run_examples.py                   # every model, full size
    python examples/run_examples.py --model ds_cnn    # one model (repeatable)
    python examples/run_examples.py ds_cnn --report   # and print ptec's full report
    python examples/run_examples.py --demo            # what `make demo` runs

For each model: compile to build/examples/<name>.pte, run it through the C
runtime, compare with eager PyTorch, and print the error, the planned memory
against its liveness lower bound, the constants and file sizes and the times.
A model passes when max|ptec - torch| <= 1e-4 * max|torch|. The exit status is
non-zero if any model fails.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RELATIVE_TOLERANCE = 1e-4  # of max|output|, fp32 portable kernels
DEMO_MODEL = "mobilenet_v2"  # at 224x224, with the full report


@dataclass
class Result:
    name: str
    passed: bool = False
    max_abs_error: float = float("nan")
    max_abs_output: float = float("nan")
    arena_bytes: Optional[int] = None
    lower_bound_bytes: Optional[int] = None
    constant_bytes: Optional[int] = None
    pte_bytes: int = 0
    compile_seconds: float = 0.0
    load_seconds: float = 0.0
    run_seconds: float = 0.0
    eager_seconds: float = 0.0
    error: str = ""
    notes: List[str] = field(default_factory=list)

    @property
    def relative_error(self) -> float:
        return self.max_abs_error / self.max_abs_output if self.max_abs_output else float("inf")

    @property
    def arena_ratio(self) -> Optional[float]:
        if self.arena_bytes is None or not self.lower_bound_bytes:
            return None
        return self.arena_bytes / self.lower_bound_bytes


def memory_stats(prog) -> tuple:
    """(planned arena bytes, liveness lower bound bytes, constant bytes) of a compiled program."""
    return prog.memory.arena_bytes, prog.memory.lower_bound_bytes, prog.constant_bytes


def compare(actual: Sequence[torch.Tensor], expected: Sequence[torch.Tensor]) -> tuple:
    """(max abs error, max |expected|) over all outputs; raises on a shape or count mismatch."""
    if len(actual) != len(expected):
        raise ValueError(f"{len(actual)} outputs, expected {len(expected)}")
    err, mag = 0.0, 0.0
    for i, (a, e) in enumerate(zip(actual, expected)):
        if tuple(a.shape) != tuple(e.shape):
            raise ValueError(f"output {i}: shape {tuple(a.shape)}, expected {tuple(e.shape)}")
        if a.dtype != e.dtype:
            raise ValueError(f"output {i}: dtype {a.dtype}, expected {e.dtype}")
        a, e = a.detach().double(), e.detach().double()
        if a.numel():
            err = max(err, float((a - e).abs().max()))
            mag = max(mag, float(e.abs().max()))
    return err, mag


def as_list(out) -> List[torch.Tensor]:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def run_one(name: str, out_dir: Path, show_report: bool, **kwargs) -> Result:
    res = Result(name)
    model, inputs = EXAMPLES[name](**kwargs)
    with torch.no_grad():
        expected = as_list(model(*inputs))
        t = time.perf_counter()  # the second call, past PyTorch's one-time set-up
        model(*inputs)
        res.eager_seconds = time.perf_counter() - t

    t = time.perf_counter()
    prog = ptec.compile(model, inputs)
    res.compile_seconds = time.perf_counter() - t
    buffer = bytes(prog.buffer)
    res.pte_bytes = len(buffer)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.pte").write_bytes(buffer)
    res.arena_bytes, res.lower_bound_bytes, res.constant_bytes = memory_stats(prog)
    if show_report:
        print(prog.report())

    # The first call also initialises the method on its memory; time a second one alone.
    t = time.perf_counter()
    program = ptec.load(buffer)
    actual = as_list(program(*inputs))
    res.load_seconds = time.perf_counter() - t
    t = time.perf_counter()
    again = as_list(program(*inputs))
    res.run_seconds = time.perf_counter() - t
    if any(not torch.equal(a, b) for a, b in zip(actual, again)):
        res.notes.append("a second run gave different outputs")

    res.max_abs_error, res.max_abs_output = compare(actual, expected)
    res.passed = res.max_abs_error <= RELATIVE_TOLERANCE * res.max_abs_output and not res.notes
    return res


def _kib(n: Optional[int]) -> str:
    return "n/a" if n is None else f"{n / 1024:,.1f} KiB"


def print_result(r: Result) -> None:
    status = "PASS" if r.passed else "FAIL"
    print(f"== {r.name}: {status}")
    if r.error:
        print(f"   error: {r.error}")
        return
    print(f"   max abs error {r.max_abs_error:.3e}, max |output| {r.max_abs_output:.3e}, "
          f"ratio {r.relative_error:.3e} (limit {RELATIVE_TOLERANCE:.0e})")
    ratio = r.arena_ratio
    print(f"   arena {_kib(r.arena_bytes)}, lower bound {_kib(r.lower_bound_bytes)}, "
          f"ratio {'n/a' if ratio is None else f'{ratio:.3f}'}")
    print(f"   constants {_kib(r.constant_bytes)}, .pte {_kib(r.pte_bytes)}")
    print(f"   compile {r.compile_seconds:.2f} s, load + first run {r.load_seconds * 1e3:.1f} ms, "
          f"run {r.run_seconds * 1e3:.1f} ms (eager {r.eager_seconds * 1e3:.1f} ms)")
    for note in r.notes:
        print(f"   note: {note}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"models to run (default: all of {', '.join(EXAMPLES)})")
    parser.add_argument("--model", action="append", default=[], choices=sorted(EXAMPLES),
                        help="a model to run; may be repeated")
    parser.add_argument("--report", action="store_true", help="print ptec's full report")
    parser.add_argument("--demo", action="store_true",
                        help=f"the `make demo` run: {DEMO_MODEL} with the full report")
    parser.add_argument("--resolution", type=int, default=None,
                        help="image size for the CNNs (default: 224)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "examples",
                        help="where to write the .pte files")
    args = parser.parse_args(argv)

    if args.demo:
        args.model.append(DEMO_MODEL)
        args.report = True
    names = list(dict.fromkeys(args.names + args.model)) or list(EXAMPLES)
    unknown = [n for n in names if n not in EXAMPLES]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(EXAMPLES)}")

    results = []
    for name in names:
        kwargs = {}
        if args.resolution is not None and name in ("mobilenet_v2", "resnet18"):
            kwargs["resolution"] = args.resolution
        try:
            r = run_one(name, args.out, args.report, **kwargs)
        except Exception as exc:  # report every model, then fail
            r = Result(name, error=f"{type(exc).__name__}: {exc}")
            traceback.print_exc()
        print_result(r)
        results.append(r)

    failed = [r.name for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)}/{len(results)} passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
