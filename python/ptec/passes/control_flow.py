"""Control flow: torch.cond and torch.while_loop as ExecuTorch's jumps.

ExecuTorch's emitter writes a cond inline in the method's one chain:

    JumpFalseCall(pred -> else)  true branch  MoveCall(out -> result)...
    JumpFalseCall(Bool False -> end)  else: false branch  MoveCall...  end:

ptec does the same. At export (`prepare_control_flow`), each
`torch.ops.higher_order.cond` node becomes a call of a `CondCall` target
holding its two branch graph modules, so the top-level passes (and the TOSA
partitioner, which refuses it: the cond stays on the CPU) see one opaque call.
Constant operands (the weights a branch uses, which torch.export passes in as
operands) become constants of the branch, so the branch's own passes can fold
them. `compile_branches` then runs the CPU passes on each branch (nested
conds too). `flatten` lays out the whole method as the instruction sequence
above; the schedule (lifetimes) and the emitter both walk it, so the steps the
memory planner sees are exactly the emitted instruction indices.

A while_loop becomes a `WhileCall` (cond_fn and body_fn graph modules) and
is laid out as a loop of the same instructions, the way ExecuTorch's emitter
writes its scan loop (copy_ into the carried buffers, a backward
JumpFalseCall on a constant False):

    copy_(carry_i, init_i)...
    top: cond_fn  JumpFalseCall(pred -> end)
         body_fn  copy_(carry_i, new_i)...  JumpFalseCall(Bool False -> top)
    end:

The carried values are the loop's results; both sub-graphs read them as their
first inputs. Copies, not MoveCalls: a MoveCall would make the carry alias the
body's output, which the body's next iteration overwrites while reading it.
ExecuTorch 1.4.1's emitter itself cannot emit while_loop (its
_emit_control_flow takes cond, map and scan); ptec's loop uses only
instructions and the copy_ kernel its runtime has, so it runs there too.

map and scan are refused: their loops need ExecuTorch's executorch_prim
scalar ops and et_copy_index, which ptec's runtime does not have.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Iterator

import torch

from ..errors import CompileError

REASONS = {
    "map_impl": "torch.map: ExecuTorch's map loop counts with executorch_prim scalar ops and "
                "stacks with et_copy_index, which ptec's runtime does not have",
    "scan": "torch.scan: ExecuTorch's scan loop counts with executorch_prim scalar ops and "
            "stacks with et_copy_index, which ptec's runtime does not have",
}
WORKAROUND = ("write the loop as torch._higher_order_ops.while_loop with a carried index "
              "tensor, or compile each step as its own program")

#: What a report says about a cond (it always runs on the CPU: the jumps are
#: instructions of the method, not of a delegate).
CPU_REASON = ("control flow: torch.cond runs as the method's JumpFalseCall/MoveCall "
              "instructions on the CPU; its branches' operators run on the CPU")
LOOP_REASON = ("control flow: torch.while_loop runs as the method's JumpFalseCall "
               "instructions and copy_ calls on the CPU; cond_fn and body_fn run on the CPU")

BRANCH_REASON = ("in a torch.cond branch or while_loop sub-graph: sub-graphs are compiled for "
                 "the CPU")
#: Why the operators of a cond / while_loop in an int8 model run in float.
QUANT_REASON = ("in a torch.cond / while_loop sub-graph: PT2E quantizes top-level operators "
                "only, so the region runs in float between a dequantize and a quantize")
QUANTIZED_KEY = "ptec_quantized"  # graph meta: the graph (or its enclosing one) has Q/DQ


class CondCall:
    """The FX target of one torch.cond: args are (pred, *operands). Calling it
    (under FakeTensorMode, as passes that recompute metadata do) gives empty
    outputs of the right shapes, like a delegate call."""
    kind = "cond"

    def __init__(self, true_gm: torch.fx.GraphModule, false_gm: torch.fx.GraphModule,
                 index: int):
        self.branches = (true_gm, false_gm)
        self.__name__ = f"ptec_{self.kind}_{index}"  # torch.fx's code names the target
        self.__qualname__ = self.__name__

    def outputs(self, side: int = 0) -> list:
        """The output nodes' values of one branch (fx nodes or None/constants)."""
        out = next(n for n in self.branches[side].graph.nodes if n.op == "output")
        returned = out.args[0]
        return list(returned) if isinstance(returned, (list, tuple)) else [returned]

    def __call__(self, pred, *operands):
        vals = [n.meta["val"] for n in self.outputs(0)]
        return tuple(torch.empty_strided(v.shape, v.stride(), dtype=v.dtype) for v in vals)


