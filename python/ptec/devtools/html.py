"""One self-contained HTML page about a program: where each op runs, the memory plan, timings.

`ptec inspect --html OUT model.pte` and `CompiledProgram.report(html=OUT)` write it.
Everything is inline (CSS, SVG, a few lines of script): it opens offline and
can be mailed. Sections:

- the graph: one box per kernel or delegate call in instruction order, coloured by
  where it runs (CPU kernel, fused integer kernel, quantize/dequantize,
  TOSA delegate, Ethos-U delegate), edges from the values each call reads, the
  reason for a CPU fallback on hover and in the table (when the compiler's
  decisions are at hand, i.e. from a CompiledProgram);
- the memory plan: each planned tensor as a rectangle from the call that writes
  it to the last that reads it, at its arena offset, the peak marked;
- per-call bars of measured time (a ptec.devtools.Profile: host nanoseconds or
  device ticks) and per-layer SQNR (a ptec.devtools.debug.DebugReport) when given;
- for an Ethos-U program, Vela's estimated cycles per NPU layer.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..describe import describe_pte

COLOURS = {"cpu": "#9aa5b1", "integer": "#3fa36b", "qdq": "#e0b84a", "tosa": "#4a7fd0",
           "ethos-u": "#e07b39", "delegate": "#8e6bd0"}
LEGEND = {"cpu": "CPU kernel", "integer": "fused integer kernel",
          "qdq": "quantize / dequantize", "tosa": "TOSA delegate", "ethos-u": "Ethos-U delegate",
          "delegate": "other delegate"}


@dataclass
class Call:
    index: int
    label: str
    detail: str
    kind: str
    reads: list[int]
    writes: list[int]
    why: str = ""


@dataclass
class Tensor:
    value: int
    buffer: int
    offset: int
    nbytes: int
    first: int
    last: int


@dataclass
class Page:
    title: str
    calls: list[Call] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    buffers: list[int] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: Vela's per-layer estimate of each Ethos-U delegate: (delegate, layer, op, cycles).
    npu_layers: list[tuple[str, str, str, float]] = field(default_factory=list)


def _kind(operator: str) -> str:
    if operator.startswith("quantized_decomposed::"):
        return "qdq"
    if operator.startswith("ptec::quantized") or operator.startswith("cortex_m::"):
        return "integer"
    return "cpu"


def _tensor_values(values: list[dict], index: int) -> list[int]:
    if not 0 <= index < len(values):
        return []
    v = values[index]
    if v["type"] == "Tensor":
        return [index]
    if v["type"] == "TensorList":
        return [i for i in v.get("items", []) if 0 <= i < len(values)]
    return []


def build_page(data: bytes, title: str, compiled=None) -> Page:
    """The page's model from a .pte's bytes (and the compiler's decisions, if given)."""
    d = describe_pte(data)
    method = d["methods"][0]
    values = method["values"]
    page = Page(title, buffers=list(method["planned_buffers"]))
    infos = compiled.instructions if compiled is not None else None
    delegates = {x["index"]: x for x in method["delegates"]}
    for ins in method["instructions"]:
        args = ins.get("args", [])
        if ins["kind"] == "KernelCall":
            writes = _tensor_values(values, args[-1]) if args else []
            reads = [t for a in args[:-1] for t in _tensor_values(values, a) if t not in writes]
            op = ins["operator"]
            call = Call(ins["index"], op.split("::")[-1].rsplit(".", 1)[0], op, _kind(op),
                        reads, writes)
        elif ins["kind"] == "DelegateCall":
            backend = delegates.get(ins["delegate"], {}).get("id", "delegate")
            tensors = [t for a in args for t in _tensor_values(values, a)]
            outputs = 1
            tosa = delegates.get(ins["delegate"], {}).get("tosa")
            if tosa and "blocks" in tosa:
                outputs = len(tosa["blocks"][0]["outputs"]) or 1
            kind = {"TOSABackend": "tosa", "EthosUBackend": "ethos-u"}.get(backend, "delegate")
            call = Call(ins["index"], backend, f"delegate {ins['delegate']}", kind,
                        tensors[:-outputs], tensors[-outputs:])
        else:
            continue
        if infos is not None and ins["index"] < len(infos):
            info = infos[ins["index"]]
            call.why = info.delegation if info.delegation not in (None, "delegated") else (
                info.lowering if info.lowering not in (None, "integer") else "")
            if info.delegate_operators:
                call.detail += f", {info.delegate_operators} TOSA operators"
        page.calls.append(call)

    # Lifetimes: written by the first call that writes it (inputs: before the first
    # call), alive until the last call that reads it (outputs: to the end).
    end = len(page.calls)
    first: dict[int, int] = {v: -1 for k in method["inputs"] for v in _tensor_values(values, k)}
    last: dict[int, int] = {}
    for position, call in enumerate(page.calls):
        for v in call.writes:
            first.setdefault(v, position)
        for v in call.reads + call.writes:
            last[v] = position
    for k in method["outputs"]:
        for v in _tensor_values(values, k):
            last[v] = end
    for v, start in first.items():
        value = values[v]
        if value.get("storage") != "planned" or value.get("memory_id") is None:
            continue
        page.tensors.append(Tensor(v, value["memory_id"] - 1, value.get("offset", 0),
                                   _nbytes(value), start, last.get(v, start)))
    if compiled is not None and compiled.npu is not None:
        for npu in compiled.report_data()["npu"]["delegates"]:
            for layer in npu["layers"]:
                page.npu_layers.append((npu["node"], layer.get("Name", ""),
                                        layer.get("NNG Operator", ""),
                                        float(layer.get("Op Cycles", 0) or 0)))
    page.summary = {
        "file bytes": d["file_bytes"], "calls": len(page.calls),
        "delegates": len(method["delegates"]),
        "planned memory": " + ".join(f"{b:,} B" for b in page.buffers) or "0 B",
        "target": compiled.target if compiled is not None else "(from the .pte alone)"}
    return page


def _nbytes(value: dict) -> int:
    import torch

    dtype = getattr(torch, value.get("dtype", ""), None)
    itemsize = dtype.itemsize if isinstance(dtype, torch.dtype) else 4
    count = 1
    for n in value.get("sizes", []):
        count *= n
    return count * itemsize


# ------------------------------------------------------------------ drawing

ROW = 40
BOX_W = 300


def _graph_svg(page: Page) -> str:
    x0 = 160
    height = ROW * len(page.calls) + 20
    row_of = {c.index: k for k, c in enumerate(page.calls)}
    writer = {v: c.index for c in page.calls for v in c.writes}
    parts = [f'<svg class="graph" width="{x0 + BOX_W + 40}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for c in page.calls:
        y = 10 + ROW * row_of[c.index]
        for v in c.reads:
            src = writer.get(v)
            if src is None or src not in row_of:
                continue
            ys = 10 + ROW * row_of[src] + 28
            bend = min(150, 12 + 10 * (row_of[c.index] - row_of[src]))
            parts.append(f'<path d="M{x0},{ys} C{x0 - bend},{ys} {x0 - bend},{y} {x0},{y + 4}" '
                         f'class="edge"/>')
    for c in page.calls:
        y = 10 + ROW * row_of[c.index]
        why = f" (CPU: {c.why})" if c.why else ""
        parts.append(
            f'<g class="node" id="call{c.index}"><rect x="{x0}" y="{y}" width="{BOX_W}" '
            f'height="28" rx="5" fill="{COLOURS[c.kind]}"/>'
            f'<text x="{x0 + 8}" y="{y + 18}">{c.index}: {html.escape(c.label)}</text>'
            f'<title>{html.escape(c.detail + why)}</title></g>')
        if c.why:
            parts.append(f'<text x="{x0 + BOX_W + 6}" y="{y + 18}" class="why">!</text>')
    parts.append("</svg>")
    return "".join(parts)


def _memory_svg(page: Page) -> str:
    if not page.tensors:
        return "<p>No planned tensors.</p>"
    width, height = 900, 320
    steps = max(len(page.calls), 1)
    top = max(t.offset + t.nbytes for t in page.tensors)
    peak = max(page.tensors, key=lambda t: t.offset + t.nbytes)
    sx = (width - 60) / (steps + 1)
    sy = (height - 40) / max(top, 1)
    parts = [f'<svg class="memory" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="50" y1="{height - 20}" x2="{width - 5}" y2="{height - 20}" class="axis"/>',
             f'<line x1="50" y1="10" x2="50" y2="{height - 20}" class="axis"/>',
             f'<text x="52" y="{height - 5}" class="small">instruction 0</text>',
             f'<text x="{width - 120}" y="{height - 5}" class="small">{steps - 1}</text>']
    for t in page.tensors:
        x = 50 + sx * (t.first + 1)
        w = max(sx * (t.last - t.first), 2)
        y = height - 20 - sy * (t.offset + t.nbytes)
        h = max(sy * t.nbytes, 1)
        hue = (t.value * 47) % 360
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                     f'fill="hsl({hue},55%,62%)" stroke="#444" stroke-width="0.3">'
                     f'<title>value {t.value}: {t.nbytes:,} B at offset {t.offset:,} '
                     f'(buffer {t.buffer}), instructions {max(t.first, 0)}..{t.last}</title></rect>')
    y_peak = height - 20 - sy * (peak.offset + peak.nbytes)
    parts.append(f'<line x1="50" y1="{y_peak:.1f}" x2="{width - 5}" y2="{y_peak:.1f}" '
                 f'class="peak"/><text x="{width - 230}" y="{y_peak - 4:.1f}" class="peak-label">'
                 f'peak {top:,} B (value {peak.value})</text></svg>')
    return "".join(parts)


def _bars(title: str, rows: list[tuple[str, float, str]], unit: str) -> str:
    if not rows:
        return ""
    top = max(v for _, v, _ in rows if v == v) or 1.0
    body = "".join(
        f'<tr><td>{html.escape(name)}</td><td class="bar"><div style="width:{max(0.0, v) / top * 100:.1f}%;'
        f'background:{colour}"></div></td><td class="num">{v:,.1f} {unit}</td></tr>'
        for name, v, colour in rows)
    return f"<h2>{html.escape(title)}</h2><table class='bars'>{body}</table>"


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1280px}
h1{font-size:22px} h2{font-size:17px;margin-top:28px}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:4px;color:#fff}
svg text{font:12px monospace;fill:#111} .small{font-size:10px}
.edge{fill:none;stroke:#777;stroke-width:1} .axis{stroke:#333}
.peak{stroke:#c0392b;stroke-dasharray:5,3} .peak-label{fill:#c0392b} .why{fill:#c0392b;font-weight:bold}
.node.hit rect{stroke:#000;stroke-width:3}
table{border-collapse:collapse} td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee}
.bars td.bar{width:500px} .bars div{height:12px} .num{text-align:right;font-family:monospace}
.columns{display:flex;gap:32px;align-items:flex-start}
"""

SCRIPT = """
document.querySelectorAll('tr[data-call]').forEach(function (row) {
  row.addEventListener('mouseenter', function () {
    var node = document.getElementById('call' + row.dataset.call);
    if (node) node.classList.add('hit');
  });
  row.addEventListener('mouseleave', function () {
    var node = document.getElementById('call' + row.dataset.call);
    if (node) node.classList.remove('hit');
  });
});
console.log('ptec report ready: ' + document.querySelectorAll('.node').length + ' calls');
"""


def render(page: Page, profile=None, debug=None) -> str:
    legend = "".join(f'<span style="background:{COLOURS[k]}">{v}</span>'
                     for k, v in LEGEND.items() if any(c.kind == k for c in page.calls))
    summary = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                      for k, v in page.summary.items())
    table = "".join(
        f'<tr data-call="{c.index}"><td>{c.index}</td><td>{html.escape(c.detail)}</td>'
        f'<td>{LEGEND[c.kind]}</td><td>{html.escape(c.why)}</td></tr>' for c in page.calls)
    sections = [
        f"<h1>{html.escape(page.title)}</h1><table>{summary}</table>",
        f"<h2>Where each call runs</h2><p class='legend'>{legend}</p>",
        f"<div class='columns'><div>{_graph_svg(page)}</div><table><tr><th>#</th>"
        f"<th>operator</th><th>runs on</th><th>why on the CPU</th></tr>{table}</table></div>",
        "<h2>Memory plan (tensor lifetimes against arena offsets)</h2>" + _memory_svg(page)]
    if page.npu_layers:
        rows = [(f"{layer} ({op})", cycles / 1e3, COLOURS["ethos-u"])
                for _, layer, op, cycles in page.npu_layers]
        sections.append(_bars("Vela's estimate per NPU layer", rows, "k cycles"))
    if profile is not None:
        kind = {c.index: c.kind for c in page.calls}
        rows = [(f"{e.instruction}: {e.name}", e.duration_ns / 1e3, COLOURS[kind.get(e.instruction,
                                                                                    "cpu")])
                for e in profile.events if e.instruction >= 0]
        sections.append(_bars("Measured time per call", rows, "us"))
    if debug is not None:
        rows = [(f"{e.layer} ({e.instruction})", min(e.sqnr_db, 150.0) if e.sqnr_db == e.sqnr_db
                 else 0.0, "#c0392b" if e.layer == debug.first_jump else "#4a7fd0")
                for e in debug.layers]
        sections.append(_bars(f"SQNR per layer against the {debug.reference} model "
                              f"(first jump: {debug.first_jump or 'none'})", rows, "dB"))
    data = json.dumps({"calls": len(page.calls), "tensors": len(page.tensors)})
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(page.title)}</title><style>{STYLE}</style></head><body>"
            + "".join(sections)
            + f"<script type='application/json' id='ptec-data'>{data}</script>"
            + f"<script>{SCRIPT}</script></body></html>")


def write_html(path: str | Path, data: bytes, title: str, compiled=None, profile=None,
               debug=None) -> Path:
    """Writes the page for a .pte's bytes (and what else is known) to `path`."""
    path = Path(path)
    path.write_text(render(build_page(data, title, compiled), profile, debug))
    return path
