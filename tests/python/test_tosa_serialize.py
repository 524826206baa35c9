"""ptec.tosa: the TOSA 1.0 schema, writer, reader, graph builder and text dump."""
from __future__ import annotations

import numpy as np
import pytest

from ptec.cli import main as cli_main
from ptec.pte import FlatBufferError
from ptec.tosa import (DType, GraphBuilder, Op, RoundingMode, decode_graph, delegate_program,
                       describe_tosa, dump, pack_data, read_graph, schema, unpack_data)


def test_enums_match_the_schema():
    assert (Op.ARGMAX, Op.CONV2D, Op.DEPTHWISE_CONV2D, Op.MATMUL, Op.TRANSPOSE_CONV2D) == \
        (1, 3, 5, 7, 10)
    assert (Op.CLAMP, Op.ADD, Op.MUL, Op.TABLE, Op.PAD, Op.RESHAPE, Op.TRANSPOSE) == \
        (11, 15, 28, 31, 56, 57, 61)
    assert (Op.RESCALE, Op.CONST, Op.CONST_SHAPE) == (66, 67, 75)
    assert (DType.INT8, DType.INT32, DType.INT48, DType.FP32, DType.SHAPE) == (3, 5, 6, 7, 10)
    # The Attribute union's tag of an op's attribute is the op's value.
    for op, cls in schema.ATTRIBUTE_OF.items():
        assert schema.ATTRIBUTES.index(cls) + 1 == op


def _graph() -> GraphBuilder:
    g = GraphBuilder()
    g.input("x", [1, 4, 4, 2], DType.INT8)
    g.const("w", np.arange(-9, 9, dtype=np.int8).reshape(3, 1, 3, 2))
    g.const("b", np.array([1, -2, 3], np.int32))
    g.const("zp", np.array([0], np.int8))
    g.tensor("acc", [1, 4, 2, 3], DType.INT32)
    g.op(Op.CONV2D, ["x", "w", "b", "zp", "zp"], ["acc"], pad=[0, 0, 0, 0], stride=[1, 1],
         dilation=[1, 1], acc_type=DType.INT32)
    g.const_shape("shape", [1, 24])
    g.tensor("y", [1, 24], DType.INT32)
    g.op(Op.RESHAPE, ["acc", "shape"], ["y"])
    g.output("y")
    return g


def test_round_trip():
    data = _graph().serialize()
    assert data[4:8] == b"TOSA"
    graph = decode_graph(data)
    assert (graph.version._major, graph.version._minor, graph.version._draft) == (1, 0, False)
    block = graph.regions[0].blocks[0]
    assert [o.op for o in block.operators] == [Op.CONST, Op.CONST, Op.CONST, Op.CONV2D,
                                               Op.CONST_SHAPE, Op.RESHAPE]
    conv = block.operators[3]
    assert isinstance(conv.attribute, schema.Conv2dAttribute)
    assert conv.attribute.stride == [1, 1] and conv.attribute.acc_type == DType.INT32
    g2 = read_graph(data)
    np.testing.assert_array_equal(g2.tensors["w"].data, _graph().tensors["w"].data)
    np.testing.assert_array_equal(g2.tensors["shape"].data, [1, 24])
    assert g2.tensors["shape"].dtype == DType.SHAPE and g2.inputs == ["x"]
    assert g2.serialize() == data  # reading and writing again changes nothing


def test_data_encodings():
    assert pack_data(np.array([1, -2, 7]), DType.INT4) == bytes([0xE1, 0x07])
    np.testing.assert_array_equal(unpack_data(bytes([0xE1, 0x07]), DType.INT4, [3]), [1, -2, 7])
    v = np.array([-(2**47), 2**47 - 1, -1, 5])
    raw = pack_data(v, DType.INT48)
    assert len(raw) == 24 and raw[:6] == bytes([0, 0, 0, 0, 0, 0x80])
    np.testing.assert_array_equal(unpack_data(raw, DType.INT48, [4]), v)
    assert pack_data(np.array([3, 4]), DType.SHAPE) == np.array([3, 4], "<i8").tobytes()
    assert pack_data(np.array([True, False]), DType.BOOL) == b"\x01\x00"


def test_data_is_8_byte_aligned():
    data = _graph().serialize()
    block = decode_graph(data).regions[0].blocks[0]
    for t in block.tensors:
        if t.data and len(t.data) >= 8:  # long enough to be found unambiguously
            at = data.find(t.data)
            assert at % 8 == 0, t.name


