"""Post-training quantization, step by step: export, prepare, calibrate, convert.

    prepared = prepare(model, example_inputs, ptec.Int8())   # export + observers
    calibrate(prepared, batches)                               # or call it yourself
    converted = convert(prepared)                              # Q/DQ graph, int8 weights
    program = ptec.compile(converted, example_inputs)

`ptec.compile(model, inputs, quantize=ptec.Int8(calibration=batches))` does
all of it. The converted module is a torch.fx.GraphModule whose float
operators sit between quantize/dequantize calls; run in PyTorch it gives the
fake-quantized results the compiled program reproduces.
"""
from __future__ import annotations

import types
from typing import Any, Iterable, Sequence

import torch

from ..errors import CompileError
from . import qdq
from .config import Int8, import_torchao


def prepare(model: torch.nn.Module, example_inputs: Sequence[Any],
            config: Int8 | None = None, int16_layers: Sequence[str] = ()) -> torch.fx.GraphModule:
    """Exports `model` (eval mode) and inserts observers as `config` says.

    BatchNorm layers that follow a convolution or linear layer are folded into
    its weights first (prepare_pt2e does it), so they are quantized as one.
    Attention calls become matmuls and a softmax (ptec.quant.attention), so
    they are quantized too. int16_layers: layers (ptec.quant.mixed) with
    int16 activations in an int8 model.
    """
    return prepare_exported(export(model, example_inputs, config), config, int16_layers)


def export(model: torch.nn.Module, example_inputs: Sequence[Any],
           config: Int8 | None = None) -> torch.fx.GraphModule:
    """The float graph prepare() annotates (ptec.quant.attention.export_for_quantization)."""
    from .attention import export_for_quantization

    try:
        return export_for_quantization(model.eval(), example_inputs,
                                       bool(config is not None and config.tosa_friendly))
    except Exception as e:  # torch.export raises many types; all mean "cannot export"
        raise CompileError(f"torch.export failed: {e}") from e


def prepare_exported(graph: torch.fx.GraphModule, config: Int8 | None = None,
                     int16_layers: Sequence[str] = ()) -> torch.fx.GraphModule:
    """Observers inserted into an exported float graph (export())."""
    import_torchao()
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

    from ..passes.control_flow import hide_control_flow
    from .quantizer import PtecQuantizer

    hide_control_flow(graph)  # cond / while_loop regions stay float
    return prepare_pt2e(graph, PtecQuantizer(config, int16_layers))


def calibrate(prepared: torch.fx.GraphModule, batches: Iterable[Any]) -> int:
    """Runs every batch (a tuple of inputs, or one tensor) through the observers;
    returns how many there were."""
    count = 0
    with torch.no_grad():
        for batch in batches:
            prepared(*(batch if isinstance(batch, (tuple, list)) else (batch,)))
            count += 1
    return count


def convert(prepared: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """The calibrated module with quantize/dequantize calls; weights (and
    biases) are stored quantized, read through a dequantize."""
    import_torchao()
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    converted = convert_pt2e(prepared, fold_quantize=True)
    allow_eval(converted)
    return converted


def quantize(model: torch.nn.Module, example_inputs: Sequence[Any],
             config: Int8) -> torch.fx.GraphModule:
    """prepare, calibrate on config.calibration (or the example inputs), convert.

    With config.a16w8, the int16 layers are chosen first (ptec.quant.mixed);
    the converted module's `ptec_a16w8` attribute is that Choice (describe()
    says which layers and why)."""
    batches = config.calibration if config.calibration is not None else [tuple(example_inputs)]
    graph = export(model, example_inputs, config)
    choice = None
    if config.a16w8 is not None:
        import copy

        from .mixed import choose
        batches = list(batches)  # read twice: to choose, then to calibrate
        if not batches:
            raise CompileError("the calibration data is empty")
        choice = choose(copy.deepcopy(graph), batches, config)
    prepared = prepare_exported(graph, config, choice.int16 if choice else ())
    if calibrate(prepared, batches) == 0:
        raise CompileError("the calibration data is empty")
    converted = convert(prepared)
    converted.ptec_a16w8 = choice
    return converted


def is_quantized(module: torch.nn.Module) -> bool:
    """True for a converted module: a graph with quantize/dequantize calls."""
    return isinstance(module, torch.fx.GraphModule) and any(
        qdq.is_quantize(n) or qdq.is_dequantize(n) for n in module.graph.nodes)


def allow_eval(module: torch.fx.GraphModule) -> None:
    """Lets .eval() and .train() run on a converted module again.

    convert_pt2e makes them raise (an exported graph has no modules to switch);
    ptec.compile calls .eval() on what it is given. They become torchao's
    graph rewrites for dropout and batch norm, and return the module as
    nn.Module's do (torchao's allow_exported_model_train_eval returns None).
    """
    import_torchao()
    from torchao.quantization.pt2e import (
        move_exported_model_to_eval,
        move_exported_model_to_train,
    )

    def _eval(self):
        move_exported_model_to_eval(self)
        return self

    def _train(self, mode: bool = True):
        (move_exported_model_to_train if mode else move_exported_model_to_eval)(self)
        return self

    module.eval = types.MethodType(_eval, module)
    module.train = types.MethodType(_train, module)