class WhileCall(CondCall):
    """The FX target of one torch.while_loop: args are (*carried, *additional);
    branches are (cond_fn, body_fn), each taking the carried values then the
    additional ones. Its results are the carried values after the loop."""
    kind = "while"

    def __init__(self, cond_gm: torch.fx.GraphModule, body_gm: torch.fx.GraphModule,
                 index: int, num_carried: int):
        super().__init__(cond_gm, body_gm, index)
        self.num_carried = num_carried

    def __call__(self, *operands):
        return tuple(torch.empty_strided(v.shape, v.stride(), dtype=v.dtype)
                     for v in operands[:self.num_carried])


def is_cond(node: torch.fx.Node) -> bool:
    """A control-flow call (cond or while_loop): no kernel, no out variant."""
    return node.op == "call_function" and isinstance(node.target, CondCall)


def is_while(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and isinstance(node.target, WhileCall)


def prepare_control_flow(gm: torch.fx.GraphModule, _count: list | None = None) -> None:
    """Turns every torch.cond into a CondCall (nested ones too); refuses loops."""
    count = _count if _count is not None else [0]
    refused = []
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or not isinstance(node.target, torch._ops.HigherOrderOperator):
            continue
        name = node.target.name()
        if name == "cond":
            _to_cond_call(gm, node, count)
        elif name == "while_loop":
            _to_while_call(gm, node, count)
        elif name in REASONS:  # other higher-order ops meet the passes as before
            refused.append(f"  {node.name}: {REASONS[name]}")
    if refused:
        raise CompileError("control flow is not supported:\n" + "\n".join(refused)
                           + f"\n({WORKAROUND})")


def _to_cond_call(gm: torch.fx.GraphModule, node: torch.fx.Node, count: list) -> None:
    pred, true_attr, false_attr, operands = node.args[:4]
    if not isinstance(pred, torch.fx.Node) or not isinstance(pred.meta.get("val"), torch.Tensor):
        raise CompileError(f"{node.name}: the condition of torch.cond must be a bool tensor")
    branches = [getattr(gm, true_attr.target), getattr(gm, false_attr.target)]
    kept = []
    for i, operand in enumerate(operands):
        if not isinstance(operand, torch.fx.Node) or \
                not isinstance(operand.meta.get("val"), torch.Tensor):
            raise CompileError(f"{node.name}: operand {i} of torch.cond is not a tensor; ptec "
                               "passes tensors into branches only")
        if operand.op == "get_attr":  # a weight: a constant of each branch
            for branch in branches:
                _make_constant(branch, i, getattr(gm, operand.target))
        else:
            kept.append(operand)
    _replace(gm, node, branches, (true_attr, false_attr), count,
             lambda index: CondCall(*branches, index), (pred, *kept))


def _replace(gm: torch.fx.GraphModule, node: torch.fx.Node, subs: list, attrs: tuple,
             count: list, make, args: tuple) -> None:
    """Prepares the sub-graphs (their control flow too) and puts the call
    `make(index)` with `args` in place of the higher-order op `node`."""
    for sub in subs:
        for ph in [n for n in sub.graph.nodes if n.op == "placeholder"]:
            if ph.meta.get("_ptec_constant"):
                sub.graph.erase_node(ph)
        prepare_control_flow(sub, count)
        sub.graph.lint()
        sub.recompile()
    count[0] += 1
    with gm.graph.inserting_before(node):
        call = gm.graph.call_function(make(count[0] - 1), args)
    call.meta.update(node.meta)
    node.replace_all_uses_with(call)
    gm.graph.erase_node(node)
    for attr in attrs:
        if not attr.users:
            gm.graph.erase_node(attr)


def _to_while_call(gm: torch.fx.GraphModule, node: torch.fx.Node, count: list) -> None:
    cond_attr, body_attr, carried, additional = node.args[:4]
    where = f"{node.name} (torch.while_loop)"
    operands = list(carried) + list(additional)
    for i, operand in enumerate(operands):
        if not isinstance(operand, torch.fx.Node) or \
                not isinstance(operand.meta.get("val"), torch.Tensor):
            what = f"carried value {i}" if i < len(carried) else \
                f"additional input {i - len(carried)}"
            raise CompileError(f"{where}: {what} is not a tensor ({operand!r}); ptec carries "
                               "tensors only: carry a counter as a 0-dim tensor")
    val = node.meta.get("val")
    if not carried or not isinstance(val, (tuple, list)) or len(val) != len(carried):
        raise CompileError(f"{where}: results do not match the carried values")
    subs = [getattr(gm, cond_attr.target), getattr(gm, body_attr.target)]
    kept = list(carried)
    for j, operand in enumerate(additional):
        if operand.op == "get_attr":  # a weight: a constant of each sub-graph
            for sub in subs:
                _make_constant(sub, len(carried) + j, getattr(gm, operand.target))
        else:
            kept.append(operand)
    _replace(gm, node, subs, (cond_attr, body_attr), count,
             lambda index: WhileCall(*subs, index, len(carried)), tuple(kept))


def _make_constant(branch: torch.fx.GraphModule, index: int, tensor: torch.Tensor) -> None:
    """The branch's placeholder `index` becomes a get_attr of `tensor`."""
    ph = [n for n in branch.graph.nodes if n.op == "placeholder"][index]
    attr = f"_ptec_const_{ph.name}"
    branch.register_buffer(attr, tensor)
    with branch.graph.inserting_before(ph):
        getter = branch.graph.get_attr(attr)
    getter.meta.update(ph.meta)
    ph.replace_all_uses_with(getter)
    ph.meta["_ptec_constant"] = True  # erased once every index is read


def compile_branches(gm: torch.fx.GraphModule) -> None:
    """Runs the CPU (portable) passes on each cond's branches, nested ones
    included (this pass is one of them). A branch never goes to a delegate."""
    from ..targets import PORTABLE_PASSES  # the pass lists name this pass

    if not gm.meta.get(QUANTIZED_KEY) and any(is_cond(n) for n in gm.graph.nodes):
        from ..quant.qdq import is_dequantize, is_quantize
        gm.meta[QUANTIZED_KEY] = any(is_quantize(n) or is_dequantize(n) for n in gm.graph.nodes)
    for node in gm.graph.nodes:
        if not is_cond(node):
            continue
        for branch in node.target.branches:
            branch.meta.update({k: v for k, v in gm.meta.items() if isinstance(v, bool)})
            for graph_pass in PORTABLE_PASSES:
                graph_pass(branch)
            _check_branch(node, branch)
            if is_while(node) and branch is node.target.branches[1]:
                _fresh_body_outputs(node, branch)
            if gm.meta.get(QUANTIZED_KEY):  # an int8 model: the report says it stays float
                for n in branch.graph.nodes:
                    if n.op == "call_function" and n.meta.get("ptec_lowering") is None \
                            and n.target is not operator.getitem and not is_cond(n):
                        n.meta["ptec_lowering"] = QUANT_REASON
            if node.meta.get("ptec_tosa"):  # a delegating target: the report says why
                for n in branch.graph.nodes:
                    if n.op == "call_function":
                        n.meta["ptec_tosa"] = BRANCH_REASON


def _check_branch(node: torch.fx.Node, branch: torch.fx.GraphModule) -> None:
    for n in branch.graph.nodes:
        if n.op == "placeholder" and not isinstance(n.meta.get("val"), torch.Tensor):
            raise CompileError(f"{node.name}: a branch input is not a tensor")
    for out in node.target.outputs(0) + node.target.outputs(1):
        if not isinstance(out, torch.fx.Node):
            raise CompileError(f"{node.name}: a branch returns {out!r}, not a tensor")
    if is_while(node):
        pred = node.target.outputs(0)
        val = pred[0].meta.get("val") if len(pred) == 1 else None
        if not isinstance(val, torch.Tensor) or val.dtype != torch.bool or val.numel() != 1:
            raise CompileError(f"{node.name}: cond_fn must return one bool tensor of one element")


def _fresh_body_outputs(node: torch.fx.Node, body: torch.fx.GraphModule) -> None:
    """A body output that is another carried value (or a nested control-flow
    result, which may alias one) gets a clone: the loop copies the outputs into
    the carried buffers one after another, and a copy must not read a carry an
    earlier copy of the same iteration already overwrote (a swap (a, b) -> (b, a))."""
    from .out_variants import META_KEY, find_out_variant  # it imports this module

    carried = [n for n in body.graph.nodes if n.op == "placeholder"][:node.target.num_carried]
    out_node = next(n for n in body.graph.nodes if n.op == "output")
    outs = node.target.outputs(1)
    changed = False
    for i, out in enumerate(outs):
        src = out.args[0] if out.target is operator.getitem else out
        risky = (out in carried and carried.index(out) != i) or is_cond(src)
        if not risky:
            continue
        with body.graph.inserting_before(out_node):
            clone = body.graph.call_function(torch.ops.aten.clone.default, (out,))
        clone.meta["val"] = out.meta["val"]
        clone.meta[META_KEY] = find_out_variant(torch.ops.aten.clone.default)
        outs[i], changed = clone, True
    if changed:
        returned = out_node.args[0]
        out_node.args = (type(returned)(outs) if isinstance(returned, (list, tuple))
                         else outs[0],)
        body.recompile()


# ------------------------------------------------------------------ layout


@dataclass(frozen=True)
class Step:
    """One instruction of the flattened method.

    kind: "call" (node: a kernel or delegate call), "jump_false" (node: the
    cond; jumps to its false branch unless its predicate holds), "jump" (node:
    the cond; Bool False, to after the false branch), "move" (node: the cond,
    source: the branch's output node, index: which result).
    A while_loop (node) gives "copy_in" (source: the initial value, index: the
    carry), "loop_test" (source: cond_fn's predicate; jumps to after the loop
    unless it holds), "copy_back" (source: body_fn's output, index: the carry)
    and "loop_back" (Bool False, back to cond_fn's first instruction).
    """
    kind: str
    node: torch.fx.Node
    source: torch.fx.Node | None = None
    index: int = 0
    side: int = 0


def flatten(gm: torch.fx.GraphModule) -> Iterator[Step]:
    """The method's instructions in emission order (module docstring)."""
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is operator.getitem:
            continue
        if not is_cond(node):
            yield Step("call", node)
            continue
        if is_while(node):
            yield from _flatten_while(node)
            continue
        yield Step("jump_false", node)
        for side in (0, 1):
            if side == 1:
                yield Step("jump", node)
            yield from flatten(node.target.branches[side])
            for i, out in enumerate(node.target.outputs(side)):
                yield Step("move", node, out, i, side)


def _flatten_while(node: torch.fx.Node) -> Iterator[Step]:
    """One while_loop's instructions (module docstring)."""
    loop = node.target
    for i, init in enumerate(node.args[:loop.num_carried]):
        yield Step("copy_in", node, init, i)
    yield from flatten(loop.branches[0])
    yield Step("loop_test", node, loop.outputs(0)[0])
    yield from flatten(loop.branches[1])
    for i, out in enumerate(loop.outputs(1)):
        yield Step("copy_back", node, out, i, 1)
    yield Step("loop_back", node)


def bindings(gm: torch.fx.GraphModule) -> dict[torch.fx.Node, "torch.fx.Node | tuple"]:
    """Each branch placeholder -> the node (of the enclosing graph) it receives;
    a while_loop's carried placeholders -> the loop's result (node, index)."""
    bound: dict[torch.fx.Node, torch.fx.Node | tuple] = {}
    for node in gm.graph.nodes:
        if not is_cond(node):
            continue
        for branch in node.target.branches:
            phs = [n for n in branch.graph.nodes if n.op == "placeholder"]
            if is_while(node):
                n = node.target.num_carried
                bound.update((ph, (node, i)) for i, ph in enumerate(phs[:n]))
                bound.update(zip(phs[n:], node.args[n:]))
            else:
                bound.update(zip(phs, node.args[1:]))
            bound.update(bindings(branch))
    return bound


def has_control_flow(gm: torch.fx.GraphModule) -> bool:
    return any(is_cond(n) for n in gm.graph.nodes)


def hide_control_flow(gm: torch.fx.GraphModule) -> None:
    """Before PT2E (ptec.quant.flow.prepare_exported): every torch.cond and
    while_loop of an exported float graph becomes a call of a `FloatRegion`,
    which holds the sub-graphs as plain Python objects and calls torch.cond /
    while_loop on them. PT2E annotates top-level calls only, so the region
    stays float with a dequantize before it and a quantize after it wherever
    its neighbours are quantized; and torchao's convert_pt2e no longer walks
    the sub-graphs (its DuplicateDQPass's dead-code pass recurses into them
    and fails on a cond's get_attr nodes). ptec.compile exports the converted
    module again, where the calls become torch.cond / while_loop once more.
    map and scan are refused, as in float."""
    refused = []
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or \
                not isinstance(node.target, torch._ops.HigherOrderOperator):
            continue
        name = node.target.name()
        if name in REASONS:
            refused.append(f"  {node.name}: {REASONS[name]}")
            continue
        if name not in ("cond", "while_loop"):
            continue
        if name == "cond":
            pred, a, b, operands = node.args[:4]
            args, carried = (pred, *operands), 0
        else:
            a, b, carried_in, additional = node.args[:4]
            args, carried = (*carried_in, *additional), len(carried_in)
        region = FloatRegion(name, getattr(gm, a.target), getattr(gm, b.target), carried,
                             node.name)
        with gm.graph.inserting_before(node):
            call = gm.graph.call_function(region, args)
        call.meta.update(node.meta)
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
        for attr in (a, b):
            if not attr.users:
                gm.graph.erase_node(attr)
                delattr(gm, attr.target)
    if refused:
        raise CompileError("control flow is not supported:\n" + "\n".join(refused)
                           + f"\n({WORKAROUND})")
    gm.graph.lint()
    gm.recompile()


class FloatRegion:
    """A cond or while_loop PT2E sees as one opaque call (hide_control_flow)."""

    def __init__(self, op: str, first: torch.fx.GraphModule, second: torch.fx.GraphModule,
                 carried: int, name: str):
        self.op, self.subs, self.carried = op, (first, second), carried
        self.__name__ = f"ptec_float_{name}"  # torch.fx's generated code names the target
        self.__qualname__ = self.__name__

    def __call__(self, *args):
        # The higher-order ops themselves, as the exported graph called them
        # (torch.cond would trace the sub-graphs again with dynamo).
        if self.op == "cond":
            return torch.ops.higher_order.cond(args[0], *self.subs, tuple(args[1:]))
        return torch.ops.higher_order.while_loop(*self.subs, tuple(args[:self.carried]),
                                                 tuple(args[self.carried:]))