def test_clamp_bounds_are_encoded_in_the_input_type():
    g = GraphBuilder()
    g.input("x", [4], DType.INT16)
    g.tensor("y", [4], DType.INT16)
    op = g.op(Op.CLAMP, ["x"], ["y"], min_val=-300, max_val=300, nan_mode=1)
    assert op.attribute.min_val == np.int16(-300).tobytes()


def test_builder_refuses_unknown_tensors_and_duplicates():
    g = GraphBuilder()
    g.input("x", [1], DType.INT8)
    with pytest.raises(ValueError, match="already exists"):
        g.tensor("x", [1], DType.INT8)
    with pytest.raises(ValueError, match="unknown tensor"):
        g.op(Op.IDENTITY, ["x"], ["nope"])


def test_reader_rejects_other_files():
    with pytest.raises(FlatBufferError, match="identifier"):
        decode_graph(b"\x10\x00\x00\x00ET12" + bytes(32))


def test_dump_names_operators_tensors_and_shapes():
    text = dump(_graph().serialize())
    assert "TOSA 1.0.0" in text
    assert "inputs:  x:INT8[1, 4, 4, 2]" in text
    assert "CONV2D(x, w, b, zp, zp) -> acc:INT32[1, 4, 2, 3]" in text
    assert "RESHAPE(acc, shape) -> y:INT32[1, 24]" in text
    d = describe_tosa(_graph().serialize())
    assert d["blocks"][0]["outputs"] == ["y"]


def test_ptec_inspect_shows_the_delegate_graph(tmp_path, capsys):
    g = _graph()
    path = tmp_path / "m.pte"
    path.write_bytes(delegate_program(g.serialize(), g))
    assert cli_main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "TOSABackend" in out and "CONV2D(x, w, b, zp, zp)" in out
    assert cli_main(["inspect", "--json", str(path)]) == 0
    assert '"tosa"' in capsys.readouterr().out


def test_rescale_attribute_round_trip():
    g = GraphBuilder()
    g.input("x", [2], DType.INT32)
    for name, v, dt in (("m", [1 << 30], DType.INT32), ("s", [30], DType.INT8),
                        ("z", [0], DType.INT32), ("oz", [0], DType.INT8)):
        g.const(name, np.array(v), dt)
    g.tensor("y", [2], DType.INT8)
    g.op(Op.RESCALE, ["x", "m", "s", "z", "oz"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False, output_unsigned=False)
    a = decode_graph(g.serialize()).regions[0].blocks[0].operators[-1].attribute
    assert a.scale32 is True and a.rounding_mode == RoundingMode.SINGLE_ROUND


def test_rescale_helper_builds_what_the_executor_runs():
    """GraphBuilder.rescale: the multiplier, shift and zero points a lowering needs."""
    from tosa_ops_ref import run_graph
    from ptec.quant import tosa_math as tm
    g = GraphBuilder()
    x = g.input("x", [2, 3], DType.INT32)
    y = g.rescale(x, [0.5, 0.25, 0.125], DType.INT8, output_zp=-3)
    z = g.rescale(y, 2.0, DType.INT32, input_zp=-3)
    g.output(z)
    assert g.tensors["zp_int8_m3"].data.tolist() == [-3]  # shared by both RESCALEs
    a = np.array([[100, 100, 100], [-7, 9, 33]], np.int32)
    (out,) = run_graph(g, [a])
    m, s = tm.compute_multipliers_and_shifts([0.5, 0.25, 0.125])
    q = np.clip(tm.apply_scale_32(a, m, s) - 3, -128, 127)
    m2, s2 = tm.compute_multiplier_and_shift(2.0)
    np.testing.assert_array_equal(out, tm.apply_scale_32(q + 3, m2, s2))


def test_ptec_inspect_survives_a_broken_tosa_delegate(tmp_path, capsys):
    g = _graph()
    data = bytearray(g.serialize())
    data[0:4] = (len(data) + 100).to_bytes(4, "little")  # root offset past the end
    path = tmp_path / "m.pte"
    path.write_bytes(delegate_program(bytes(data), g))
    assert cli_main(["inspect", str(path)]) == 0
    assert "not a readable TOSA flatbuffer" in capsys.readouterr().out
