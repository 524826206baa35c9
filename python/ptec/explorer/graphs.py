"""A .pte as Model Explorer graphs, delegates expanded.

One graph per method: its inputs, one node per kernel or delegate call (in
instruction order, edges from the tensor values each call reads) and its
outputs. A TOSABackend delegate (ptec's or ExecuTorch's) opens into a graph of
its TOSA operators; an EthosUBackend delegate into the NPU operations of its
command stream. Built on model_explorer.graph_builder (the optional
`explorer` extra).
"""
from __future__ import annotations

from typing import Any

from model_explorer import graph_builder as gb

from ..describe import dtype_name
from ..ethosu.blob import BlobError, parse_blob
from ..ethosu.command_stream import npu_operations
from ..pte import delegate_bytes, deserialize_program
from ..pte import schema as pte
from ..tosa.dump import describe_tosa

#: TOSA operators that only hold data: shown as edges' sources, not as nodes.
_TOSA_DATA = {"CONST", "CONST_SHAPE"}


def _short(op: str) -> str:
    """aten::convolution.out -> convolution; ptec::quantized_conv2d.out -> quantized_conv2d."""
    return op.split("::")[-1].rsplit(".", 1)[0]


def _kv(key: str, value: Any) -> gb.KeyValue:
    return gb.KeyValue(key=key, value=str(value))


def _tensor_text(t: pte.Tensor) -> str:
    return f"{dtype_name(t.scalar_type)}{list(t.sizes or [])}"


class _Method:
    """Builds one method's graph and its delegates' subgraphs."""

    def __init__(self, program: pte.Program, segments: bytes, plan: pte.ExecutionPlan):
        self.program, self.segments, self.plan = program, segments, plan
        self.values = plan.values or []
        self.graph = gb.Graph(id=plan.name or "method")
        self.subgraphs: list[gb.Graph] = []
        self.producer: dict[int, tuple[str, str]] = {}  # value -> (node id, output id)

    def tensors(self, index: int) -> list[int]:
        """The tensor values behind argument value `index` (a tensor or a tensor list)."""
        if not 0 <= index < len(self.values):
            return []
        v = self.values[index].val
        if isinstance(v, pte.Tensor):
            return [index]
        if isinstance(v, pte.TensorList):
            return [i for i in v.items or [] if 0 <= i < len(self.values)]
        return []

    def node(self, node_id: str, label: str, reads: list[int], writes: list[int],
             attrs: list[gb.KeyValue], namespace: str = "") -> gb.GraphNode:
        n = gb.GraphNode(id=node_id, label=label, namespace=namespace, attrs=attrs)
        for k, value in enumerate(reads):
            if value in self.producer:
                src, out = self.producer[value]
                n.incomingEdges.append(gb.IncomingEdge(sourceNodeId=src, sourceNodeOutputId=out,
                                                       targetNodeInputId=str(k)))
        for k, value in enumerate(writes):
            self.producer[value] = (node_id, str(k))
            t = self.values[value].val
            n.outputsMetadata.append(gb.MetadataItem(id=str(k), attrs=[
                _kv("tensor", f"value {value}"), _kv("shape", _tensor_text(t))]))
        self.graph.nodes.append(n)
        return n

    def build(self) -> list[gb.Graph]:
        for k, index in enumerate(self.plan.inputs or []):
            self.node(f"input{k}", "Input", [], self.tensors(index), [_kv("value", index)],
                      "inputs")
        operators = self.plan.operators or []
        for chain in self.plan.chains or []:
            for k, ins in enumerate(chain.instructions or []):
                a = ins.instr_args
                if isinstance(a, pte.KernelCall):
                    self.kernel_call(k, a, operators)
                elif isinstance(a, pte.DelegateCall):
                    self.delegate_call(k, a)
        outputs = [t for index in self.plan.outputs or [] for t in self.tensors(index)]
        for k, value in enumerate(outputs):
            self.node(f"output{k}", "Output", [value], [], [_kv("value", value)], "outputs")
        return [self.graph, *self.subgraphs]

    def kernel_call(self, k: int, a: pte.KernelCall, operators: list[pte.Operator]) -> None:
        name = (operators[a.op_index].qualified_name if 0 <= a.op_index < len(operators)
                else f"<operator {a.op_index}>")
        args = a.args or []
        # The last argument is the return value: the out tensor(s) the call writes.
        writes = self.tensors(args[-1]) if args else []
        reads = [t for i in args[:-1] for t in self.tensors(i) if t not in writes]
        self.node(f"i{k}", _short(name), reads, writes,
                  [_kv("instruction", k), _kv("operator", name)])

    def delegate_call(self, k: int, a: pte.DelegateCall) -> None:
        delegates = self.plan.delegates or []
        d = delegates[a.delegate_index] if 0 <= a.delegate_index < len(delegates) else None
        backend = d.id if d is not None else "delegate"
        blob = delegate_bytes(self.program, self.segments, d) if d is not None else b""
        args = [t for i in a.args or [] for t in self.tensors(i)]
        sub, outputs = self.delegate_graph(f"{self.graph.id}/delegate{a.delegate_index}",
                                           backend, blob)
        outputs = outputs if 0 < outputs <= len(args) else 1
        attrs = [_kv("instruction", k), _kv("backend", backend), _kv("bytes", len(blob))]
        n = self.node(f"i{k}", backend, args[:-outputs], args[-outputs:], attrs)
        if sub is not None:
            n.subgraphIds.append(sub.id)
            self.subgraphs.append(sub)

    def delegate_graph(self, graph_id: str, backend: str, blob: bytes) -> tuple[gb.Graph | None, int]:
        """The delegate's own graph and how many outputs it has (0: unknown)."""
        if backend == "TOSABackend":
            try:
                return _tosa_graph(graph_id, describe_tosa(blob))
            except (ValueError, IndexError, TypeError, UnicodeDecodeError):
                return None, 0
        if backend == "EthosUBackend":
            try:
                return _npu_graph(graph_id, blob), len(parse_blob(blob).outputs)
            except (BlobError, ValueError):
                return None, 0
        return None, 0


