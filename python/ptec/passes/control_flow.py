"""Control flow (torch.cond, while_loop, map): refused at export with the reason.

ExecuTorch emits a cond's branches as sub-graphs reached through JumpFalseCall
instructions; ptec's runtime executes JumpFalse, but ptec's emitter writes
one straight-line chain and has no sub-graph emission yet. Until it does, a
program with a higher-order control-flow op is refused naming it, instead of
failing later as "an operator without an out variant".
"""
from __future__ import annotations

import torch

from ..errors import CompileError

REASONS = {
    "cond": "torch.cond needs its branches emitted as sub-graphs behind a JumpFalseCall, "
            "which ptec's emitter does not do yet",
    "while_loop": "torch.while_loop needs a loop of sub-graph calls, which ptec's emitter "
                  "does not do yet",
    "map_impl": "torch.map needs a loop of sub-graph calls, which ptec's emitter does not do yet",
    "scan": "torch.scan needs a loop of sub-graph calls, which ptec's emitter does not do yet",
}
WORKAROUND = ("compute both branches and pick with torch.where, or compile each branch "
              "as its own program")


def refuse_control_flow(gm: torch.fx.GraphModule) -> None:
    found = []
    for node in gm.graph.nodes:
        if node.op != "call_function" or not isinstance(node.target, torch._ops.HigherOrderOperator):
            continue
        name = node.target.name()
        if name in REASONS:
            found.append(f"  {node.name}: {REASONS[name]}")
    if found:
        raise CompileError("control flow is not supported:\n" + "\n".join(found)
                           + f"\n({WORKAROUND})")
