"""Per-layer choice of int8 or int16 activations (a16w8 where int8 loses too much).

    ptec.Int8(calibration=batches, a16w8="auto")            measure, switch the worst
    ptec.Int8(calibration=batches, a16w8=["layers.0.attn"])  these layers in int16

A *layer* is a module of the model at depth `a16w8_depth` of its module tree
(default 3: `layers.0.attn`, `layers.0.conv`, `subsample.0`, `project`, ...);
every operator belongs to the innermost module that called it, cut to that
depth (the pieces of a decomposed softmax or layer norm to the module of the
function they replace, ptec.quant.decompose.inherit_module). Operators at the
top level belong to the layer "" (the model itself).

"auto" quantizes the model in int8 first (one calibration) and measures each
layer's own error: the converted graph is run on the calibration data with
every activation quantize/dequantize pair turned into the identity except the
ones of tensors the layer produces (weights stay int8 everywhere), and the
output compared with the same graph with none left. That layer's SQNR at the
model's output (dB) says how much its int8 activations cost. Layers below
`a16w8_threshold_db` get int16 activations; the model is then quantized again
with that choice (Choice.describe() says which layers and why).

In an int16 layer every annotated operator takes and gives int16, the matrix
products between two activations (attention's q @ k^T and p @ v) included:
int16 x int16 with an int48 accumulator and a scale16 RESCALE, as TOSA's
MATMUL has them (host kernel ptec::quantized_matmul16). `a16w8_matmul=False`
keeps those int8. The measurement counts a layer's matmul outputs among the
tensors it produces, so int16 matmuls are what "auto" assumes. Where an int8
and an int16 layer meet, the boundary is a RESCALE between the two dtypes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch

from . import qdq

ROOT = ""


def layer_of(node: torch.fx.Node, depth: int) -> str | None:
    """The layer an operator belongs to: its innermost module's path cut to
    `depth` components; None for a node without module information."""
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return None
    path = list(stack.values())[-1][0]
    path = _normalised(path)
    return ".".join(path.split(".")[:depth]) if path else ROOT


def _normalised(path: str) -> str:
    """Strict export's paths ("L['self'].layers[0].attn") as non-strict's ("layers.0.attn")."""
    if "L['self']" not in path and "[" not in path:
        return path
    path = path.replace("L['self']", "").replace("['", ".").replace("']", "")
    path = path.replace("[", ".").replace("]", "")
    return ".".join(p for p in path.split(".") if p)


def producer_layer(q: torch.fx.Node, depth: int) -> str | None:
    """The layer whose tensor a quantize node quantizes: its producer's, or for a
    graph input its first consumer's."""
    producer = q.args[0]
    if isinstance(producer, torch.fx.Node) and producer.op == "call_function":
        return layer_of(producer, depth)
    for dq in q.users:
        for user in dq.users:
            if user.op == "call_function":
                return layer_of(user, depth)
    return None


def _gate_activations(gm: torch.fx.GraphModule, quantizes: set, enabled: set) -> None:
    """Rewrites a converted graph in place so that an activation quantize runs only
    while its node's name is in `enabled` (else its float input passes), and a
    dequantize of a float passes it through. Weights are stored quantized and stay
    so. Generated code, not an fx.Interpreter: the measurement runs the graph once a
    layer."""
    def gated(q: torch.fx.Node):
        name, quantize = q.name, q.target

        def maybe_quantize(x, *args, **kwargs):
            return quantize(x, *args, **kwargs) if name in enabled else x
        return maybe_quantize

    def passing(dequantize):
        def maybe_dequantize(x, *args, **kwargs):
            return x if x.is_floating_point() else dequantize(x, *args, **kwargs)
        return maybe_dequantize

    for n in gm.graph.nodes:
        if n in quantizes:
            n.target = gated(n)
        elif n.op == "call_function" and qdq.is_dequantize(n):
            n.target = passing(n.target)
    gm.recompile()


def _outputs(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _outputs(v)]
    return []


def _centred(t: torch.Tensor) -> torch.Tensor:
    t = t.double()
    return t - t.mean(dim=-1, keepdim=True) if t.dim() else t


def sqnr_db(reference: list[torch.Tensor], got: list[torch.Tensor]) -> float:
    """SQNR of float outputs, each row's (last dimension's) mean removed: logits and
    log-probabilities are defined up to a constant per row, and log_softmax's large
    common offset would flatter the figure by ~20 dB."""
    pairs = [(_centred(r), _centred(g)) for r, g in zip(reference, got) if r.is_floating_point()]
    signal = sum(float((r ** 2).sum()) for r, _ in pairs)
    noise = sum(float(((g - r) ** 2).sum()) for r, g in pairs)
    return 10 * math.log10(signal / noise) if noise > 0 else math.inf


