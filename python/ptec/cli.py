"""The `ptec` command line: `ptec inspect model.pte [--json]`."""
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
    return "\n".join(lines) + "\n"


def _inspect(args: argparse.Namespace) -> int:
    try:
        description = describe_pte(Path(args.file).read_bytes())
    except (OSError, FlatBufferError) as e:
        print(f"ptec inspect: {args.file}: {e}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(description, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_description(description))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ptec", description="ptec: PyTorch models to .pte")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="show what a .pte file contains")
    inspect.add_argument("file", help="a .pte file (ptec's or ExecuTorch's)")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(run=_inspect)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
