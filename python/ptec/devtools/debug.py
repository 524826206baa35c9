"""The numerical debugger: every intermediate value of the C runtime against PyTorch.

`ptec.debug(model, program, inputs)` runs the program in the C runtime with an
instruction observer that copies each call's outputs as they are written
(`ptec_method_value_view`: planned memory is reused, so they are read right
after the instruction), and compares them, layer by layer, with PyTorch:

- a float program against the model in eager mode;
- an integer program against its fake-quantized model (the PT2E-converted
  module it was compiled from, `program.quantized_model`; each integer output is
  compared with the float value quantized to the output's scale, which is what
  the fake-quantized model carries) and against the float model.

A "layer" is the PyTorch module an instruction came from (torch.export's
nn_module_stack); when several instructions come from one module, its output
is the last one's. The report gives per-layer SQNR and max error and names the
first layer where the error jumps: its SQNR falls below `floor_db`, or more
than `jump_db` below the layer before it.
"""
from __future__ import annotations

import ctypes
import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from .etdump import call_with_pointers

#: Defaults of "where does the error jump": a float program should match eager
#: to rounding (well above 60 dB); an integer program its fake-quantized model
#: to about one step of each output (about 30 dB and up on real activations).
FLOAT_FLOOR_DB = 60.0
INTEGER_FLOOR_DB = 20.0
JUMP_DB = 15.0

_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_bool)
_DELEGATE_HOOK = None  # made on first use: it needs the binding's TensorView


@dataclass
class LayerError:
    """One layer: the instruction whose output is the layer's, and its errors."""
    layer: str
    instruction: int
    node: str
    operator: str
    sqnr_db: float             # against the reference (eager, or fake-quantized)
    max_abs_error: float
    sqnr_vs_float_db: float | None = None  # integer programs: against the float model


@dataclass
class DebugReport:
    reference: str             # "eager" or "fake-quantized"
    layers: list[LayerError] = field(default_factory=list)
    first_jump: str | None = None
    floor_db: float = FLOAT_FLOOR_DB
    jump_db: float = JUMP_DB

    def table(self) -> str:
        rows = [f"numerical debugger: the C runtime against the {self.reference} model",
                f"{'layer':<24} {'#':>4} {'operator':<34} {'SQNR dB':>8} {'max err':>10}"
                + ("  vs float" if self.reference != "eager" else "")]
        for e in self.layers:
            vs = (f"  {e.sqnr_vs_float_db:8.1f}" if e.sqnr_vs_float_db is not None else "")
            mark = "  <- first jump" if e.layer == self.first_jump else ""
            rows.append(f"{e.layer:<24} {e.instruction:>4} {e.operator[:34]:<34} "
                        f"{e.sqnr_db:8.1f} {e.max_abs_error:10.3e}{vs}{mark}")
        rows.append(f"first jump: {self.first_jump or 'none'} (floor {self.floor_db:.0f} dB, "
                    f"jump {self.jump_db:.0f} dB)")
        return "\n".join(rows)

    def to_json(self) -> str:
        """JSON (SQNR of an exact layer is the string "inf", of a NaN layer "-inf")."""
        def plain(v):
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, list):
                return [plain(x) for x in v]
            return v
        return json.dumps(plain(asdict(self)), indent=1)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())


def sqnr_db(reference: torch.Tensor, actual: torch.Tensor) -> float:
    """10 log10(signal power / error power); inf when equal, -inf when the
    runtime made a NaN or infinity the reference does not have."""
    ref, err = reference.double(), (actual.double() - reference.double())
    if bool((torch.isfinite(ref) & ~torch.isfinite(actual)).any()):
        return -math.inf
    noise = float(err.pow(2).mean())
    if noise == 0.0:
        return math.inf
    signal = float(ref.pow(2).mean())
    return 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf


def capture_runtime(pte: bytes, instructions, inputs: Sequence[torch.Tensor],
                    method: str = "forward", inside: dict | None = None
                    ) -> dict[int, list[torch.Tensor]]:
    """The outputs of every instruction (by index) of one run in the C runtime. With
    `inside` (a dict), also every tensor written inside delegates that observe
    (the TOSA executor), as inside[(delegate, tensor name)]."""
    global _DELEGATE_HOOK
    from .. import runtime

    program = runtime.LoadedProgram(pte)
    m = program.method(method)
    lib = runtime.library()
    lib.ptec_method_value_view.restype = ctypes.c_int
    lib.ptec_method_value_view.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                           ctypes.POINTER(runtime.TensorView)]
    captured: dict[int, list[torch.Tensor]] = {}
    failures: list[str] = []

    def on_instruction(_context, index, _name, end):
        if not end or index >= len(instructions):
            return
        values = []
        for value in instructions[index].output_values:
            view = runtime.TensorView()
            status = lib.ptec_method_value_view(m._h, value, ctypes.byref(view))
            if status != 0:
                failures.append(f"instruction {index}: value {value}: status {status}")
                return
            values.append(runtime._from_view(view))
        captured[index] = values

    if _DELEGATE_HOOK is None:
        _DELEGATE_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32,
                                          ctypes.c_uint32, ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.POINTER(runtime.TensorView))

    def on_delegate_op(_context, delegate, _op, _op_name, tensor, view):
        if inside is not None:
            inside[(delegate, tensor.decode())] = runtime._from_view(view.contents)

    hook = _HOOK(on_instruction)
    delegate_hook = _DELEGATE_HOOK(on_delegate_op)
    set_hook = functools.partial(call_with_pointers, lib, "ptec_method_set_hook", m._h)
    set_delegate_hook = functools.partial(call_with_pointers, lib,
                                          "ptec_method_set_delegate_hook", m._h)
    set_hook(ctypes.cast(hook, ctypes.c_void_p), None)
    if inside is not None:
        set_delegate_hook(ctypes.cast(delegate_hook, ctypes.c_void_p), None)
    try:
        m.run(list(inputs))
    finally:
        set_hook(None, None)
        set_delegate_hook(None, None)
    if failures:
        raise RuntimeError("; ".join(failures))
    return captured


