"""From an nn.Module to the core-ATen FX graph the passes work on.

torch.export lifts parameters, buffers and tensor constants to placeholders.
ptec turns them back into get_attr nodes that hold the real tensors, so that
a graph module alone carries everything the passes and the emitter need:
placeholders are exactly the user inputs, get_attr nodes are the constants.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind
from torch.utils._pytree import TreeSpec

from .dtypes import dim_order_from_strides
from .errors import CompileError
from .passes.control_flow import prepare_control_flow
from .passes.decompositions import EXTRA as EXTRA_DECOMPOSITIONS
from .passes.decompositions import KEPT_WHOLE as KEPT_WHOLE_KERNELS
from .passes.fake import fake_of
from .passes.state_in_place import write_state_in_place
from .passes.tied_weights import share_tied_transposes
from .state import add_write_backs, mark_state


@dataclass
class ExportedGraph:
    """A graph module plus the pytree specs of the model's inputs and outputs."""
    graph_module: torch.fx.GraphModule
    in_spec: TreeSpec | None
    out_spec: TreeSpec | None


def export_core_aten(module: torch.nn.Module, example_inputs: Sequence[Any],
                     state_names: Sequence[str] = ()) -> ExportedGraph:
    """torch.export in eval mode, core-ATen decompositions, constants as get_attr;
    buffers in `state_names` stay state even where this method only reads them."""
    try:
        ep = torch.export.export(module.eval(), tuple(example_inputs))
    except Exception as e:  # torch.export raises many types; all mean "cannot export"
        raise CompileError(f"torch.export failed: {e}") from e
    try:
        ep = ep.run_decompositions(_decompositions())
    except RuntimeError as e:  # e.g. a cond branch PyTorch's functionalization refuses
        raise CompileError(f"torch.export's core-ATen decompositions failed: {e}") from e
    gm = constants_to_attributes(ep, state_names)
    prepare_control_flow(gm)
    return ExportedGraph(gm, ep.call_spec.in_spec, ep.call_spec.out_spec)


#: Activations core ATen would decompose, kept whole: the runtime has a
#: kernel for each, and a quantized one becomes a single lookup table
#: (decomposed, silu is sigmoid * x: two integer ops and more rounding).
KEPT_WHOLE = ("silu", "hardswish", "hardsigmoid")


def _decompositions():
    table = torch.export.default_decompositions()
    for name in KEPT_WHOLE:
        table.pop(getattr(torch.ops.aten, name).default, None)
    for op in KEPT_WHOLE_KERNELS:
        table.pop(op, None)
    table.update(EXTRA_DECOMPOSITIONS)
    return table


def constants_to_attributes(ep: ExportedProgram,
                            state_names: Sequence[str] = ()) -> torch.fx.GraphModule:
    """The program's graph with lifted constants turned into get_attr nodes,
    and mutated buffers (plus `state_names`) as state placeholders."""
    signature = ep.graph_signature
    if signature.user_inputs_to_mutate:
        raise CompileError("the model mutates its inputs "
                           f"({sorted(signature.user_inputs_to_mutate.values())}); "
                           "ptec programs may mutate registered buffers only")
    gm = ep.graph_module
    # Mutated buffers (and buffers other methods mutate) are state (state.py):
    # placeholders in the state memory, written back at the end.
    mutated = set(signature.buffers_to_mutate.values()) | set(state_names)
    kinds = {spec.arg.name: spec for spec in signature.input_specs}
    for node in list(gm.graph.nodes):
        if node.op != "placeholder":
            continue
        spec = kinds[node.name]
        if spec.kind == InputKind.BUFFER and spec.target in mutated:
            mark_state(node, spec.target, _constant_tensor(ep, spec.target))
            continue
        if spec.kind == InputKind.USER_INPUT:
            val = node.meta.get("val")
            # torch.export specialises int, float and bool inputs: the graph
            # holds their example value as a constant. The program keeps them
            # as Int/Double/Bool inputs (as ExecuTorch does); the runtime
            # accepts only that value (docs/operators.md, scalar inputs).
            if not isinstance(val, (torch.Tensor, bool, int, float)):
                raise CompileError(f"input {node.name!r} is a {type(val).__name__}; ptec "
                                   "programs take tensors and int, float or bool scalars")
            continue
        if spec.kind not in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            raise CompileError(f"input {node.name!r} of kind {spec.kind.name} is not supported")
        tensor = _constant_tensor(ep, spec.target)
        attr = f"_ptec_const_{node.name}"
        gm.register_buffer(attr, tensor)
        with gm.graph.inserting_before(node):
            getter = gm.graph.get_attr(attr)
        getter.meta.update(node.meta)
        getter.meta["val"] = fake_of(node.meta["val"].fake_mode, tensor)
        node.replace_all_uses_with(getter)
        gm.graph.erase_node(node)
    _write_back_mutations(gm, signature)
    share_tied_transposes(gm)
    gm.graph.lint()
    gm.recompile()
    return gm


def _write_back_mutations(gm: torch.fx.GraphModule, signature) -> None:
    """BUFFER_MUTATION outputs leave the output and become write-backs (state.py)."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    returned = list(output.args[0])
    specs = signature.output_specs
    mutations = {}
    for spec, value in zip(specs, returned):
        if spec.kind == OutputKind.BUFFER_MUTATION:
            placeholder = next(name for name, target in signature.inputs_to_buffers.items()
                               if target == spec.target)
            mutations[placeholder] = value
    if not mutations:
        return
    kept = [v for spec, v in zip(specs, returned) if spec.kind != OutputKind.BUFFER_MUTATION]
    output.args = (tuple(kept),)
    add_write_backs(gm, mutations)
    write_state_in_place(gm)


def _constant_tensor(ep: ExportedProgram, target: str) -> torch.Tensor:
    if target in ep.state_dict:
        tensor = ep.state_dict[target]
    elif target in ep.constants:
        tensor = ep.constants[target]
    else:
        raise CompileError(f"constant {target!r} not found in the exported program")
    tensor = tensor.detach()
    # The program stores a constant as dense bytes in some dim order; a
    # strided view (a slice of a parameter, say) is made contiguous first.
    if not tensor.permute(dim_order_from_strides(tensor.stride())).is_contiguous():
        tensor = tensor.contiguous()
    return tensor
