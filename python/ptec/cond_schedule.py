"""The schedule of a method with torch.cond or while_loop: steps are the flattened
instructions (passes/control_flow.flatten), exactly as the emitter writes them.

Lifetimes by position are sound for forward jumps: a branch's temporaries
are used only inside it, so the true branch's and the false branch's
temporaries never live at the same step and share memory. A branch's output
computed inside the branch is planned at the cond result's offset (one
group: both branches write the result's memory, the MoveCall only rebinds the
value); an output the branch passes through (an operand, a value from before
the cond) is aliased by the MoveCall, so it lives as long as the result.

A while_loop's backward jump is the one exception to forward-only order: a
value made before the loop and read inside it (an additional input, the
carried buffers themselves) is read again by every iteration, so it lives
until the loop's jump back. Values made inside the loop and read only there
are remade by each iteration before they are read, so their lifetimes by
position stay sound. The carried buffers are the loop's results, written by
the copy_ calls.
"""
from __future__ import annotations

import torch

from .memory import Lifetime
from .passes.control_flow import Step, bindings, flatten
from .schedule import PlannedTensor, Schedule, TensorKey, nbytes, results, tensor_key
from .state import is_state, write_target


class _Groups:
    """Union-find over tensor keys: tensors planned at one offset."""

    def __init__(self) -> None:
        self.parent: dict[TensorKey, TensorKey] = {}

    def find(self, key: TensorKey) -> TensorKey:
        while self.parent.get(key, key) != key:
            key = self.parent[key]
        return key

    def union(self, a: TensorKey, b: TensorKey) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def control_flow_schedule(gm: torch.fx.GraphModule) -> Schedule:
    steps = list(flatten(gm))
    bound = bindings(gm)

    def key_of(node: torch.fx.Node) -> TensorKey:
        while node in bound:
            node = bound[node]
            if isinstance(node, tuple):  # a while_loop's carried value
                return node
        return tensor_key(node)

    start: dict[TensorKey, int] = {}
    vals: dict[TensorKey, torch.Tensor] = {}
    for node in gm.graph.nodes:
        if node.op == "placeholder" and isinstance(node.meta.get("val"), torch.Tensor) \
                and not is_state(node):
            start[(node, None)], vals[(node, None)] = 0, node.meta["val"]
    loops: dict[torch.fx.Node, list[int]] = {}  # while node -> [top, jump back]
    for i, step in enumerate(steps):
        if step.kind in ("call", "jump_false") and write_target(step.node) is None:
            for key, val in results(step.node):
                start[key], vals[key] = i, val
        elif step.kind == "copy_in":
            start[(step.node, step.index)] = i
            vals[(step.node, step.index)] = step.node.meta["val"][step.index]
        elif step.kind in ("loop_test", "loop_back"):
            loops.setdefault(step.node, [])
            if step.kind == "loop_back":
                loops[step.node] = [start[(step.node, 0)] + step.node.target.num_carried, i]
    end = dict(start)
    uses: dict[TensorKey, list[int]] = {}

    def use(node: object, at: int) -> None:
        if isinstance(node, torch.fx.Node):
            key = key_of(node)
            if key in end:
                end[key] = max(end[key], at)
                uses.setdefault(key, []).append(at)

    for i, step in enumerate(steps):
        if step.kind == "call":
            torch.fx.node.map_arg((step.node.args, step.node.kwargs), lambda n: use(n, i))
        elif step.kind == "jump_false":
            use(step.node.args[0], i)
        elif step.kind in ("move", "copy_in", "loop_test"):
            use(step.source, i)
        elif step.kind == "copy_back":
            use(step.source, i)
            end[(step.node, step.index)] = max(end[(step.node, step.index)], i)
    last = max(len(steps) - 1, 0)
    output = next(n for n in gm.graph.nodes if n.op == "output")
    torch.fx.node.map_arg(output.args, lambda n: use(n, last))
    # Read again by the next iteration: lives until the jump back.
    for top, back in loops.values():
        for key, at in uses.items():
            if start[key] < top and any(top <= a <= back for a in at):
                end[key] = max(end[key], back)

    groups = _Groups()
    passed_through: list[tuple[TensorKey, TensorKey]] = []
    for step in steps:
        if step.kind != "move":
            continue
        source, result = key_of(step.source), (step.node, step.index)
        if _made_in_branch(step) and source in start:
            groups.union(source, result)
        else:
            passed_through.append((source, result))
    members: dict[TensorKey, list[TensorKey]] = {}
    for key in start:
        members.setdefault(groups.find(key), []).append(key)
    first = {g: min(start[k] for k in ks) for g, ks in members.items()}
    last_use = {g: max(end[k] for k in ks) for g, ks in members.items()}
    # A passed-through value is the result afterwards: it lives as long.
    changed = True
    while changed:
        changed = False
        for source, result in passed_through:
            g, r = groups.find(source), groups.find(result)
            if g in last_use and last_use[g] < last_use[r]:
                last_use[g], changed = last_use[r], True
    planned = []
    for g, ks in members.items():
        size = max(nbytes(vals[k]) for k in ks)
        planned.append(PlannedTensor(g, vals[g], Lifetime(first[g], last_use[g], size),
                                     tuple(k for k in ks if k != g)))
    calls = [s.node for s in steps if s.kind == "call"]
    return Schedule(calls, planned)


def _made_in_branch(step: Step) -> bool:
    """True if the move's source is computed by its own branch (a call there)."""
    src = step.source
    branch = step.node.target.branches[step.side]
    return src.op == "call_function" and src.graph is branch.graph
