"""Pass: TOSA-supported subgraphs become delegate calls, the rest stays on the CPU.

1. Support: every call is tried against the profile's support table
   (ptec.tosa.lower.check_node) and the delegate target's own rules (an NPU's
   operator constraints); the reason a node is refused is kept in
   node.meta[META_KEY] for the report.
2. Grouping: torch.fx's capability-based partitioner merges supported
   neighbours into the largest groups that keep the graph acyclic. Partitions
   that only move data are left to the CPU: a delegate call for a lone reshape
   costs more than it saves.
3. Lowering: each partition is converted to one TOSA graph (inputs: the
   tensors it reads from outside, outputs: the tensors read outside it, all
   logical NCHW) and handed to the target's compiler (the TOSA executor takes
   the graph as it is; an Ethos-U target runs Vela on it). A compiler that
   refuses a partition never fails the compile: the first node whose addition
   makes it refuse (found by bisecting the partition's topological order) goes
   back to the CPU with the compiler's reason, and grouping starts again.
4. Each lowered partition is replaced by one DelegateCall node; the graph is
   then re-sorted topologically, keeping the original order where it can.
"""
from __future__ import annotations

import heapq
import operator
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
from torch.fx.passes.operator_support import OperatorSupportBase

from ..dtypes import dim_order_from_strides
from ..dynamic_shapes import DYNAMIC_REASON, touches_dynamic
from ..passes.fake import fake_mode_of, recompute_val
from ..passes.fold_constants import drop_unused_constants
from ..quant import qdq
from . import lower
from .delegate import BACKEND_ID, DelegateCall
from .graph import GraphBuilder
from .lower import data
from .schema import Op

#: node.meta key: "delegated", or the reason the node stays on the CPU.
META_KEY = "ptec_tosa"
DELEGATED = "delegated"


class Refused(Exception):
    """A delegate target's compiler could not compile a graph; str() says why."""


@dataclass
class Lowered:
    """A partition compiled for its delegate: what the program stores."""
    backend_id: str
    processed: bytes
    compile_specs: list[tuple[str, bytes]] = field(default_factory=list)
    details: object = None


class TosaExecutorTarget:
    """Delegates for ptec's TOSA executor: the TOSA flatbuffer is the program."""
    name = "TOSA"

    def refusal(self, graph: GraphBuilder) -> str | None:
        return None

    def lower(self, graph: GraphBuilder) -> Lowered:
        return Lowered(BACKEND_ID, graph.serialize())


@dataclass(eq=False)
class Partition:
    index: int
    nodes: list[torch.fx.Node] = field(default_factory=list)


