"""TOSA 1.0 flatbuffers: schema, writer and reader, a graph builder, a text dump.

The compiler lowers supported subgraphs for the `tosa-int`/`tosa-fp` targets to
one TOSA flatbuffer per delegate (backend id "TOSABackend", as ExecuTorch
names it); ptec's C runtime executes those graphs (runtime/src/backends/tosa).
"""
from . import schema
from .dump import describe_tosa, dump, format_tosa
from .graph import GraphBuilder, Tensor, read_graph
from .pte import BACKEND_ID, delegate_program  # BACKEND_ID: "TOSABackend", ExecuTorch's id
from .schema import DType, NanPropagationMode, Op, ResizeMode, RoundingMode
from .serialize import decode_graph, encode_graph, pack_data, unpack_data

__all__ = [
    "BACKEND_ID", "DType", "GraphBuilder", "NanPropagationMode", "Op", "ResizeMode",
    "RoundingMode", "Tensor", "decode_graph", "delegate_program", "describe_tosa", "dump",
    "encode_graph", "format_tosa", "pack_data", "read_graph", "schema", "unpack_data",
]
