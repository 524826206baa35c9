"""Pass: TOSA-supported subgraphs become delegate calls, the rest stays on the CPU.

1. Support: every call is tried against the profile's support table
   (ptec.tosa.lower.check_node); the reason a node is refused is kept in
   node.meta[META_KEY] for the report.
2. Grouping: torch.fx's capability-based partitioner merges supported
   neighbours into the largest groups that keep the graph acyclic. Partitions that only move data are left to the CPU: a delegate call for a
   lone reshape costs more than it saves.
3. Each partition is converted to one TOSA graph (inputs: the tensors it reads
   from outside, outputs: the tensors read outside it, all logical NCHW), and
   replaced by one DelegateCall node; the graph is then re-sorted
   topologically, keeping the original order where it can.
"""
from __future__ import annotations

import heapq
import operator
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
from torch.fx.passes.operator_support import OperatorSupportBase

from ..passes.fake import fake_mode_of
from ..passes.fold_constants import drop_unused_constants
from ..quant import qdq
from . import lower
from .delegate import BACKEND_ID, DelegateCall
from .lower import data
from .schema import Op

#: node.meta key: "delegated", or the reason the node stays on the CPU.
META_KEY = "ptec_tosa"
DELEGATED = "delegated"


@dataclass(eq=False)
class Partition:
    index: int
    nodes: list[torch.fx.Node] = field(default_factory=list)


def _is_getitem(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and node.target is operator.getitem


def _reason(gm: torch.fx.GraphModule, node: torch.fx.Node, profile: str) -> str | None:
    if qdq.is_quantize(node) or qdq.is_dequantize(node):
        return ("converts between float and integer tensors: it runs on the CPU at the "
                "delegate's boundary (TOSA INT has no float tensors)" if profile == lower.INT
                else "a quantize/dequantize: the TOSA FP profile runs fp32 models")
    return lower.check_node(gm, node, profile)


class _Supported(OperatorSupportBase):
    def __init__(self, supported: set):
        super().__init__()
        self.supported = supported

    def is_node_supported(self, submodules, node: torch.fx.Node) -> bool:
        return node in self.supported


def _group(gm: torch.fx.GraphModule, supported: set) -> list[Partition]:
    """Maximal acyclic groups of supported nodes (torch.fx's capability-based
    partitioner merges neighbouring groups unless a path through an unsupported
    node would make a cycle), each in graph order with its getitems."""
    proposed = CapabilityBasedPartitioner(gm, _Supported(supported),
                                          allows_single_node_partition=True).propose_partitions()
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    partitions = []
    for k, p in enumerate(sorted(proposed, key=lambda p: min(order[n] for n in p.nodes))):
        members = set(p.nodes)
        members |= {u for n in list(members) for u in n.users if _is_getitem(u)}
        partitions.append(Partition(k, sorted(members, key=order.__getitem__)))
    return partitions


def _worth_a_delegate(p: Partition) -> bool:
    return any(not _is_getitem(n) and n.target not in data.CONVERTERS for n in p.nodes)


def _stable_toposort(graph: torch.fx.Graph) -> None:
    nodes = list(graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    waiting = {n: len(set(n.all_input_nodes)) for n in nodes}
    ready = [(order[n], n) for n in nodes if waiting[n] == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        _, n = heapq.heappop(ready)
        result.append(n)
        for user in n.users:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (order[user], user))
    assert len(result) == len(nodes), "partitioning made a cycle"
    output = next(n for n in nodes if n.op == "output")
    for n in result:
        if n is not output:
            output.prepend(n)


def _replace(gm: torch.fx.GraphModule, p: Partition, profile: str, count: int) -> None:
    members = set(p.nodes)
    inputs: list[torch.fx.Node] = []
    for n in p.nodes:
        for arg in n.all_input_nodes:
            if arg not in members and arg.op != "get_attr" and arg not in inputs:
                inputs.append(arg)
    outputs = [n for n in p.nodes if isinstance(n.meta.get("val"), torch.Tensor)
               and any(u not in members for u in n.users)]
    graph = lower.build_graph(gm, p.nodes, inputs, outputs, profile)
    runs = sum(1 for o in graph.operators if o.op not in (Op.CONST, Op.CONST_SHAPE))
    target = DelegateCall(BACKEND_ID, graph.serialize(),
                          [(tuple(n.meta["val"].shape), n.meta["val"].dtype) for n in outputs],
                          runs, [n.name for n in p.nodes if not _is_getitem(n)], count)
    mode = fake_mode_of(gm)
    with gm.graph.inserting_before(p.nodes[0]):
        call = gm.graph.call_function(target, tuple(inputs))
        with mode:
            call.meta["val"] = target(*[n.meta["val"] for n in inputs])
        call.meta[META_KEY] = DELEGATED
        call.meta["tosa_graph"] = graph
        for i, out in enumerate(outputs):
            item = gm.graph.call_function(operator.getitem, (call, i))
            item.meta["val"] = call.meta["val"][i]
            out.replace_all_uses_with(item, delete_user_cb=lambda user: user not in members)
    for n in reversed(p.nodes):
        gm.graph.erase_node(n)


def partition_for_tosa(profile: str) -> Callable[[torch.fx.GraphModule], None]:
    """The pass for a TOSA target of `profile` ("INT" or "FP")."""

    def tosa_partition(gm: torch.fx.GraphModule) -> None:
        supported = set()
        for node in gm.graph.nodes:
            if node.op != "call_function" or _is_getitem(node):
                continue
            why = _reason(gm, node, profile)
            if why is None:
                supported.add(node)
            else:
                node.meta[META_KEY] = why
        for node in gm.graph.nodes:
            if _is_getitem(node) and node.args[0] in supported:
                supported.add(node)
        delegated = 0
        for p in _group(gm, supported):
            if not _worth_a_delegate(p):
                for n in p.nodes:
                    n.meta[META_KEY] = "only moves data between CPU operators (no delegate call)"
                continue
            _replace(gm, p, profile, delegated)
            delegated += 1
        _stable_toposort(gm.graph)
        drop_unused_constants(gm)
        gm.graph.lint()
        gm.recompile()

    tosa_partition.__name__ = f"partition_for_tosa_{profile.lower()}"
    return tosa_partition
