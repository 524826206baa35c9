"""A lowered subgraph inside the FX graph: one call to a delegate.

After partitioning, each TOSA subgraph is a single `call_function` node whose
target is a `DelegateCall`: its arguments are the subgraph's input tensors,
its result a tuple of the output tensors (read through getitem nodes). The
scheduler and memory planner treat it like any call with several results;
the emitter writes a DelegateCall instruction with the inputs then the
outputs as arguments, and the processed bytes inline in the program.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

BACKEND_ID = "TOSABackend"


@dataclass(eq=False)  # identity: each delegate is its own FX target
class DelegateCall:
    """The FX target of one delegate call. Calling it (under FakeTensorMode, as the
    passes that recompute metadata do) gives empty outputs of the right shapes."""
    backend_id: str
    processed: bytes
    output_shapes: list[tuple[tuple[int, ...], torch.dtype]]
    operators: int           # TOSA operators that run (not CONST / CONST_SHAPE)
    source_nodes: list[str]  # the FX nodes it replaces, for the report
    index: int = 0
    #: (key, value) pairs written as the delegate's compile specs.
    compile_specs: list[tuple[str, bytes]] = field(default_factory=list)
    #: What the backend's compiler said about it (Ethos-U: Vela's VelaOutput), for the report.
    details: Any = None
    #: For the numerical debugger: per replaced FX node, (the TOSA tensor of its result,
    #: that tensor's layout, the PyTorch module, the result's (scale, zero_point)).
    node_tensors: dict[str, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # torch.fx generates code that names the target; it needs these.
        prefix = "tosa" if self.backend_id == BACKEND_ID else "npu"
        self.__name__ = f"{prefix}_delegate_{self.index}"
        self.__qualname__ = self.__name__

    def __call__(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(torch.empty(shape, dtype=dtype) for shape, dtype in self.output_shapes)


def is_delegate(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and isinstance(node.target, DelegateCall)
