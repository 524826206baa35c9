"""Pass: drop runtime assertions that torch.export leaves in the graph.

With static shapes these checks were already decided at export time, and the
program format has no operator for them (ExecuTorch's RemoveGraphAssertsPass).
"""
from __future__ import annotations

import torch
from torch._ops import OpOverload

_ASSERT_PREFIXES = ("aten::_assert", "aten::sym_constrain_range", "aten::_functional_assert",
                    "aten::_functional_sym_constrain_range")


def is_graph_assert(node: torch.fx.Node) -> bool:
    return (node.op == "call_function" and isinstance(node.target, OpOverload)
            and node.target._schema.name.startswith(_ASSERT_PREFIXES))


def remove_graph_asserts(gm: torch.fx.GraphModule) -> None:
    """Erases assertion calls (and nothing else)."""
    for node in reversed(list(gm.graph.nodes)):
        if is_graph_assert(node) and not node.users:
            gm.graph.erase_node(node)
    gm.recompile()