def eager_layers(model: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each submodule's output (the first tensor of it) in one eager run, by module path."""
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(_module, _args, out, name=name):
            t = out[0] if isinstance(out, (tuple, list)) else out
            if isinstance(t, torch.Tensor):
                outputs[name] = t.detach().clone()  # in-place ops later must not change it
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return outputs


def graph_layers(gm: torch.fx.GraphModule, inputs: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
    """For a converted (fake-quantized) graph: each module's last float result, by path."""
    from ..quant import qdq

    outputs: dict[str, torch.Tensor] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            stack = n.meta.get("nn_module_stack")
            if (stack and n.op == "call_function" and isinstance(result, torch.Tensor)
                    and result.is_floating_point()
                    and not (qdq.is_quantize(n) or qdq.is_dequantize(n))):
                outputs[list(stack.values())[-1][0]] = result.detach().clone()
            return result

    with torch.no_grad():
        Recorder(gm).run(*inputs)
    return outputs


def _as_float(value: torch.Tensor, qparams: tuple[float, int] | None) -> torch.Tensor:
    if qparams is not None and not value.is_floating_point():
        scale, zero_point = qparams
        return (value.double() - zero_point) * scale
    return value.double()


def _fake_quantize(value: torch.Tensor, qparams: tuple[float, int], like: torch.Tensor):
    scale, zero_point = qparams
    info = torch.iinfo(like.dtype)
    q = torch.clamp(torch.round(value.double() / scale) + zero_point, info.min, info.max)
    return (q - zero_point) * scale


def debug(model: torch.nn.Module, program, inputs: Sequence[torch.Tensor], *,
          pte: bytes | None = None, floor_db: float | None = None,
          jump_db: float = JUMP_DB) -> DebugReport:
    """Compares every layer of `program` (a ptec.CompiledProgram) run in the C runtime
    with PyTorch. `pte` runs other bytes with the same instructions (a modified
    file); `model` is the float model."""
    inputs = list(inputs)
    integer = program.quantized_model is not None
    report = DebugReport("fake-quantized" if integer else "eager",
                         floor_db=floor_db if floor_db is not None else
                         (INTEGER_FLOOR_DB if integer else FLOAT_FLOOR_DB), jump_db=jump_db)
    inside: dict = {}
    captured = capture_runtime(pte if pte is not None else program.buffer,
                               program.instructions, inputs, inside=inside)
    floats = eager_layers(model.eval(), inputs)
    fakes = graph_layers(program.quantized_model, inputs) if integer else {}

    # What the runtime computed, per layer: the last value written for that module,
    # by an instruction or, inside a TOSA delegate, by the operator ending a node.
    last: dict[str, tuple[int, str, str, torch.Tensor, Any]] = {}
    for k, info in enumerate(program.instructions):
        if info.module and captured.get(k):
            last[info.module] = (k, info.node, info.operator, captured[k][0], info.output_qparams)
        for node, (tensor, perm, module, qparams) in (info.delegate_tensors or {}).items():
            value = inside.get((info.delegate_index, tensor))
            if module and value is not None and value.dim() == len(perm):
                logical = value.permute(*[perm.index(d) for d in range(len(perm))])
                last[module] = (k, node, f"{info.operator}: TOSA", logical, qparams)
    previous = None
    for layer, (k, node, operator, value, qparams) in sorted(last.items(),
                                                             key=lambda item: item[1][0]):
        actual = _as_float(value, qparams)
        if integer:
            if layer not in fakes:
                continue
            reference = fakes[layer]
            if qparams is not None and not value.is_floating_point():
                reference = _fake_quantize(reference, qparams, value)
        else:
            if layer not in floats:
                continue
            reference = floats[layer]
        if tuple(reference.shape) != tuple(actual.shape) and reference.numel() == actual.numel():
            reference = reference.reshape(actual.shape)
        if tuple(reference.shape) != tuple(actual.shape):
            continue
        difference = (actual - reference.double()).abs().nan_to_num(nan=math.inf)
        error = LayerError(layer, k, node, operator, sqnr_db(reference, actual),
                           float(difference.max()) if actual.numel() else 0.0)
        if integer and layer in floats and floats[layer].numel() == actual.numel():
            error.sqnr_vs_float_db = sqnr_db(floats[layer].reshape(actual.shape), actual)
        report.layers.append(error)
        if report.first_jump is None and (
                error.sqnr_db < report.floor_db or
                (previous is not None and error.sqnr_db < previous - jump_db)):
            report.first_jump = layer
        previous = error.sqnr_db if math.isfinite(error.sqnr_db) else previous
    return report