@dataclass
class Choice:
    """Which layers got int16 activations, and the measurements behind it."""
    threshold_db: float | None
    #: layer -> SQNR (dB) at the output with only that layer's activations int8
    layer_sqnr_db: dict[str, float] = field(default_factory=dict)
    #: layer -> the number of activation tensors it produces
    tensors: dict[str, int] = field(default_factory=dict)
    int16: list[str] = field(default_factory=list)
    #: SQNR at the output of all-int8 activations (weights int8 on both sides)
    int8_sqnr_db: float | None = None
    #: layer -> its matrix products of two activations (attention's q @ k^T, p @ v)
    matmuls: dict[str, int] = field(default_factory=dict)
    #: whether an int16 layer's matmuls are int16 x int16 (config.a16w8_matmul)
    int16_matmuls: bool = True

    def _matmul_note(self, layer: str) -> str:
        count = self.matmuls.get(layer, 0)
        if not count:
            return ""
        if layer not in self.int16:
            return f", {count} int8 matmuls"
        kind = "int16 x int16" if self.int16_matmuls else "int8 (a16w8_matmul=False)"
        return f", {count} {kind} matmuls"

    def describe(self) -> str:
        if self.threshold_db is None:
            layers = [f"{layer or '(top level)'}{self._matmul_note(layer)}"
                      for layer in self.int16]
            return f"int16 activations in the layers asked for: {'; '.join(layers) or 'none'}"
        lines = [f"per-layer int8 error (SQNR at the output with only that layer's activations "
                 f"in int8; all layers int8: {self.int8_sqnr_db:.1f} dB); below "
                 f"{self.threshold_db:g} dB -> int16:"]
        for layer, db in sorted(self.layer_sqnr_db.items(), key=lambda kv: kv[1]):
            mark = "int16" if layer in self.int16 else "int8 "
            lines.append(f"  {mark} {layer or '(top level)':<28} {db:6.1f} dB  "
                         f"({self.tensors.get(layer, 0)} tensors{self._matmul_note(layer)})")
        return "\n".join(lines)


def measure(converted: torch.fx.GraphModule, batches: Iterable[Any], depth: int) -> Choice:
    """Each layer's SQNR at the output when only its activations are int8
    (`converted` is rewritten: _gate_activations)."""
    quantizes: dict[str, set] = {}
    for n in converted.graph.nodes:
        if n.op == "call_function" and qdq.is_quantize(n):
            layer = producer_layer(n, depth)
            if layer is not None:
                quantizes.setdefault(layer, set()).add(n)
    batches = [b if isinstance(b, (tuple, list)) else (b,) for b in batches]
    all_q = set().union(*quantizes.values()) if quantizes else set()
    enabled: set = set()
    _gate_activations(converted, all_q, enabled)

    def run(names: set) -> list[torch.Tensor]:
        enabled.clear()
        enabled.update(q.name for q in names)
        with torch.no_grad():
            return [t for b in batches for t in _outputs(converted(*b))]

    reference = run(set())
    choice = Choice(threshold_db=None, int8_sqnr_db=sqnr_db(reference, run(all_q)))
    for layer, qs in quantizes.items():
        choice.layer_sqnr_db[layer] = sqnr_db(reference, run(qs))
        choice.tensors[layer] = len(qs)
    return choice


def count_matmuls(graph: torch.fx.GraphModule, depth: int) -> dict[str, int]:
    """Each layer's matrix products of two activations (what the quantizer
    annotates as one: matmul/bmm/mm of two computed tensors)."""
    from .quantizer import MATMUL_OPS
    counts: dict[str, int] = {}
    for n in graph.graph.nodes:
        if n.op == "call_function" and n.target in MATMUL_OPS and all(
                isinstance(a, torch.fx.Node) and a.op == "call_function" for a in n.args[:2]):
            layer = layer_of(n, depth)
            if layer is not None:
                counts[layer] = counts.get(layer, 0) + 1
    return counts


def choose(graph: torch.fx.GraphModule, batches: list, config) -> Choice:
    """The layers of the exported float `graph` (ptec.quant.flow.export) whose int8
    activations cost most (config.a16w8 == "auto"), or the ones config.a16w8 names.
    `graph` is consumed (observers are inserted into it)."""
    matmuls = count_matmuls(graph, config.a16w8_depth)
    if config.a16w8 != "auto":
        return Choice(threshold_db=None, int16=list(config.a16w8), matmuls=matmuls,
                      int16_matmuls=config.a16w8_matmul)
    import dataclasses

    from .flow import calibrate, convert, prepare_exported
    prepared = prepare_exported(graph, dataclasses.replace(config, a16w8=None))
    calibrate(prepared, batches)
    choice = measure(convert(prepared), batches, config.a16w8_depth)
    choice.threshold_db = config.a16w8_threshold_db
    choice.matmuls, choice.int16_matmuls = matmuls, config.a16w8_matmul
    choice.int16 = sorted(layer for layer, db in choice.layer_sqnr_db.items()
                          if db < config.a16w8_threshold_db)
    return choice


__all__ = ["Choice", "choose", "count_matmuls", "layer_of", "measure", "producer_layer"]
