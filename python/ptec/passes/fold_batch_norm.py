"""Pass: fold inference batch norm into the convolution before it (float graphs).

`aten._native_batch_norm_legit_no_training(conv, gamma, beta, mean, var, momentum, eps)`
of a `aten.convolution` whose weight (and bias, if any) and the batch norm's
statistics are constants, and whose output only the batch norm reads, becomes
the convolution with

    w' = w * s[oc],   b' = (b - mean) * s + beta,   s = gamma / sqrt(var + eps)

computed in float64 and stored in the weight's dtype. The batch norm's other
outputs (save_mean, save_invstd) must be unused (they are in eval graphs).
The result is the same function up to float rounding (within the float
tolerance the tests use); MobileNetV2 and ResNet-18 lose every batch-norm
call. Quantized graphs are left alone: their batch norms are folded by the
quantizer before the weights are quantized.
"""
from __future__ import annotations

import operator

import torch

from .fake import fake_mode_of, fake_of
from .fold_constants import drop_unused_constants

aten = torch.ops.aten


def _const(gm: torch.fx.GraphModule, node) -> torch.Tensor | None:
    if node is None:
        return None
    if isinstance(node, torch.fx.Node) and node.op == "get_attr":
        value = getattr(gm, node.target)
        return value if isinstance(value, torch.Tensor) else None
    return None


def fold_batch_norm(gm: torch.fx.GraphModule) -> None:
    """Folds conv -> batch norm (inference) pairs with constant parameters."""
    mode = fake_mode_of(gm)
    changed = False
    for bn in list(gm.graph.nodes):
        if bn.op != "call_function" or bn.target != aten._native_batch_norm_legit_no_training.default:
            continue
        conv, gamma, beta, mean, var, _momentum, eps = (list(bn.args) + [None] * 7)[:7]
        if not (isinstance(conv, torch.fx.Node) and conv.op == "call_function"
                and conv.target == aten.convolution.default and len(conv.users) == 1):
            continue
        if conv.args[6]:  # transposed: its weight is [C_in, C_out / groups, ...]
            continue
        w, b = _const(gm, conv.args[1]), _const(gm, conv.args[2]) if len(conv.args) > 2 else None
        if w is None or (len(conv.args) > 2 and conv.args[2] is not None and b is None):
            continue
        stats = [_const(gm, n) for n in (mean, var)]
        if any(s is None for s in stats) or not w.is_floating_point():
            continue
        if (gamma is not None and _const(gm, gamma) is None) or \
                (beta is not None and _const(gm, beta) is None):
            continue
        # Only output 0 (the normalized tensor) may be read.
        users = list(bn.users)
        if not all(u.op == "call_function" and u.target == operator.getitem and u.args[1] == 0
                   for u in users):
            continue
        oc = w.shape[0]
        g = _const(gm, gamma).double() if gamma is not None else torch.ones(oc, dtype=torch.float64)
        bt = _const(gm, beta).double() if beta is not None else torch.zeros(oc, dtype=torch.float64)
        s = g / torch.sqrt(stats[1].double() + float(eps if eps is not None else 1e-5))
        new_w = (w.double() * s.reshape([-1] + [1] * (w.dim() - 1))).to(w.dtype)
        b0 = b.double() if b is not None else torch.zeros(oc, dtype=torch.float64)
        new_b = ((b0 - stats[0].double()) * s + bt).to(w.dtype)
        names = []
        for tag, value in (("w", new_w), ("b", new_b)):
            attr = f"_ptec_bn_{tag}_{conv.name}"
            gm.register_buffer(attr, value.contiguous())
            names.append(attr)
        with gm.graph.inserting_before(conv):
            w_node = gm.graph.get_attr(names[0])
            b_node = gm.graph.get_attr(names[1])
        w_node.meta["val"] = fake_of(mode, new_w)
        b_node.meta["val"] = fake_of(mode, new_b)
        args = list(conv.args)
        args[1], args[2] = w_node, b_node
        conv.args = tuple(args)
        for u in users:
            u.replace_all_uses_with(conv)
            gm.graph.erase_node(u)
        # The conv now computes the batch norm's output: it stands for the batch norm's
        # module where instructions are traced back to PyTorch (the numerical debugger).
        if bn.meta.get("nn_module_stack"):
            conv.meta["nn_module_stack"] = bn.meta["nn_module_stack"]
        gm.graph.erase_node(bn)
        changed = True
    if changed:
        drop_unused_constants(gm)
        gm.graph.lint()
        gm.recompile()
