"""Mutable state: buffers a model updates in place (a KV cache, a counter).

torch.export functionalises an in-place update of a registered buffer
(`self.cache.index_copy_(...)`, `self.count += 1`): the buffer becomes an
input placeholder, the update a functional op, and the new value an extra
graph output (a BUFFER_MUTATION). ptec turns that back into state:

* the buffer stays a placeholder marked `node.meta[STATE_KEY]` (a
  `StateBuffer`); it is not a method input but a planned tensor in the
  program's state memory, planned buffer 2 (`memory_id = 2`), which only
  mutable buffers use and which is never reused for activations, so its
  contents persist from one execute to the next (ExecuTorch's
  `share_mutable_buffers` convention puts shared mutable buffers there too);
* the new value is written back into the buffer at the end of the method
  (`aten::copy.out` with the buffer as `out`, marked `node.meta[WRITE_KEY]`),
  or, where the update is an `index_put` of the buffer that nothing reads
  afterwards, the `index_put` writes into the buffer itself (pass
  `passes/state_in_place.py`);
* a buffer whose initial value is not all zeros keeps it as initial data
  (a planned tensor with `data_buffer_idx`, as ExecuTorch writes buffers its
  `InitializedMutableBufferPass` marks); the runtime copies it in at init and
  at reset. All-zero buffers carry no data: the runtime starts them at zero.

Every method of a program sees the same state layout (`StateLayout`, by
buffer name), so methods compiled from one module (`prefill` and `decode`)
share the state: the runtime gives them the same planned buffer 2.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import torch

from .dtypes import dim_order_from_strides
from .errors import CompileError
from .memory import aligned

#: node.meta key of a state placeholder: its StateBuffer.
STATE_KEY = "ptec_state"
#: node.meta key of a write-back node: the state placeholder it writes.
WRITE_KEY = "ptec_state_write"
#: memory_id of the state memory (1-based, as allocation_info counts).
STATE_MEMORY_ID = 2


@dataclass
class StateBuffer:
    """One mutable buffer: its name in the module and its initial value."""
    name: str
    initial: torch.Tensor

    @property
    def has_initial_data(self) -> bool:
        return bool(torch.count_nonzero(self.initial).item())


@dataclass
class StateLayout:
    """Offsets of every mutable buffer in the state memory, by name."""
    offsets: dict[str, int] = field(default_factory=dict)
    nbytes: int = 0

    @classmethod
    def of(cls, buffers: Iterable[StateBuffer]) -> "StateLayout":
        """Buffers in name order, each 16-byte aligned: the same for every method."""
        layout = cls()
        seen: dict[str, StateBuffer] = {}
        for b in buffers:
            if b.name in seen and (seen[b.name].initial.shape != b.initial.shape
                                   or seen[b.name].initial.dtype != b.initial.dtype):
                raise CompileError(f"mutable buffer {b.name!r} differs between methods")
            seen[b.name] = b
        for name in sorted(seen):
            t = seen[name].initial
            layout.offsets[name] = layout.nbytes
            layout.nbytes += aligned(t.numel() * t.element_size())
        return layout


def state_placeholders(gm: torch.fx.GraphModule) -> list[torch.fx.Node]:
    return [n for n in gm.graph.nodes if n.op == "placeholder" and STATE_KEY in n.meta]


def state_buffers(gm: torch.fx.GraphModule) -> list[StateBuffer]:
    return [n.meta[STATE_KEY] for n in state_placeholders(gm)]


def is_state(node: torch.fx.Node) -> bool:
    return node.op == "placeholder" and STATE_KEY in node.meta


def mark_state(node: torch.fx.Node, name: str, initial: torch.Tensor) -> None:
    """Makes a buffer placeholder a state placeholder (not a user input)."""
    initial = initial.detach()
    if not initial.permute(dim_order_from_strides(initial.stride())).is_contiguous():
        initial = initial.contiguous()
    node.meta[STATE_KEY] = StateBuffer(name, initial.clone())


def add_write_backs(gm: torch.fx.GraphModule, mutations: dict[str, torch.fx.Node]) -> None:
    """For each (state placeholder name -> new value node), an aten.copy whose
    result is the buffer itself, placed before the output: the last step of
    the method writes the new state."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    by_name = {n.name: n for n in state_placeholders(gm)}
    for placeholder_name, new in mutations.items():
        buf = by_name[placeholder_name]
        with gm.graph.inserting_before(output):
            write = gm.graph.call_function(torch.ops.aten.copy.default, (buf, new))
        write.meta["val"] = buf.meta["val"]
        write.meta[WRITE_KEY] = buf


def write_target(node: torch.fx.Node) -> torch.fx.Node | None:
    """The state placeholder a call writes its result into, if any."""
    return node.meta.get(WRITE_KEY)