def _is_getitem(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and node.target is operator.getitem


def _reason(gm: torch.fx.GraphModule, node: torch.fx.Node, profile: str,
            target) -> str | None:
    if qdq.is_quantize(node) or qdq.is_dequantize(node):
        return ("converts between float and integer tensors: it runs on the CPU at the "
                "delegate's boundary (TOSA INT has no float tensors)" if profile == lower.INT
                else "a quantize/dequantize: the TOSA FP profile runs fp32 models")
    return lower.check_node(gm, node, profile, target.refusal)


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


def _boundary(gm: torch.fx.GraphModule, nodes: list[torch.fx.Node]):
    """(inputs, outputs) of a set of nodes: the tensors they read from outside
    (constants aside) and their tensors read outside them."""
    members = set(nodes)
    inputs: list[torch.fx.Node] = []
    for n in nodes:
        for arg in n.all_input_nodes:
            if arg not in members and arg.op != "get_attr" and arg not in inputs:
                inputs.append(arg)
    outputs = [n for n in nodes if isinstance(n.meta.get("val"), torch.Tensor)
               and any(u not in members for u in n.users)]
    return inputs, outputs


def _operators(graph: GraphBuilder) -> int:
    return sum(1 for o in graph.operators if o.op not in (Op.CONST, Op.CONST_SHAPE))


class _Lowering:
    """Lowers node sets through the target, caching by TOSA bytes (grouping
    repeats after each refusal, and most partitions come back unchanged)."""

    def __init__(self, gm: torch.fx.GraphModule, profile: str, target):
        self.gm, self.profile, self.target = gm, profile, target
        self.cache: dict[bytes, Lowered | Refused] = {}

    def __call__(self, nodes: list[torch.fx.Node]) -> tuple[GraphBuilder, Lowered]:
        inputs, outputs = _boundary(self.gm, nodes)
        graph = lower.build_graph(self.gm, nodes, inputs, outputs, self.profile)
        key = graph.serialize()
        if key not in self.cache:
            try:
                self.cache[key] = self.target.lower(graph)
            except Refused as why:
                self.cache[key] = why
        result = self.cache[key]
        if isinstance(result, Refused):
            raise result
        return graph, result

    def culprit(self, nodes: list[torch.fx.Node]) -> torch.fx.Node | None:
        """The first node (in order) whose prefix of `nodes` is refused, found by
        bisection; None if every proper prefix compiles (then the whole is at fault)."""
        main = [n for n in nodes if not _is_getitem(n)]
        lo, hi = 1, len(main)  # prefix main[:hi] is refused; find the smallest
        while lo < hi:
            mid = (lo + hi) // 2
            if self._refused(nodes, main[:mid]):
                hi = mid
            else:
                lo = mid + 1
        return main[lo - 1] if lo < len(main) or self._refused(nodes, main[:lo]) else None

    def _refused(self, nodes: list[torch.fx.Node], prefix: list[torch.fx.Node]) -> bool:
        chosen = set(prefix)
        subset = [n for n in nodes if n in chosen or (_is_getitem(n) and n.args[0] in chosen)]
        try:
            self(subset)
        except Refused:
            return True
        return False


def _replace(gm: torch.fx.GraphModule, p: Partition, graph: GraphBuilder, lowered: Lowered,
             count: int) -> None:
    members = set(p.nodes)
    inputs, outputs = _boundary(gm, p.nodes)
    target = DelegateCall(lowered.backend_id, lowered.processed,
                          [(tuple(n.meta["val"].shape), n.meta["val"].dtype) for n in outputs],
                          _operators(graph), [n.name for n in p.nodes if not _is_getitem(n)],
                          count, lowered.compile_specs, lowered.details)
    for n in p.nodes:
        if n.name in graph.node_tensors:
            stack = n.meta.get("nn_module_stack")
            target.node_tensors[n.name] = (*graph.node_tensors[n.name],
                                           list(stack.values())[-1][0] if stack else None,
                                           n.meta.get("ptec_output_qparams"))
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


def _refuse(supported: set, node: torch.fx.Node, why: str) -> None:
    supported.discard(node)
    node.meta[META_KEY] = why
    for user in node.users:
        if _is_getitem(user):
            supported.discard(user)


def _plan(gm: torch.fx.GraphModule, supported: set, lowering: _Lowering):
    """Groups and lowers until every delegate compiles: [(partition, graph, lowered)]."""
    target = lowering.target
    while True:
        plans, refused = [], False
        for p in _group(gm, supported):
            if not _worth_a_delegate(p):
                for n in p.nodes:
                    n.meta[META_KEY] = "only moves data between CPU operators (no delegate call)"
                continue
            try:
                plans.append((p, *lowering(p.nodes)))
            except Refused as why:
                refused = True
                culprit = lowering.culprit(p.nodes)
                if culprit is None:
                    for n in p.nodes:
                        _refuse(supported, n, f"{target.name} refused the {len(p.nodes)}-node "
                                f"subgraph it belongs to: {why}")
                else:
                    _refuse(supported, culprit, f"{target.name} refused it: {why}")
        if not refused:
            return plans


#: Integer operators that read their input NHWC (TOSA's windowed operators).
_READS_NHWC = frozenset({torch.ops.ptec.quantized_conv2d.default,
                         torch.ops.ptec.quantized_avg_pool2d.default,
                         torch.ops.ptec.quantized_max_pool2d.default})
CHANNELS_LAST = ("lays a delegate's input out channels-last (NHWC) on the CPU, where the "
                 "tensor is made, so the delegate starts without a transpose")


def _nhwc_is_distinct(val: torch.Tensor) -> bool:
    """Whether channels-last storage of `val` reads as dim order NHWC: with C = 1
    (or H = W = 1) it is the same bytes as NCHW and its dim order is ambiguous."""
    strides = torch.empty(val.shape).to(memory_format=torch.channels_last).stride()
    return list(dim_order_from_strides(strides)) == [0, 2, 3, 1] and val.shape[1] > 1


def _channels_last_inputs(gm: torch.fx.GraphModule, supported: set) -> None:
    """A delegated conv or pool reading a 4-D tensor a CPU operator makes (the
    model's input quantize, a fallback's result) gets it channels-last from a
    CPU copy, once per tensor: the delegate's graph then takes NHWC as it is
    (Lowering.add_input), as the TOSA executor and the NPU read it. Folding
    the layout into the producer costs the CPU a strided write instead of the
    delegate a TRANSPOSE (0.4 M of MobileNetV2's 3.7 M cycles on an Ethos-U85)."""
    mode = fake_mode_of(gm)
    made: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in list(gm.graph.nodes):
        if node not in supported or node.target not in _READS_NHWC:
            continue
        x = node.args[0]
        val = x.meta.get("val")
        if (x.op != "call_function" or x in supported or not isinstance(val, torch.Tensor)
                or val.dim() != 4 or not val.is_contiguous() or not _nhwc_is_distinct(val)):
            continue
        if x not in made:
            with gm.graph.inserting_after(x):
                made[x] = gm.graph.call_function(torch.ops.aten.clone.default, (x,),
                                                 {"memory_format": torch.channels_last})
            recompute_val(made[x], mode)
            made[x].meta[META_KEY] = CHANNELS_LAST
        node.replace_input_with(x, made[x])


def partition_for_tosa(profile: str, target=None) -> Callable[[torch.fx.GraphModule], None]:
    """The pass for a TOSA target of `profile` ("INT" or "FP"). `target` compiles
    each partition's TOSA graph for its delegate (default: ptec's TOSA executor);
    see TosaExecutorTarget for what it provides."""
    target = target if target is not None else TosaExecutorTarget()

    def tosa_partition(gm: torch.fx.GraphModule) -> None:
        supported = set()
        for node in gm.graph.nodes:
            if node.op != "call_function" or _is_getitem(node):
                continue
            why = DYNAMIC_REASON if touches_dynamic(node) else _reason(gm, node, profile, target)
            if why is None:
                supported.add(node)
            else:
                node.meta[META_KEY] = why
        for node in gm.graph.nodes:
            if _is_getitem(node) and node.args[0] in supported:
                supported.add(node)
        _channels_last_inputs(gm, supported)
        for count, (p, graph, lowered) in enumerate(_plan(gm, supported,
                                                          _Lowering(gm, profile, target))):
            _replace(gm, p, graph, lowered, count)
        _stable_toposort(gm.graph)
        drop_unused_constants(gm)
        gm.graph.lint()
        gm.recompile()

    tosa_partition.__name__ = f"partition_for_tosa_{profile.lower()}"
    return tosa_partition
