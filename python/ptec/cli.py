"""The `ptec` command line.

    ptec inspect model.pte [--json]
    ptec run [--target cortex-m55] model.pte --input a.npy [--output-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from .describe import describe_pte
from .pte import FlatBufferError


def _value_text(v: dict[str, Any]) -> str:
    kind = v["type"]
    if kind == "Tensor":
        text = f"{v['dtype']}{v['sizes']} dim_order={v['dim_order']} "
        if v["storage"] == "planned":
            return text + f"planned memory {v['memory_id']} +{v['offset']}"
        if v["storage"] == "constant":
            return text + f"constant #{v['constant']}"
        return text + "unbound"
    if kind == "IntList":
        return f"IntList {v['value']} (value indices {v['items']})"
    if "value" in v:
        return f"{kind} {v['value']!r}"
    if "items" in v:
        return f"{kind} {v['items']}"
    return kind


def _instruction_text(i: dict[str, Any]) -> str:
    if i["kind"] == "KernelCall":
        return f"{i['operator']}({', '.join(map(str, i['args']))})"
    if i["kind"] == "DelegateCall":
        return f"delegate {i['delegate']} {i.get('backend')}({', '.join(map(str, i['args']))})"
    fields = {k: v for k, v in i.items() if k not in ("index", "kind")}
    return f"{i['kind']} " + " ".join(f"{k}={v}" for k, v in fields.items())


def format_description(d: dict[str, Any]) -> str:
    """`describe_pte`'s data as the text `ptec inspect` prints."""
    lines = [f"file: {d['file_bytes']:,} bytes, program version {d['version']}"]
    h = d["header"]
    lines.append("header: none (plain FlatBuffer)" if h is None else
                 f"header: program_size={h['program_size']} segment_base_offset="
                 f"{h['segment_base_offset']} segment_data_size={h['segment_data_size']}")
    for k, s in enumerate(d["segments"]):
        lines.append(f"segment {k}: offset {s['offset']} size {s['size']:,}")
    c = d["constants"]
    lines.append(f"constants: {c['count']} tensors, {c['bytes'] or 0:,} bytes ({c['location']})")
    for m in d["methods"]:
        lines += ["", f"method {m['name']!r}: inputs {m['inputs']} outputs {m['outputs']}, "
                      f"{len(m['values'])} values, {len(m['instructions'])} instructions, "
                      f"{m['chains']} chain(s)"]
        sizes = m["planned_buffers"]
        lines.append(f"planned memory: {len(sizes)} buffer(s) "
                     + ", ".join(f"#{k + 1} {n:,} bytes" for k, n in enumerate(sizes))
                     + f" (total {sum(sizes):,})")
        lines.append("operators:")
        lines += [f"  [{o['index']}] {o['name']}  x{o['uses']}" for o in m["operators"]]
        width = max(1, int(math.log10(max(len(m["values"]), 1))) + 1)
        lines.append("values:")
        lines += [f"  {v['index']:>{width}}  {_value_text(v)}" for v in m["values"]]
        lines.append("instructions:")
        lines += [f"  {i['index']:>4}  {_instruction_text(i)}" for i in m["instructions"]]
        if m["delegates"]:
            lines.append("delegates:")
        for dl in m["delegates"]:
            specs = ", ".join(f"{s['key']}={s['value']}" for s in dl["compile_specs"])
            lines.append(f"  [{dl['index']}] {dl['id']}: {dl['location']} #{dl['data_index']}, "
                         f"{dl['bytes']} bytes; compile specs: {specs or 'none'}")
            if "tosa" in dl:  # a TOSABackend delegate: its graph
                from .tosa import format_tosa
                tosa = dl["tosa"]
                lines.append(f"      {tosa['error']}" if "error" in tosa
                             else format_tosa(tosa, indent="      "))
    return "\n".join(lines) + "\n"


def _inspect(args: argparse.Namespace) -> int:
    try:
        description = describe_pte(Path(args.file).read_bytes())
    except (OSError, FlatBufferError) as e:
        print(f"ptec inspect: {args.file}: {e}", file=sys.stderr)
        return 1
    if args.html:
        from .devtools.html import write_html
        write_html(args.html, Path(args.file).read_bytes(), Path(args.file).name)
        print(f"ptec inspect: {args.html}")
    elif args.json:
        json.dump(description, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_description(description))
    return 0


