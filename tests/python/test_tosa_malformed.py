"""Malformed TOSA flatbuffers inside a .pte: each gives its named status and a
message, never a crash.

A valid delegate (CONV2D -> RESCALE, int8) is broken one way per case: at the
byte level (identifier, truncation, offsets), in its tables (op codes,
attributes, operand names and counts, shapes, ranks and sizes beyond TOSA
level 8K, dtypes, constant data) or in its graph structure (use before
definition, cycles, tensors defined twice). Each case runs through
`ptec-run` built with AddressSanitizer and UndefinedBehaviorSanitizer
(PTEC_RUN_ASAN, `make build-asan`), so "no crash" is checked, not assumed.
A last test flips random bytes of the blob (seeded) and requires a clean
status for every mutant.
"""
from __future__ import annotations

import copy
import os
import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ptec.tosa import DType, GraphBuilder, Op, RoundingMode, delegate_program, schema as ts
from ptec.tosa.serialize import encode_graph

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(os.environ.get("PTEC_RUN_ASAN", REPO / "build" / "asan" / "ptec-run"))


def base_graph() -> GraphBuilder:
    g = GraphBuilder()
    g.input("x", [1, 4, 4, 2], DType.INT8)
    g.const("w", (np.arange(3 * 3 * 3 * 2) % 7 - 3).astype(np.int8).reshape(3, 3, 3, 2))
    g.const("b", np.array([10, -20, 30], np.int32))
    g.const("xzp", np.array([1], np.int8))
    g.const("wzp", np.array([0], np.int8))
    g.tensor("acc", [1, 4, 4, 3], DType.INT32)
    g.op(Op.CONV2D, ["x", "w", "b", "xzp", "wzp"], ["acc"], pad=[1, 1, 1, 1], stride=[1, 1],
         dilation=[1, 1], acc_type=DType.INT32)
    g.const("m", np.array([1 << 30] * 3, np.int32))
    g.const("s", np.array([33] * 3, np.int8))
    g.const("z32", np.array([0], np.int32))
    g.const("ozp", np.array([-3], np.int8))
    g.tensor("y", [1, 4, 4, 3], DType.INT8)
    g.op(Op.RESCALE, ["acc", "m", "s", "z32", "ozp"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True)
    g.output("y")
    return g


def run_program(program: bytes, inputs: list[np.ndarray],
                folder: Path) -> subprocess.CompletedProcess:
    """The sanitized ptec-run on `program` and `inputs`, files and outputs in `folder`."""
    model = folder / "case.pte"
    model.write_bytes(program)
    args = [str(RUNNER), str(model), "--output-dir", str(folder)]
    for j, a in enumerate(inputs):
        np.save(folder / f"in{j}.npy", a)
        args += ["--input", str(folder / f"in{j}.npy")]
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=60,
                          env=env)


def run(tosa: bytes, tmp_path: Path, graph: GraphBuilder | None = None,
        x: np.ndarray | None = None) -> subprocess.CompletedProcess:
    x = np.ones((1, 4, 4, 2), np.int8) if x is None else x
    return run_program(delegate_program(tosa, graph or base_graph()), [x], tmp_path)


