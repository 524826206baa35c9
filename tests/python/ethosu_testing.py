"""EthosUBackend programs for the tests: small TOSA graphs compiled by Vela,
packed as ExecuTorch's blob and wrapped in a one-delegate-call `.pte`.

    vela, blob = vela_blob(rescale_graph(), "ethos-u55-128")
    pte = ethosu_program(blob, rescale_graph())

Used by tests/python/test_ethosu_*.py and tests/c/data/make_ethosu_data.py
(the C tests' committed programs).
"""
from __future__ import annotations

import numpy as np

from ptec.ethosu.blob import BACKEND_ID, pack_blob
from ptec.ethosu.npu import npu_config
from ptec.ethosu.vela import VelaOutput, compile_tosa
from ptec.pte.file import deserialize_program, serialize_program
from ptec.tosa import DType, GraphBuilder, Op, delegate_program


def rescale_graph(shape=(1, 4, 4, 8)) -> GraphBuilder:
    """y = x * 0.5 (int8): one input and one output of the same size."""
    g = GraphBuilder()
    x = g.input("x", list(shape), DType.INT8)
    g.rescale(x, 0.5, DType.INT8, name="y")
    g.output("y")
    return g


def add_graph(shape=(1, 4, 4, 8)) -> GraphBuilder:
    """y = a + b in int32, rescaled to int8: two inputs, one output."""
    g = GraphBuilder()
    a = g.input("a", list(shape), DType.INT8)
    b = g.input("b", list(shape), DType.INT8)
    a32 = g.rescale(a, 1.0, DType.INT32, name="a32")
    b32 = g.rescale(b, 1.0, DType.INT32, name="b32")
    g.tensor("sum", list(shape), DType.INT32)
    g.op(Op.ADD, [a32, b32], ["sum"])
    g.rescale("sum", 0.5, DType.INT8, name="y")
    g.output("y")
    return g


def vela_blob(graph: GraphBuilder, npu: str) -> tuple[VelaOutput, bytes]:
    vela = compile_tosa(graph.serialize(), npu_config(npu))
    return vela, pack_blob(vela)


def ethosu_program(blob: bytes, graph: GraphBuilder) -> bytes:
    """forward(*graph inputs) -> graph outputs through one EthosUBackend call: the TOSA
    delegate's program (ptec.tosa.pte.delegate_program: planned I/O tensors of the graph's
    dtypes and shapes, the blob inline) with the delegate's id changed."""
    program, _ = deserialize_program(delegate_program(blob, graph))
    program.execution_plan[0].delegates[0].id = BACKEND_ID
    return serialize_program(program)


def double_output(inputs: list[np.ndarray], out_shape, out_dtype=np.int8) -> np.ndarray:
    """What tests/c/ethosu_driver_double.c writes: input + 1 byte-wise for one input and one
    output of the same size, else byte k = (31 k + 7) mod 256."""
    nbytes = int(np.prod(out_shape)) * np.dtype(out_dtype).itemsize
    if len(inputs) == 1 and inputs[0].nbytes == nbytes:
        raw = (np.frombuffer(inputs[0].tobytes(), np.uint8) + 1).astype(np.uint8)
    else:
        raw = ((np.arange(nbytes) * 31 + 7) % 256).astype(np.uint8)
    return np.frombuffer(raw.tobytes(), out_dtype).reshape(out_shape)
