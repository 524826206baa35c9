"""The delegate target of an Ethos-U: a partition's TOSA graph through Vela.

Plugged into the TOSA partitioner (ptec/tosa/partition.py): `refusal` adds
the NPU family's operator rules to TOSA's, `lower` compiles a partition with
Vela and packs ExecuTorch's EthosUBackend blob with its compile specs. A graph
Vela refuses raises `Refused`, which sends the culprit node back to the CPU.
"""
from __future__ import annotations

from ..tosa.graph import GraphBuilder
from ..tosa.partition import Lowered, Refused
from .blob import BACKEND_ID, compile_specs, pack_blob
from .npu import NpuConfig
from .support import npu_refusal
from .vela import VelaRefused, compile_tosa

#: Bytes per element of the TOSA dtypes an NPU delegate exchanges with the CPU.
_IO_DTYPES = {"INT8": 1, "INT16": 2, "INT32": 4}


class EthosUTarget:
    def __init__(self, npu: NpuConfig):
        self.npu = npu
        self.name = f"Vela ({npu.accelerator})"

    def refusal(self, graph: GraphBuilder) -> str | None:
        return npu_refusal(self.npu.family, graph)

    def lower(self, graph: GraphBuilder) -> Lowered:
        for name in list(graph.inputs) + list(graph.outputs):
            dtype = graph.tensors[name].dtype.name
            if dtype not in _IO_DTYPES:
                raise Refused(f"a delegate input or output is {dtype}; the NPU exchanges "
                              "int8, int16 and int32 tensors")
        try:
            vela = compile_tosa(graph.serialize(), self.npu)
        except VelaRefused as why:
            raise Refused(str(why)) from None
        if len(vela.inputs) != len(graph.inputs) or len(vela.outputs) != len(graph.outputs):
            raise Refused(f"Vela gave {len(vela.inputs)} inputs and {len(vela.outputs)} outputs "
                          f"for a graph of {len(graph.inputs)} and {len(graph.outputs)}")
        for io in vela.inputs + vela.outputs:
            if io.region != 1:
                raise Refused(f"Vela placed an input or output in region {io.region}; the "
                              "runtime exchanges tensors through the scratch (region 1)")
        return Lowered(BACKEND_ID, pack_blob(vela), compile_specs(vela), vela)
