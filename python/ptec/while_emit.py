"""Emission of a torch.while_loop (passes/control_flow.py's WhileCall):

    copy_(carry_i, init_i)...
    top: cond_fn  JumpFalseCall(pred -> end)
         body_fn  copy_(carry_i, new_i)...  JumpFalseCall(Bool False -> top)
    end:

The same order as passes/control_flow.flatten, so the schedule's steps are
these instruction indices. copy_ is called as ExecuTorch's scan loop calls it:
(self, src, non_blocking=False, out=self).
"""
from __future__ import annotations

import dataclasses

import torch

from .passes.control_flow import LOOP_REASON
from .passes.out_variants import OutVariant
from .pte import schema as pte
from .schedule import results

COPY = OutVariant(torch.ops.aten.copy_.default, ())


def emit_while(em, node: torch.fx.Node) -> None:
    """Appends one while_loop's instructions to emitter `em` (emit._Emitter)."""
    from .emit import InstructionInfo

    where = f"{node.name} (torch.while_loop)"
    loop = node.target
    n = loop.num_carried
    carry = [em.planned_tensor(key, val) for key, val in results(node)]
    why = LOOP_REASON if node.meta.get("ptec_tosa") else None

    def copy(dst: int, src: int, val: torch.Tensor) -> None:
        em.instructions.append(pte.Instruction(pte.KernelCall(
            em.operator(COPY), [dst, src, em.bool_(False), dst])))
        em.infos.append(InstructionInfo(node.name, "aten::copy_",
                                        ((tuple(val.shape), val.dtype),), delegation=why,
                                        output_values=(dst,)))

    vals = [v for _, v in results(node)]
    for i, init in enumerate(node.args[:n]):
        copy(carry[i], em.tensor_of(init, where), vals[i])
    for sub in loop.branches:
        placeholders = [p for p in sub.graph.nodes if p.op == "placeholder"]
        for k, ph in enumerate(placeholders):
            em.tensors[(ph, None)] = carry[k] if k < n else em.tensor_of(node.args[k], where)
    top = len(em.instructions)
    em.graph(loop.branches[0])
    exit_jump = em.control(pte.JumpFalseCall(em.tensor_of(loop.outputs(0)[0], where), 0),
                           node, "jump_false")
    em.graph(loop.branches[1])
    for i, out in enumerate(loop.outputs(1)):
        copy(carry[i], em.tensor_of(out, where), vals[i])
    em.control(pte.JumpFalseCall(em.bool_(False), top), node, "jump")
    em.instructions[exit_jump].instr_args.destination_instruction = len(em.instructions)
    for k in (exit_jump, len(em.infos) - 1):  # the jumps: the loop's reason, not cond's
        em.infos[k] = dataclasses.replace(em.infos[k], delegation=why)