def _tosa_graph(graph_id: str, tosa: dict) -> tuple[gb.Graph, int]:
    """TOSA operators as nodes, edges by tensor name; constants as node attributes."""
    g = gb.Graph(id=graph_id)
    (block, *_) = tosa["blocks"]
    shapes = {t["name"]: t for t in block["tensors"]}
    producer: dict[str, tuple[str, str]] = {}
    for k, name in enumerate(block["inputs"]):
        g.nodes.append(gb.GraphNode(id=f"in{k}", label="Input", namespace="inputs"))
        producer[name] = (f"in{k}", "0")
    constants = set()
    for k, op in enumerate(block["operators"]):
        if op["op"] in _TOSA_DATA:
            constants.update(op["outputs"])
            continue
        n = gb.GraphNode(id=f"op{k}", label=op["op"], attrs=[_kv("attributes", op["attributes"])]
                         if op["attributes"] else [])
        for j, name in enumerate(op["inputs"]):
            if name in producer:
                src, out = producer[name]
                n.incomingEdges.append(gb.IncomingEdge(sourceNodeId=src, sourceNodeOutputId=out,
                                                       targetNodeInputId=str(j)))
            elif name in constants or shapes.get(name, {}).get("const_bytes") is not None:
                t = shapes.get(name, {})
                n.attrs.append(_kv(f"input {j} (constant)",
                                   f"{name}: {t.get('dtype')}{t.get('shape')}"))
        for j, name in enumerate(op["outputs"]):
            producer[name] = (f"op{k}", str(j))
            t = shapes.get(name, {})
            n.outputsMetadata.append(gb.MetadataItem(id=str(j), attrs=[
                _kv("tensor", name), _kv("shape", f"{t.get('dtype')}{t.get('shape')}")]))
        g.nodes.append(n)
    for k, name in enumerate(block["outputs"]):
        n = gb.GraphNode(id=f"out{k}", label="Output", namespace="outputs")
        if name in producer:
            src, out = producer[name]
            n.incomingEdges.append(gb.IncomingEdge(sourceNodeId=src, sourceNodeOutputId=out))
        g.nodes.append(n)
    return g, len(block["outputs"])


def _npu_graph(graph_id: str, blob: bytes) -> gb.Graph:
    """The NPU operations of an Ethos-U command stream, as a chain in stream order."""
    b = parse_blob(blob)
    g = gb.Graph(id=graph_id)
    previous = None
    for k, op in enumerate(npu_operations(b.cmd_data)):
        n = gb.GraphNode(id=f"npu{k}", label=op.name, attrs=[_kv("command word", op.word)])
        if previous is not None:
            n.incomingEdges.append(gb.IncomingEdge(sourceNodeId=previous))
        g.nodes.append(n)
        previous = n.id
    return g


def pte_graphs(data: bytes) -> list[gb.Graph]:
    """Every method of a .pte, and its delegates, as Model Explorer graphs."""
    program, segments = deserialize_program(data)
    graphs: list[gb.Graph] = []
    for plan in program.execution_plan or []:
        graphs += _Method(program, segments, plan).build()
    return graphs
