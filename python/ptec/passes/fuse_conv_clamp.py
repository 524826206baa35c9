"""Pass: a float32 2-D convolution and the relu / hardtanh / clamp after it become one
ptec::conv2d_f32 call whose kernel clamps the outputs as it stores them
(docs/kernels-cpu.md, "fp32 convolution, packed and fused"). The "x86-64-avx512"
target runs it.

    ptec::conv2d_f32(Tensor input, Tensor weight, Tensor? bias, int[] stride,
                     int[] padding, int[] dilation, int groups, float? min,
                     float? max, Tensor? packed) -> Tensor

`min` / `max` are the clamp's bounds (None: unbounded on that side); `packed`
is None here and filled by ptec.cpu.pack_f32 for groups-1 layers. A relu is
(0, None), ReLU6 hardtanh(0, 6). Fused only when the convolution's result has
no other reader, the bounds are numbers with min <= max that float32 holds
exactly (so the fused clamp compares against the same values the separate op
would), and the convolution is 2-D, float32 and not transposed. Clamping a
float is exact, so the fused result equals the unfused one bit for bit on the
same convolution kernel; MobileNetV2 loses its 35 hardtanh passes over the
activations, ResNet-18 its 17 relu ones.
"""
from __future__ import annotations

import torch

from .fake import fake_mode_of, recompute_val

aten = torch.ops.aten

_ARGS = ("Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
         "int[] dilation, int groups, float? min, float? max, Tensor? packed")

#: The out variant's schema, as the C kernel implements it (tests/python/test_op_list.py).
OUT_SCHEMA = f"ptec::conv2d_f32.out({_ARGS}, *, Tensor(a!) out) -> Tensor(a!)"

_lib = torch.library.Library("ptec", "FRAGMENT")
_lib.define(f"conv2d_f32({_ARGS}) -> Tensor")
_lib.define(OUT_SCHEMA.removeprefix("ptec::"))


def _conv2d_f32(x, w, bias, stride, padding, dilation, groups, lo, hi, packed):
    y = aten.convolution.default(x, w, bias, stride, padding, dilation, False, [0, 0], groups)
    return y if lo is None and hi is None else aten.clamp.default(y, lo, hi)


torch.library.impl(_lib, "conv2d_f32", "CompositeExplicitAutograd")(_conv2d_f32)
torch.library.register_fake("ptec::conv2d_f32", lib=_lib)(_conv2d_f32)


def _bounds(node: torch.fx.Node) -> tuple[float | None, float | None] | None:
    """The (min, max) a relu / hardtanh / clamp node clamps to, None if it is not one."""
    args = list(node.args)
    if node.target is aten.relu.default:
        return 0.0, None
    if node.target is aten.hardtanh.default:
        args += [None] * (3 - len(args))
        lo = node.kwargs.get("min_val", args[1] if args[1] is not None else -1.0)
        hi = node.kwargs.get("max_val", args[2] if args[2] is not None else 1.0)
        return lo, hi
    if node.target is aten.clamp.default:
        args += [None] * (3 - len(args))
        return node.kwargs.get("min", args[1]), node.kwargs.get("max", args[2])
    return None


def _exact_f32(v) -> bool:
    if v is None:
        return True
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    f = float(v)
    return f == f and abs(f) != float("inf") and \
        float(torch.tensor(f, dtype=torch.float32).item()) == f


def _convolution(node: torch.fx.Node) -> bool:
    """A float32, 2-D, not transposed aten.convolution."""
    if node.op != "call_function" or node.target is not aten.convolution.default:
        return False
    x, y = node.args[0], node.meta.get("val")
    return (isinstance(x, torch.fx.Node) and y is not None and y.dtype == torch.float32
            and y.dim() == 4 and not node.args[6] and not any(node.args[7]))


def conv2d_f32_call(gm: torch.fx.GraphModule, conv: torch.fx.Node, lo, hi, packed,
                    mode) -> torch.fx.Node:
    """A ptec.conv2d_f32 node before `conv` with conv's arguments, bounds and packed."""
    x, w, bias, stride, padding, dilation, _t, _op, groups = conv.args
    with gm.graph.inserting_before(conv):
        call = gm.graph.call_function(
            torch.ops.ptec.conv2d_f32.default,
            (x, w, bias, list(stride), list(padding), list(dilation), groups, lo, hi, packed))
    call.meta = {**conv.meta}
    recompute_val(call, mode)
    return call


def fuse_conv_clamp(gm: torch.fx.GraphModule) -> None:
    """Rewrites convolution -> relu / hardtanh / clamp pairs to ptec.conv2d_f32."""
    pairs = []
    for act in gm.graph.nodes:
        if act.op != "call_function":
            continue
        bounds = _bounds(act)
        conv = act.args[0] if act.args else None
        if bounds is None or not isinstance(conv, torch.fx.Node) or not _convolution(conv):
            continue
        lo, hi = bounds
        if len(conv.users) != 1 or not (_exact_f32(lo) and _exact_f32(hi)):
            continue
        if lo is not None and hi is not None and float(lo) > float(hi):
            continue
        if act.meta.get("val") is None or act.meta["val"].dtype != torch.float32:
            continue
        pairs.append((conv, act, None if lo is None else float(lo),
                      None if hi is None else float(hi)))
    if not pairs:
        return
    mode = fake_mode_of(gm)
    for conv, act, lo, hi in pairs:
        call = conv2d_f32_call(gm, conv, lo, hi, None, mode)
        act.replace_all_uses_with(call)
        gm.graph.erase_node(act)
        gm.graph.erase_node(conv)
    gm.graph.lint()
    gm.recompile()
