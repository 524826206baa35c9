"""Control flow: torch.cond as ExecuTorch's jumps; loops refused with the reason.

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

while_loop, map and scan are refused: ExecuTorch 1.4.1's emitter does not
emit while_loop at all (its _emit_control_flow takes cond, map and scan only)
and ptec emits no loops yet.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Iterator

import torch

from ..errors import CompileError

REASONS = {
    "while_loop": "torch.while_loop: ExecuTorch 1.4.1's emitter has no emission for it (only "
                  "cond, map and scan), and ptec emits no loops of sub-graph calls",
    "map_impl": "torch.map needs a loop of sub-graph calls, which ptec's emitter does not do yet",
    "scan": "torch.scan needs a loop of sub-graph calls, which ptec's emitter does not do yet",
}
WORKAROUND = "compute with a fixed number of steps, or compile each step as its own program"

#: What a report says about a cond (it always runs on the CPU: the jumps are
#: instructions of the method, not of a delegate).
CPU_REASON = ("control flow: torch.cond runs as the method's JumpFalseCall/MoveCall "
              "instructions on the CPU; its branches' operators run on the CPU")

BRANCH_REASON = "in a torch.cond branch: branches are compiled for the CPU"


class CondCall:
    """The FX target of one torch.cond: args are (pred, *operands). Calling it
    (under FakeTensorMode, as passes that recompute metadata do) gives empty
    outputs of the right shapes, like a delegate call."""

    def __init__(self, true_gm: torch.fx.GraphModule, false_gm: torch.fx.GraphModule,
                 index: int):
        self.branches = (true_gm, false_gm)
        self.__name__ = f"ptec_cond_{index}"  # torch.fx's generated code names the target
        self.__qualname__ = self.__name__

    def outputs(self, side: int = 0) -> list:
        """The output nodes' values of one branch (fx nodes or None/constants)."""
        out = next(n for n in self.branches[side].graph.nodes if n.op == "output")
        returned = out.args[0]
        return list(returned) if isinstance(returned, (list, tuple)) else [returned]

    def __call__(self, pred, *operands):
        vals = [n.meta["val"] for n in self.outputs(0)]
        return tuple(torch.empty_strided(v.shape, v.stride(), dtype=v.dtype) for v in vals)


def is_cond(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and isinstance(node.target, CondCall)


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
    for branch in branches:
        for ph in [n for n in branch.graph.nodes if n.op == "placeholder"]:
            if ph.meta.get("_ptec_constant"):
                branch.graph.erase_node(ph)
        prepare_control_flow(branch, count)
        branch.graph.lint()
        branch.recompile()
    count[0] += 1
    with gm.graph.inserting_before(node):
        call = gm.graph.call_function(CondCall(*branches, count[0] - 1), (pred, *kept))
    call.meta.update(node.meta)
    node.replace_all_uses_with(call)
    gm.graph.erase_node(node)
    for attr in (true_attr, false_attr):
        if not attr.users:
            gm.graph.erase_node(attr)


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

    for node in gm.graph.nodes:
        if not is_cond(node):
            continue
        for branch in node.target.branches:
            branch.meta.update({k: v for k, v in gm.meta.items() if isinstance(v, bool)})
            for graph_pass in PORTABLE_PASSES:
                graph_pass(branch)
            _check_branch(node, branch)
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


# ------------------------------------------------------------------ layout


@dataclass(frozen=True)
class Step:
    """One instruction of the flattened method.

    kind: "call" (node: a kernel or delegate call), "jump_false" (node: the
    cond; jumps to its false branch unless its predicate holds), "jump" (node:
    the cond; Bool False, to after the false branch), "move" (node: the cond,
    source: the branch's output node, index: which result).
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
        yield Step("jump_false", node)
        for side in (0, 1):
            if side == 1:
                yield Step("jump", node)
            yield from flatten(node.target.branches[side])
            for i, out in enumerate(node.target.outputs(side)):
                yield Step("move", node, out, i, side)


def bindings(gm: torch.fx.GraphModule) -> dict[torch.fx.Node, torch.fx.Node]:
    """Each branch placeholder -> the node (of the enclosing graph) it receives."""
    bound: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in gm.graph.nodes:
        if not is_cond(node):
            continue
        for branch in node.target.branches:
            phs = [n for n in branch.graph.nodes if n.op == "placeholder"]
            bound.update(zip(phs, node.args[1:]))
            bound.update(bindings(branch))
    return bound


def has_control_flow(gm: torch.fx.GraphModule) -> bool:
    return any(is_cond(n) for n in gm.graph.nodes)


def refuse_quantized_control_flow(gm: torch.fx.GraphModule) -> None:
    """int8 quantization of a graph with torch.cond: refused with the reason
    (torchao's convert_pt2e fails inside its DuplicateDQPass on the branch
    sub-modules), before PT2E raises something unrelated."""
    conds = [n.name for n in gm.graph.nodes if n.op == "call_function"
             and isinstance(n.target, torch._ops.HigherOrderOperator)
             and n.target.name() in ("cond", *REASONS)]
    if conds:
        raise CompileError(
            f"int8 quantization of a model with control flow ({', '.join(conds)}) is not "
            "supported: PT2E (torchao's convert_pt2e) cannot convert graphs with cond "
            "sub-graphs. Compile the model in float (torch.cond runs as JumpFalseCall "
            "instructions), or quantize each branch as its own program")
