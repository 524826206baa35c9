"""Pass: the integer convolution path runs channels-last.

The integer conv kernels' fast paths read activations NHWC (dim order
0,2,3,1) and weights OHWI (0,2,3,1), or [1, KH, KW, O] for depthwise
(1,2,3,0), as TOSA and CMSIS-NN lay them out. This pass stores each integer
convolution's weight in that order and converts its input to channels-last
where it is not already; every integer op keeps its input's layout, so one
conversion (an int8 copy) at the start of a chain serves the whole chain.
Graph outputs keep the layout they had.
"""
from __future__ import annotations

import torch

from ...dtypes import dim_order_from_strides
from ...passes.fake import fake_mode_of, fake_of, recompute_val
from .. import qdq
from .match import INTEGER, META_KEY

aten = torch.ops.aten

NHWC = [0, 2, 3, 1]
DEPTHWISE_WEIGHT = [1, 2, 3, 0]


def _dim_order(node: torch.fx.Node) -> list[int] | None:
    val = node.meta.get("val")
    return dim_order_from_strides(val.stride()) if isinstance(val, torch.Tensor) else None


def _laid_out(tensor: torch.Tensor, order: list[int]) -> torch.Tensor:
    """`tensor` with the same logical values, stored in dim order `order`."""
    inverse = [order.index(d) for d in range(tensor.dim())]
    return tensor.permute(order).contiguous().permute(inverse)


def _to_channels_last(gm: torch.fx.GraphModule, conv: torch.fx.Node,
                      converted: dict[torch.fx.Node, torch.fx.Node], mode) -> None:
    """NHWC input (converted once per producer) and re-laid weight for one conv."""
    x, w, groups = conv.args[0], conv.args[1], conv.args[6]
    if _dim_order(x) != NHWC:
        if x not in converted:
            with gm.graph.inserting_after(x):
                clone = gm.graph.call_function(aten.clone.default, (x,),
                                               {"memory_format": torch.channels_last})
            clone.meta[META_KEY] = INTEGER
            recompute_val(clone, mode)
            converted[x] = clone
        conv.replace_input_with(x, converted[x])
    weight = getattr(gm, w.target)
    depthwise = groups == x.meta["val"].shape[1] and weight.shape[1] == 1
    relaid = _laid_out(weight, DEPTHWISE_WEIGHT if depthwise else NHWC)
    attr = f"{w.target}_{'dw' if depthwise else 'ohwi'}_{conv.name}"
    gm.register_buffer(attr, relaid)
    with gm.graph.inserting_before(conv):
        getter = gm.graph.get_attr(attr)
    getter.meta["val"] = fake_of(mode, relaid)
    conv.replace_input_with(w, getter)
    if not w.users:
        gm.graph.erase_node(w)


def _restore_layout(gm: torch.fx.GraphModule, output: torch.fx.Node, arg: torch.fx.Node,
                    mode) -> None:
    """Gives a graph output its contiguous layout back: on the integer codes
    before a final dequantize (a quarter of the bytes), else on the output."""
    if qdq.is_dequantize(arg) and len(arg.users) == 1:
        codes = arg.args[0]
        with gm.graph.inserting_before(arg):
            back = gm.graph.call_function(aten.clone.default, (codes,),
                                          {"memory_format": torch.contiguous_format})
        back.meta[META_KEY] = INTEGER
        arg.replace_input_with(codes, back)
        recompute_val(back, mode)
        recompute_val(arg, mode)
        return
    with gm.graph.inserting_before(output):
        back = gm.graph.call_function(aten.clone.default, (arg,),
                                      {"memory_format": torch.contiguous_format})
    back.meta[META_KEY] = INTEGER if arg.meta["val"].dtype != torch.float32 else \
        "restores the graph output's layout"
    output.replace_input_with(arg, back)
    recompute_val(back, mode)


def integer_channels_last(gm: torch.fx.GraphModule) -> None:
    convs = [n for n in gm.graph.nodes
             if n.op == "call_function" and n.target is torch.ops.ptec.quantized_conv2d.default]
    if not convs:
        return
    mode = fake_mode_of(gm)
    output = next(n for n in gm.graph.nodes if n.op == "output")
    before = {id(a): _dim_order(a) for a in output.all_input_nodes}
    converted: dict[torch.fx.Node, torch.fx.Node] = {}
    # One walk in graph order, recomputing layouts as it goes: a conv sees
    # its input's layout after the convs before it changed theirs.
    for node in list(gm.graph.nodes):
        if node in convs:
            _to_channels_last(gm, node, converted, mode)
        if node.op == "call_function":
            recompute_val(node, mode)
    for arg in list(output.all_input_nodes):
        if before.get(id(arg)) is not None and _dim_order(arg) != before[id(arg)]:
            _restore_layout(gm, output, arg, mode)
    gm.graph.lint()
    gm.recompile()