def assert_runs_as_reference(g: GraphBuilder, inputs: list[np.ndarray], folder: Path,
                             name: str = "") -> None:
    """g as a delegate runs clean under the sanitizers with the TOSA reference's output."""
    from tosa_ops_ref import run_graph
    folder.mkdir()
    assert_status(run_program(delegate_program(g.serialize(), g), inputs, folder),
                  "PTEC_STATUS_OK")
    (want,) = run_graph(g, inputs)
    np.testing.assert_array_equal(np.load(folder / "output0.npy"), want, err_msg=name)


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    """data with 1 to 4 random bytes set to random values."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def check_table_mutants(base, run_graph_bytes, count: int, rng: random.Random,
                        tmp_path: Path) -> None:
    """`count` mutants of base() (1 to 3 of _mutate_tables' changes each) run by
    run_graph_bytes: each runs clean or fails with a named status. Mutants that
    cannot be encoded (e.g. an int outside its field's type) are skipped."""
    for _ in range(count):
        graph = base().to_schema()
        for _ in range(rng.randint(1, 3)):
            _mutate_tables(graph, rng)
        try:
            data = encode_graph(graph)
        except (TypeError, ValueError, OverflowError, struct.error):
            continue
        result = run_graph_bytes(data, tmp_path)
        assert_status(result, "PTEC_STATUS_OK" if result.returncode == 0 else "PTEC_STATUS_")


def assert_status(result: subprocess.CompletedProcess, status: str, message: str = "") -> None:
    """status (a prefix such as "PTEC_STATUS_" takes any named one) and message in
    stderr, or a clean exit for PTEC_STATUS_OK; never a sanitizer report or a crash."""
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), f"crashed with {result.returncode}: {result.stderr}"
    if status == "PTEC_STATUS_OK":
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2 and status in result.stderr, result.stderr
        assert message in result.stderr, result.stderr


@pytest.fixture(scope="module", autouse=True)
def _runner_exists():
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")


def test_base_graph_runs(tmp_path):
    result = run(base_graph().serialize(), tmp_path)
    assert_status(result, "PTEC_STATUS_OK")
    y = np.load(tmp_path / "output0.npy")
    assert y.shape == (1, 4, 4, 3) and y.dtype == np.int8


# ------------------------------------------------------------ byte level

def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


BYTE_CASES = {
    "wrong identifier": (lambda d: d[:4] + b"TFL3" + d[8:], "PTEC_STATUS_BAD_IDENTIFIER",
                         "not a TOSA flatbuffer"),
    "seven bytes": (lambda d: d[:7], "PTEC_STATUS_TRUNCATED", "shorter than a FlatBuffer"),
    "truncated to half": (lambda d: d[:len(d) // 2], "PTEC_STATUS_", "TOSA"),
    "root offset past the end": (lambda d: _patch(d, 0, "<I", len(d) + 64),
                                 "PTEC_STATUS_TRUNCATED", "table outside the data"),
    "misaligned root": (lambda d: _patch(d, 0, "<I", 6), "PTEC_STATUS_MALFORMED",
                        "misaligned table"),
}


@pytest.mark.parametrize("case", list(BYTE_CASES))
def test_byte_level(case, tmp_path):
    mutate, status, message = BYTE_CASES[case]
    assert_status(run(mutate(base_graph().serialize()), tmp_path), status, message)


# ----------------------------------------------------------- table level

def block(graph: ts.TosaGraph) -> ts.TosaBasicBlock:
    return graph.regions[0].blocks[0]


def tensor(graph: ts.TosaGraph, name: str) -> ts.TosaTensor:
    return next(t for t in block(graph).tensors if t.name == name)


def op_of(graph: ts.TosaGraph, code: Op) -> ts.TosaOperator:
    return next(o for o in block(graph).operators if o.op == code)


def _set(obj, **fields):
    for k, v in fields.items():
        setattr(obj, k, v)


def _reorder(g):
    ops = block(g).operators
    conv = op_of(g, Op.CONV2D)
    ops.remove(conv)
    ops.append(conv)  # the RESCALE now reads 'acc' before CONV2D defines it


def _cycle(g):
    # CONV2D reads 'y' (RESCALE's output) while RESCALE reads CONV2D's 'acc'.
    op_of(g, Op.CONV2D).inputs[0] = "y"


def _big(g):
    t = tensor(g, "acc")
    t.shape = [1, 65536, 32768, 3]


def _too_many_inputs(g):
    op_of(g, Op.CONV2D).inputs = ["x"] * 65


TABLE_CASES = {
    "version 2.0": (lambda g: _set(g.version, _major=2), "PTEC_STATUS_NOT_SUPPORTED",
                    "TOSA version 2.0"),
    "no version": (lambda g: _set(g, version=None), "PTEC_STATUS_MALFORMED", "required version"),
    "two regions": (lambda g: g.regions.append(copy.deepcopy(g.regions[0])),
                    "PTEC_STATUS_NOT_SUPPORTED", "2 regions"),
    "no blocks": (lambda g: _set(g.regions[0], blocks=[]), "PTEC_STATUS_NOT_SUPPORTED",
                  "0 blocks"),
    "unknown op code": (lambda g: _set(op_of(g, Op.RESCALE), op=200, attribute=None),
                        "PTEC_STATUS_BAD_ENUM", "unknown op code 200"),
    "unsupported op (CUSTOM)": (lambda g: _set(op_of(g, Op.RESCALE), op=Op.CUSTOM,
                                               attribute=ts.CustomAttribute()),
                                "PTEC_STATUS_NOT_SUPPORTED", "CUSTOM"),
    "attribute of another op": (lambda g: _set(op_of(g, Op.CONV2D), attribute=ts.AddAttribute()),
                                "PTEC_STATUS_MALFORMED", "attribute type 15"),
    "missing attribute": (lambda g: _set(op_of(g, Op.CONV2D), attribute=None),
                          "PTEC_STATUS_MALFORMED", "attribute table is missing"),
    "unknown operand name": (lambda g: op_of(g, Op.CONV2D).inputs.__setitem__(1, "nope"),
                             "PTEC_STATUS_INDEX_OUT_OF_RANGE", "'nope' is not a tensor"),
    "use before definition": (_reorder, "PTEC_STATUS_MALFORMED", "before any operator defines"),
    "cycle": (_cycle, "PTEC_STATUS_MALFORMED", "before any operator defines"),
    "tensor defined twice": (lambda g: _set(op_of(g, Op.RESCALE), outputs=["acc"]),
                             "PTEC_STATUS_MALFORMED", "already defined"),
    "duplicate tensor names": (lambda g: _set(tensor(g, "acc"), name="x"),
                               "PTEC_STATUS_MALFORMED", "used twice"),
    "rank 7 (level 8K allows 6)": (lambda g: _set(tensor(g, "acc"), shape=[1] * 7),
                                   "PTEC_STATUS_BAD_SIZE", "rank 7"),
    "2^31 elements": (_big, "PTEC_STATUS_BAD_SIZE", "2^31 or more elements"),
    "negative dim": (lambda g: _set(tensor(g, "acc"), shape=[1, 4, -4, 3]),
                     "PTEC_STATUS_BAD_SIZE", "size -4"),
    "unknown dtype": (lambda g: _set(tensor(g, "acc"), type=99), "PTEC_STATUS_BAD_ENUM",
                      "unknown dtype 99"),
    "INT48 accumulator of an INT8 CONV2D": (lambda g: _set(tensor(g, "acc"), type=DType.INT48),
                                            "PTEC_STATUS_TYPE_MISMATCH",
                                            "INT8 x INT8 + INT32 -> INT48"),
    "INT4 tensor (EXT-INT4)": (lambda g: _set(tensor(g, "acc"), type=DType.INT4),
                               "PTEC_STATUS_NOT_SUPPORTED", "INT4"),
    "constant data too short": (lambda g: _set(tensor(g, "w"), data=tensor(g, "w").data[:-1]),
                                "PTEC_STATUS_BAD_SIZE", "53 bytes of data"),
    "variable tensor": (lambda g: _set(tensor(g, "acc"), variable=True),
                        "PTEC_STATUS_NOT_SUPPORTED", "variable"),
    "too many operands (level 8K: 64)": (_too_many_inputs, "PTEC_STATUS_BAD_SIZE",
                                         "65 inputs"),
    "CONV2D with 4 inputs": (lambda g: op_of(g, Op.CONV2D).inputs.pop(),
                             "PTEC_STATUS_MALFORMED", "has 4 inputs"),
    "CONV2D stride 0": (lambda g: _set(op_of(g, Op.CONV2D).attribute, stride=[0, 1]),
                        "PTEC_STATUS_OUT_OF_RANGE", "stride 0"),
    "CONV2D stride over level 8K": (lambda g: _set(op_of(g, Op.CONV2D).attribute,
                                                   stride=[8193, 1]),
                                    "PTEC_STATUS_OUT_OF_RANGE", "stride 8193"),
    "CONV2D pad of 3 values": (lambda g: _set(op_of(g, Op.CONV2D).attribute, pad=[1, 1, 1]),
                               "PTEC_STATUS_MALFORMED", "pad has 3 values"),
    "CONV2D output shape": (lambda g: _set(tensor(g, "acc"), shape=[1, 4, 5, 3]),
                            "PTEC_STATUS_SHAPE_MISMATCH", "output must be [1, 4, 4, 3]"),
    "CONV2D inexact division": (lambda g: _set(op_of(g, Op.CONV2D).attribute, stride=[2, 2]),
                                "PTEC_STATUS_SHAPE_MISMATCH", "divide exactly"),
    "CONV2D zero point not constant-int8": (lambda g: _set(tensor(g, "xzp"), type=DType.INT16,
                                                           data=b"\x01\x00"),
                                            "PTEC_STATUS_TYPE_MISMATCH", "input_zp"),
    "CONV2D int16 weights": (lambda g: _set(tensor(g, "w"), type=DType.INT16,
                                            data=tensor(g, "w").data * 2),
                             "PTEC_STATUS_TYPE_MISMATCH", "are not supported"),
    "RESCALE DOUBLE_ROUND": (lambda g: _set(op_of(g, Op.RESCALE).attribute,
                                            rounding_mode=RoundingMode.DOUBLE_ROUND),
                             "PTEC_STATUS_NOT_SUPPORTED", "DOUBLE_ROUND"),
    "RESCALE unknown rounding mode": (lambda g: _set(op_of(g, Op.RESCALE).attribute,
                                                     rounding_mode=9),
                                      "PTEC_STATUS_BAD_ENUM", "rounding_mode 9"),
    "RESCALE shift out of range": (lambda g: _set(tensor(g, "s"), data=bytes([70, 33, 33])),
                                   "PTEC_STATUS_OUT_OF_RANGE", "shift"),
    "RESCALE multiplier length": (lambda g: _set(tensor(g, "m"), shape=[2],
                                                 data=tensor(g, "m").data[:8]),
                                  "PTEC_STATUS_SHAPE_MISMATCH", "multiplier must be"),
    "graph output never defined": (lambda g: _set(block(g), outputs=["acc2"]) or
                                   block(g).tensors.append(
                                       ts.TosaTensor(name="acc2", shape=[1], type=DType.INT8)),
                                   "PTEC_STATUS_MALFORMED", "never defined"),
    "CONST output without data": (lambda g: _set(tensor(g, "b"), data=None),
                                  "PTEC_STATUS_MALFORMED", "lacks data"),
}


@pytest.mark.parametrize("case", list(TABLE_CASES))
def test_table_level(case, tmp_path):
    mutate, status, message = TABLE_CASES[case]
    graph = base_graph().to_schema()
    mutate(graph)
    assert_status(run(encode_graph(graph), tmp_path), status, message)


# ------------------------------------------------------------- EXT-INT16

def base_graph_int16() -> GraphBuilder:
    """a16w8: INT16 input, CONV2D with an INT48 bias into INT48, RESCALE (scale16) to INT16."""
    g = GraphBuilder()
    g.input("x", [1, 4, 4, 2], DType.INT16)
    g.const("w", (np.arange(3 * 3 * 3 * 2) % 7 - 3).astype(np.int8).reshape(3, 3, 3, 2))
    g.const("b", np.array([10, -(2**40), 2**46], np.int64), DType.INT48)
    g.const("xzp", np.array([0], np.int16))
    g.const("wzp", np.array([2], np.int8))
    g.tensor("acc", [1, 4, 4, 3], DType.INT48)
    g.op(Op.CONV2D, ["x", "w", "b", "xzp", "wzp"], ["acc"], pad=[1, 1, 1, 1], stride=[1, 1],
         dilation=[1, 1], acc_type=DType.INT48)
    g.const("m", np.array([1 << 14, 20000, 30000], np.int16))
    g.const("s", np.array([14, 20, 40], np.int8))
    g.const("z48", np.array([0], np.int64), DType.INT48)
    g.const("z16", np.array([0], np.int16))
    g.tensor("y", [1, 4, 4, 3], DType.INT16)
    g.op(Op.RESCALE, ["acc", "m", "s", "z48", "z16"], ["y"], scale32=False,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True)
    g.output("y")
    return g


def run16(tosa: bytes, tmp_path: Path, graph: GraphBuilder | None = None,
          x: np.ndarray | None = None) -> subprocess.CompletedProcess:
    x = np.full((1, 4, 4, 2), -300, np.int16) if x is None else x
    return run(tosa, tmp_path, graph or base_graph_int16(), x)


def test_base_graph_int16_runs(tmp_path):
    result = run16(base_graph_int16().serialize(), tmp_path)
    assert_status(result, "PTEC_STATUS_OK")
    y = np.load(tmp_path / "output0.npy")
    assert y.shape == (1, 4, 4, 3) and y.dtype == np.int16
    assert (y[..., 2] == 32767).all()  # bias 2^46 * 30000 / 2^40 saturates INT16


def _int48_io(g: ts.TosaGraph, io: str) -> None:
    """Makes an INT48 tensor a graph output (the accumulator) or input (read by the
    RESCALE in place of the accumulator, the CONV2D removed)."""
    b = block(g)
    if io == "output":
        b.outputs = ["acc"]
    else:
        b.tensors.append(ts.TosaTensor(name="x48", shape=[1, 4, 4, 3], type=DType.INT48))
        b.inputs = ["x48"]
        op_of(g, Op.RESCALE).inputs[0] = "x48"
        b.operators.remove(op_of(g, Op.CONV2D))


INT16_CASES = {
    "INT48 constant of the wrong byte length (8 per value)": (
        lambda g: _set(tensor(g, "b"), data=np.array([1, 2, 3], "<i8").tobytes()),
        "PTEC_STATUS_BAD_SIZE", "has 24 bytes of data, its shape needs 18"),
    "INT48 constant one byte short": (
        lambda g: _set(tensor(g, "b"), data=tensor(g, "b").data[:-1]),
        "PTEC_STATUS_BAD_SIZE", "has 17 bytes of data, its shape needs 18"),
    "nonzero INT16 input_zp": (
        lambda g: _set(tensor(g, "xzp"), data=np.array([5], "<i2").tobytes()),
        "PTEC_STATUS_OUT_OF_RANGE", "input_zp 5 must be 0"),
    "INT8 input_zp with INT16 input": (
        lambda g: _set(tensor(g, "xzp"), type=DType.INT8, data=b"\x00"),
        "PTEC_STATUS_TYPE_MISMATCH", "input_zp 'xzp' must be a constant INT16"),
    "INT32 bias with INT16 input": (
        lambda g: _set(tensor(g, "b"), type=DType.INT32,
                       data=np.array([1, 2, 3], "<i4").tobytes()),
        "PTEC_STATUS_TYPE_MISMATCH", "INT16 x INT8 + INT32 -> INT48"),
    "acc_type INT32 with INT16 input": (
        lambda g: _set(op_of(g, Op.CONV2D).attribute, acc_type=DType.INT32),
        "PTEC_STATUS_TYPE_MISMATCH", "(acc INT32)"),
    "scale32 with INT48 input": (
        lambda g: _set(op_of(g, Op.RESCALE).attribute, scale32=True),
        "PTEC_STATUS_OUT_OF_RANGE", "scale32 is not allowed with an INT48 input"),
    "INT32 multiplier with INT48 input": (
        lambda g: _set(tensor(g, "m"), type=DType.INT32,
                       data=np.array([1 << 30] * 3, "<i4").tobytes()),
        "PTEC_STATUS_SHAPE_MISMATCH", "multiplier must be a constant INT16"),
    "negative scale16 multiplier": (
        lambda g: _set(tensor(g, "m"), data=np.array([1, -5, 1], "<i2").tobytes()),
        "PTEC_STATUS_OUT_OF_RANGE", "multiplier[1] = -5 must be >= 0"),
    "INT48 RESCALE shift out of range": (
        lambda g: _set(tensor(g, "s"), data=bytes([14, 63, 14])),
        "PTEC_STATUS_OUT_OF_RANGE", "shift[1] = 63 in [2, 62]"),
    "nonzero INT48 input_zp (high bytes)": (
        lambda g: _set(tensor(g, "z48"), data=bytes([0, 0, 0, 0, 1, 0])),
        "PTEC_STATUS_OUT_OF_RANGE", "zero points must be 0"),
    "INT48 RESCALE to unsigned": (
        lambda g: _set(op_of(g, Op.RESCALE).attribute, output_unsigned=True),
        "PTEC_STATUS_OUT_OF_RANGE", "INT48"),
    "INT48 graph input": (lambda g: _int48_io(g, "input"), "PTEC_STATUS_NOT_SUPPORTED",
                          "graph input 'x48' is INT48"),
    "INT48 graph output": (lambda g: _int48_io(g, "output"), "PTEC_STATUS_NOT_SUPPORTED",
                           "graph output 'acc' is INT48"),
}


@pytest.mark.parametrize("case", list(INT16_CASES))
def test_int16_table_level(case, tmp_path):
    mutate, status, message = INT16_CASES[case]
    graph = base_graph_int16().to_schema()
    mutate(graph)
    # The .pte's own tensors for the delegate's I/O: INT48 has no .pte dtype, so an INT48
    # graph input or output is bound to an int32 tensor of its shape (never reached).
    pte = base_graph_int16()
    x = None
    if case == "INT48 graph input":
        pte.inputs = ["x48"]
        pte.tensors["x48"] = type(pte.tensors["x"])("x48", [1, 4, 4, 3], DType.INT32)
        x = np.zeros((1, 4, 4, 3), np.int32)
    elif case == "INT48 graph output":
        pte.outputs = ["acc"]
        pte.tensors["acc"].dtype = DType.INT32
    assert_status(run16(encode_graph(graph), tmp_path, pte, x), status, message)


def _int16_op(op: Op, in_shapes, out_shape, out_dtype, zps=None, **attrs) -> bytes:
    g = GraphBuilder()
    names = []
    for k, shape in enumerate(in_shapes):
        if k == 0:
            g.input("x", shape, DType.INT16)
            names.append("x")
        else:
            g.const(f"c{k}", np.ones(shape, np.int16))
            names.append(f"c{k}")
    for k, zp in enumerate(zps or []):
        g.const(f"zp{k}", np.array([zp], np.int16))
        names.append(f"zp{k}")
    g.tensor("y", out_shape, out_dtype)
    g.op(op, names, ["y"], **attrs)
    if out_dtype == DType.INT48:  # INT48 cannot leave the graph
        g.const("m", np.array([1 << 14], np.int16)), g.const("s", np.array([14], np.int8))
        g.const("z48", np.array([0], np.int64), DType.INT48)
        g.const("z32", np.array([0], np.int32))
        g.tensor("y32", out_shape, DType.INT32)
        g.op(Op.RESCALE, ["y", "m", "s", "z48", "z32"], ["y32"], scale32=False,
             rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False)
        g.output("y32")
    else:
        g.output("y")
    return g


INT16_OP_CASES = {
    "MATMUL int16 nonzero zero point": (
        lambda: _int16_op(Op.MATMUL, [[1, 4, 4], [1, 4, 3]], [1, 4, 3], DType.INT48,
                          zps=[0, 7]),
        "PTEC_STATUS_OUT_OF_RANGE", "zero points 0 and 7 must be 0"),
    "AVG_POOL2D int16 nonzero zero point": (
        lambda: _int16_op(Op.AVG_POOL2D, [[1, 4, 4, 2]], [1, 4, 4, 2], DType.INT16,
                          zps=[-3, 0], kernel=[1, 1], stride=[1, 1], pad=[0, 0, 0, 0],
                          acc_type=DType.INT32),
        "PTEC_STATUS_OUT_OF_RANGE", "zero points -3 and 0 must be 0"),
    "MATMUL int16 into INT32": (
        lambda: _int16_op(Op.MATMUL, [[1, 4, 4], [1, 4, 3]], [1, 4, 3], DType.INT32,
                          zps=[0, 0]),
        "PTEC_STATUS_TYPE_MISMATCH", "INT16 x INT16 -> INT32"),
}


@pytest.mark.parametrize("case", list(INT16_OP_CASES))
def test_int16_operator_level(case, tmp_path):
    make, status, message = INT16_OP_CASES[case]
    g = make()
    x = np.ones(g.tensors["x"].shape, np.int16)
    assert_status(run(g.serialize(), tmp_path, g, x), status, message)


def test_int48_data_movement_is_refused(tmp_path):
    """TOSA's data layout operators have no INT48 variant: a RESHAPE of an int48
    accumulator is refused at init, not copied with the wrong element size."""
    g = base_graph_int16()
    graph = g.to_schema()
    b = block(graph)
    b.tensors.append(ts.TosaTensor(name="acc2", shape=[1, 16, 3], type=DType.INT48))
    b.tensors.append(ts.TosaTensor(name="shape2", shape=[3], type=DType.SHAPE,
                                   data=np.array([1, 16, 3], "<i8").tobytes()))
    b.operators.insert(0, ts.TosaOperator(op=Op.CONST_SHAPE, attribute=ts.ConstShapeAttribute(),
                                          inputs=[], outputs=["shape2"]))
    b.operators.append(ts.TosaOperator(op=Op.RESHAPE, attribute=ts.ReshapeAttribute(),
                                       inputs=["acc", "shape2"], outputs=["acc2"]))
    assert_status(run16(encode_graph(graph), tmp_path), "PTEC_STATUS_TYPE_MISMATCH",
                  "types INT48 and INT48 must match")


def _int16_edge_graphs(rng):
    """EXT-INT16 graphs at the edges of their arithmetic: int48 accumulators that
    saturate (2^46 biases, a long MATMUL of -32768s), INT48 constants at the ends of the
    int48 range with the largest scale16 multipliers and every shift, RESCALE results
    that saturate int32 and the output type."""
    from test_tosa_executor import add_rescale, conv_case, conv_int16
    for depthwise in (False, True):
        c = conv_case(rng, depthwise)
        g = GraphBuilder()
        g.input("x", c["x"], DType.INT16)
        conv_int16(rng, g, "x", c, depthwise, bias_kind=2)
        add_rescale(g, "c_acc", "y", c["out"], DType.INT16,
                    np.full(c["oc"], 32767, np.int16), np.full(c["oc"], 2, np.int8))
        g.output("y")
        yield g, [np.full(c["x"], -32768, np.int16)]
    g = GraphBuilder()
    g.input("a", [1, 2, 4096], DType.INT16), g.input("b", [1, 4096, 3], DType.INT16)
    g.const("zp", np.array([0], np.int16))
    g.tensor("acc", [1, 2, 3], DType.INT48)
    g.op(Op.MATMUL, ["a", "b", "zp", "zp"], ["acc"])
    add_rescale(g, "acc", "y", [1, 2, 3], DType.INT32, np.array([32767], np.int16),
                np.array([2], np.int8))
    g.output("y")
    yield g, [np.full((1, 2, 4096), -32768, np.int16), np.full((1, 4096, 3), -32768, np.int16)]
    for dst in (DType.INT8, DType.INT16, DType.INT32):
        g = GraphBuilder()
        g.input("dummy", [1], DType.INT8)
        x = np.array([-(2**47), 2**47 - 1, -1, 0, 1, 2**40, -(2**40)] * 61 + [5], np.int64)
        g.const("x", x, DType.INT48)
        add_rescale(g, "x", "y", [x.size], dst, np.array([0, 1, 32767] * 143, np.int16)[:x.size],
                    (np.arange(x.size) % 61 + 2).astype(np.int8), out_zp=-7 if dst == DType.INT8
                    else 0)
        g.output("y")
        yield g, [np.zeros(1, np.int8)]


def test_int16_edge_values_clean_under_sanitizers(seed, tmp_path):
    rng = np.random.default_rng(seed)
    for k, (g, inputs) in enumerate(_int16_edge_graphs(rng)):
        assert_runs_as_reference(g, inputs, tmp_path / str(k))


def test_int16_structure_aware_mutants(seed, tmp_path):
    """The EXT-INT16 graph's seeded table-level mutants (INT48 constants cut or grown,
    dtypes, shapes, scale16 attributes): a named status or a clean run, under the
    sanitizers."""
    check_table_mutants(base_graph_int16, run16, 80, random.Random(seed), tmp_path)


def test_int16_random_byte_flips(seed, tmp_path):
    rng = random.Random(seed)
    data = base_graph_int16().serialize()
    for _ in range(100):
        result = run16(flip_bytes(data, rng), tmp_path)
        assert_status(result, "PTEC_STATUS_OK" if result.returncode == 0 else "PTEC_STATUS_")


def _graph_with(op: Op, inputs, out_shape, out_dtype, **attrs) -> bytes:
    g = GraphBuilder()
    g.input("x", [1, 4, 4, 2], DType.INT8)
    names = ["x"]
    for k, (kind, value) in enumerate(inputs):
        name = f"c{k}"
        if kind == "shape":
            g.const_shape(name, value)
        else:
            g.const(name, value)
        names.append(name)
    g.tensor("y", out_shape, out_dtype)
    g.op(op, names, ["y"], **attrs)
    g.output("y")
    return g.serialize()


OP_CASES = {
    "CLAMP min > max": (lambda: _graph_with(Op.CLAMP, [], [1, 4, 4, 2], DType.INT8, min_val=5,
                                            max_val=-5, nan_mode=1), "PTEC_STATUS_OUT_OF_RANGE",
                        "min_val 5 > max_val -5"),
    "CLAMP nan_mode UNKNOWN": (lambda: _graph_with(Op.CLAMP, [], [1, 4, 4, 2], DType.INT8,
                                                   min_val=-5, max_val=5),
                               "PTEC_STATUS_BAD_ENUM", "nan_mode 0"),
    "TRANSPOSE perms not a permutation": (
        lambda: _graph_with(Op.TRANSPOSE, [], [1, 4, 4, 2], DType.INT8, perms=[0, 1, 1, 3]),
        "PTEC_STATUS_OUT_OF_RANGE", "not a permutation"),
    "RESHAPE element count": (
        lambda: _graph_with(Op.RESHAPE, [("shape", [1, 33])], [1, 33], DType.INT8),
        "PTEC_STATUS_SHAPE_MISMATCH", "element count"),
    "SLICE outside the input": (
        lambda: _graph_with(Op.SLICE, [("shape", [0, 3, 0, 0]), ("shape", [1, 2, 4, 2])],
                            [1, 2, 4, 2], DType.INT8),
        "PTEC_STATUS_SHAPE_MISMATCH", "inside the input"),
    "REDUCE_MAX axis out of range": (
        lambda: _graph_with(Op.REDUCE_MAX, [], [1, 4, 4, 1], DType.INT8, axis=4, nan_mode=1),
        "PTEC_STATUS_OUT_OF_RANGE", "axis 4"),
    "ADD on INT8 (no INT8 ADD in TOSA)": (
        lambda: _graph_with(Op.ADD, [("const", np.ones((1, 4, 4, 2), np.int8))], [1, 4, 4, 2],
                            DType.INT8),
        "PTEC_STATUS_TYPE_MISMATCH", "INT8 -> INT8"),
    "MAX_POOL2D pad >= kernel": (
        lambda: _graph_with(Op.MAX_POOL2D, [], [1, 4, 4, 2], DType.INT8, kernel=[1, 1],
                            stride=[1, 1], pad=[1, 0, 0, 0], nan_mode=1),
        "PTEC_STATUS_OUT_OF_RANGE", "pad 1 must be in [0, kernel)"),
    "TABLE of wrong size": (
        lambda: _graph_with(Op.TABLE, [("const", np.zeros(255, np.int8))], [1, 4, 4, 2],
                            DType.INT8),
        "PTEC_STATUS_SHAPE_MISMATCH", "table"),
}


@pytest.mark.parametrize("case", list(OP_CASES))
def test_operator_level(case, tmp_path):
    make, status, message = OP_CASES[case]
    data = make()
    g = GraphBuilder()
    g.input("x", [1, 4, 4, 2], DType.INT8)
    from ptec.tosa import read_graph
    parsed = read_graph(data)
    g.tensors["y"] = parsed.tensors["y"]
    g.outputs = ["y"]
    assert_status(run(data, tmp_path, graph=g), status, message)


def test_input_shape_differs_from_graph(tmp_path):
    """The .pte tensor bound to a graph input must have the graph's shape."""
    g = base_graph()
    pte_graph = copy.deepcopy(g)
    pte_graph.tensors["x"].shape = [1, 4, 2, 4]
    result = run_program(delegate_program(g.serialize(), pte_graph),
                         [np.ones((1, 4, 2, 4), np.int8)], tmp_path)
    assert_status(result, "PTEC_STATUS_SHAPE_MISMATCH", "input 0 ('x')")


def test_random_byte_flips(seed, tmp_path):
    """Seeded mutants of the blob: every one loads cleanly or fails with a status."""
    rng = random.Random(seed)
    data = base_graph().serialize()
    statuses = set()
    for _ in range(200):
        result = run(flip_bytes(data, rng), tmp_path)
        assert_status(result, "PTEC_STATUS_OK" if result.returncode == 0 else "PTEC_STATUS_")
        statuses.add(result.returncode)
    assert statuses <= {0, 2}


def test_valid_graphs_of_every_operator_run_clean_under_sanitizers(seed, tmp_path):
    """The operator implementations themselves, under ASan and UBSan: each graph of
    test_tosa_reference_model's cases (every INT operator family) runs in the
    sanitized ptec-run and gives the same output as the library build."""
    from test_tosa_reference_model import _cases, random_graph
    rng = np.random.default_rng(seed)
    graphs = list(_cases(rng)) + [(f"random graph {k}", *random_graph(rng, 12)) for k in range(5)]
    for k, (name, g, inputs) in enumerate(graphs):
        assert_runs_as_reference(g, inputs, tmp_path / str(k), name)


_EDGE_INTS = [-(2**31), -65536, -1, 0, 1, 2, 7, 64, 8193, 65536, 2**31 - 1]


def _mutate_tables(graph: ts.TosaGraph, rng: random.Random) -> None:
    """One structure-aware change: a field of a tensor, an operator or an attribute set
    to an edge value, so the mutant passes the flatbuffer checks and reaches the
    semantic ones (reliability.md 6.3)."""
    b = block(graph)
    what = rng.randrange(7)
    if what == 0:
        t = rng.choice(b.tensors)
        shape = list(t.shape or [])
        if shape:
            shape[rng.randrange(len(shape))] = rng.choice(_EDGE_INTS)
        else:
            shape = [rng.choice(_EDGE_INTS)]
        t.shape = shape
    elif what == 1:
        rng.choice(b.tensors).type = rng.randrange(16)
    elif what == 2:
        o = rng.choice(b.operators)
        o.op = rng.randrange(80)
    elif what == 3:
        o = rng.choice(b.operators)
        names = [t.name for t in b.tensors] + ["missing"]
        if o.inputs and rng.random() < 0.5:
            o.inputs[rng.randrange(len(o.inputs))] = rng.choice(names)
        elif o.outputs:
            o.outputs[rng.randrange(len(o.outputs))] = rng.choice(names)
    elif what == 4:
        ops = [o for o in b.operators if o.op in (Op.CONV2D, Op.RESCALE)]
        if not ops:  # an earlier change replaced both op codes
            return
        o = rng.choice(ops)
        a = o.attribute
        field = rng.choice([f for f in vars(a)])
        value = getattr(a, field)
        if isinstance(value, list):
            value = list(value)
            if value:
                value[rng.randrange(len(value))] = rng.choice(_EDGE_INTS)
            setattr(a, field, value)
        else:
            setattr(a, field, rng.choice([0, 1, 2, 3, 4, 7, 255]))
    elif what == 5:
        t = rng.choice([t for t in b.tensors if t.data])
        t.data = t.data[:rng.randrange(len(t.data) + 1)] if rng.random() < 0.5 else \
            t.data + bytes(rng.randrange(1, 9))
    else:
        rng.shuffle(b.operators)


def test_structure_aware_mutants(seed, tmp_path):
    """Seeded table-level mutants (1-3 changes each): every one loads and runs, or
    fails with a named status; never a sanitizer report."""
    check_table_mutants(base_graph, run, 120, random.Random(seed), tmp_path)


def test_output_bound_to_a_program_constant(tmp_path):
    """A delegate must not write into the program's constants (read-only, maybe flash)."""
    from ptec.pte import schema as ps
    from ptec.pte.file import deserialize_program, serialize_program, pack_constant_segment
    g = base_graph()
    program, _ = deserialize_program(delegate_program(g.serialize(), g))
    plan = program.execution_plan[0]
    out = plan.values[plan.outputs[0]].val
    out.allocation_info = None
    out.data_buffer_idx = 1
    segment, offsets = pack_constant_segment([bytes(1 * 4 * 4 * 3)])
    program.constant_segment = ps.SubsegmentOffsets(segment_index=0, offsets=offsets)
    plan.outputs = []
    plan.chains[0].outputs = []
    result = run_program(serialize_program(program, [segment + bytes(16)]),
                         [np.ones((1, 4, 4, 2), np.int8)], tmp_path)
    assert_status(result, "PTEC_STATUS_INVALID_ARGUMENT", "is a constant of the program")