def _run(args: argparse.Namespace) -> int:
    """`ptec run [--target T] model.pte --input a.npy ...`: host or emulated device."""
    import numpy as np

    out_dir = Path(args.output_dir)
    if args.target in (None, "host"):
        import torch

        from .runtime import PtecError, load
        try:
            outputs = load(args.file).run([torch.from_numpy(np.load(p)) for p in args.input],
                                          method=args.method)
        except (OSError, PtecError) as e:
            print(f"ptec run: {e}", file=sys.stderr)
            return 2 if isinstance(e, PtecError) else 1
        out_dir.mkdir(parents=True, exist_ok=True)
        for k, t in enumerate(outputs):
            np.save(out_dir / f"output{k}.npy", t.contiguous().numpy())
        print(f"ptec run: host: {len(outputs)} output(s) in {out_dir}")
        return 0

    from . import device
    try:
        run = device.run_program(args.file, args.input, out_dir, cpu=args.target,
                                 method=args.method, timeout=args.timeout)
    except (ValueError, device.DeviceError) as e:
        print(f"ptec run: {e}", file=sys.stderr)
        return 1
    if run.exit_code != 0:
        sys.stderr.write(run.output)
        print(f"ptec run: the runner on {run.board} failed (exit code {run.exit_code})",
              file=sys.stderr)
        return run.exit_code
    print(format_device_run(args.target, run, top=args.top))
    print(f"outputs in {out_dir}")
    return 0


def format_device_run(cpu: str, run, top: int | None = None) -> str:
    """Per-operator instruction ticks, placement and memory of a device run."""
    per_tick = run.instructions_per_tick
    lines = [f"{cpu} on QEMU {run.board} (-icount shift=0; 1 SysTick tick = {per_tick:g} "
             f"instructions)"]
    for what, (region, address, nbytes) in run.placement.items():
        lines.append(f"  {what:<14} {nbytes:>10,} B  in {region} at 0x{address:08x}")
    lines.append(f"  scratch        {run.scratch:>10,} B")
    lines.append("")
    ops = sorted(run.ops, key=lambda o: -o.ticks)[:top] if top else run.ops
    width = max([len(o.name) for o in ops] + [8])
    if ops:
        lines.append(f"  {'#':>4}  {'operator':<{width}}  {'ticks':>10}  {'instructions':>14}  share")
    for o in ops:
        share = 100.0 * o.ticks / run.ticks if run.ticks else 0.0
        lines.append(f"  {o.index:>4}  {o.name:<{width}}  {o.ticks:>10,}  "
                     f"{o.ticks * per_tick:>14,.0f}  {share:5.1f}%")
    if top and len(run.ops) > top:
        lines.append(f"  ... {len(run.ops) - top} more instructions")
    lines.append(f"  total: {run.ticks:,} ticks = {run.instructions:,.0f} instructions "
                 f"({len(run.ops)} instructions profiled)")
    return "\n".join(lines)


def _load_example(spec: str):
    """`path/to/file.py:function` -> what the function returns: (model, inputs)."""
    import importlib.util

    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise ValueError(f"{spec!r}: expected FILE.py:FUNCTION")
    loader = importlib.util.spec_from_file_location(Path(path).stem, path)
    if loader is None or loader.loader is None:
        raise ValueError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(loader)
    sys.path.insert(0, str(Path(path).resolve().parent))
    try:
        loader.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return getattr(module, name)()


def _debug(args: argparse.Namespace) -> int:
    """`ptec debug FILE.py:FUNCTION [--int8] [--json OUT]`: the numerical debugger."""
    from . import compile as ptec_compile
    from .devtools.debug import debug
    from .quant.config import Int8

    try:
        model, inputs = _load_example(args.model)
    except (OSError, ValueError, AttributeError) as e:
        print(f"ptec debug: {e}", file=sys.stderr)
        return 1
    quantize = Int8(calibration=[tuple(inputs)]) if args.int8 else None
    program = ptec_compile(model, inputs, quantize=quantize)
    report = debug(model, program, inputs)
    print(report.table())
    if args.json:
        report.save(args.json)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ptec", description="ptec: PyTorch models to .pte")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="show what a .pte file contains")
    inspect.add_argument("file", help="a .pte file (ptec's or ExecuTorch's)")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.add_argument("--html", metavar="OUT",
                         help="write a self-contained HTML page: where each call runs, the "
                              "memory plan")
    inspect.set_defaults(run=_inspect)
    run = commands.add_parser("run", help="run a .pte on the host or an emulated Cortex-M")
    run.add_argument("file", help="a .pte file")
    run.add_argument("--target", default="host",
                     help="host (default), cortex-m55, cortex-m7 or cortex-m4 (QEMU; needs "
                          "`make build-m55` / -m7 / -m4)")
    run.add_argument("--input", action="append", default=[], help=".npy input (repeat)")
    run.add_argument("--output-dir", default=".", help="where output0.npy, ... go")
    run.add_argument("--method", default="forward")
    run.add_argument("--top", type=int, default=None,
                     help="list only the N instructions with the most ticks")
    run.add_argument("--timeout", type=float, default=600.0, help="seconds before QEMU is stopped")
    run.set_defaults(run=_run)
    debug = commands.add_parser("debug", help="compare every layer of the C runtime with "
                                "PyTorch (the numerical debugger)")
    debug.add_argument("model", help="FILE.py:FUNCTION returning (model, inputs)")
    debug.add_argument("--int8", action="store_true",
                       help="quantize (calibrated on the inputs) and compare with the "
                            "fake-quantized model")
    debug.add_argument("--json", help="also write the report as JSON here")
    debug.set_defaults(run=_debug)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
