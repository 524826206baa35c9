"""ptec's TOSA flatbuffers and executor against Arm's TOSA reference model.

The reference model ships in PyPI `tosa-tools` (pinned in requirements-tosa.txt).
Its Python dependencies conflict with ptec's pins (numpy<2.2), so it lives in
build/tosa-tools, installed without deps; only its standalone binaries are
used: `flatc` with the official `tosa.fbs` (ptec's bytes must read with the
standard schema) and `tosa_reference_model` (its integer outputs must equal
ptec's bit for bit). PTEC_TOSA_TOOLS overrides the directory.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ptec.quant import tosa_math as tm
from ptec.tosa import DType, GraphBuilder, NanPropagationMode, Op, RoundingMode
from tosa_ops_ref import C, In, S, graph_op, rand_int, run_graph

REPO = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("PTEC_TOSA_TOOLS", REPO / "build" / "tosa-tools"))
REQUIREMENT = (REPO / "requirements-tosa.txt").read_text().split("\n")[-2].strip()
I8, I16, I32, I48 = DType.INT8, DType.INT16, DType.INT32, DType.INT48


@pytest.fixture(scope="module")
def tools() -> Path:
    """`make tosa-tools` (part of `make test`) unpacks the pinned wheel there."""
    if not (TOOLS / "bin" / "tosa_reference_model").is_file() and "PTEC_TOSA_TOOLS" not in os.environ:
        subprocess.run(["make", "-C", str(REPO), "tosa-tools"], capture_output=True, timeout=600)
    if not (TOOLS / "bin" / "tosa_reference_model").is_file():
        pytest.skip(f"{REQUIREMENT} is not in {TOOLS}: run `make tosa-tools`")
    return TOOLS


def reference_run(tools: Path, g: GraphBuilder, inputs: list[np.ndarray], tmp: Path):
    tosa = tmp / "graph.tosa"
    tosa.write_bytes(g.serialize())
    files = []
    for name, a in zip(g.inputs, inputs):
        np.save(tmp / f"{name}.npy", a)
        files.append(str(tmp / f"{name}.npy"))
    outs = [str(tmp / f"out_{n}.npy") for n in g.outputs]
    result = subprocess.run(
        [str(tools / "bin" / "tosa_reference_model"), "--tosa_file", str(tosa),
         "--ifm_name", ",".join(g.inputs), "--ifm_file", ",".join(files),
         "--ofm_name", ",".join(g.outputs), "--ofm_file", ",".join(outs),
         "--output_dir", str(tmp), "--tosa_level", "EIGHTK"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "ERROR" not in result.stdout + result.stderr, \
        result.stdout + result.stderr
    return [np.load(o) for o in outs]


def test_flatbuffer_reads_with_the_official_schema(tools, tmp_path):
    """flatc with tosa-tools' tosa.fbs decodes ptec's bytes to the same graph."""
    from test_tosa_executor import small_cnn
    g, _ = small_cnn(np.random.default_rng(0))
    (tmp_path / "g.tosa").write_bytes(g.serialize())
    subprocess.run([str(tools / "bin" / "flatc"), "--json", "--strict-json", "--raw-binary",
                    "-o", str(tmp_path), str(tools / "bin" / "tosa.fbs"), "--",
                    str(tmp_path / "g.tosa")], check=True, capture_output=True)
    j = json.loads((tmp_path / "g.json").read_text())
    assert j["version"] == {"_major": 1, "_minor": 0, "_patch": 0, "_draft": False}
    block = j["regions"][0]["blocks"][0]
    assert [o["op"] for o in block["operators"] if o["op"] not in ("CONST", "CONST_SHAPE")] == \
        ["CONV2D", "RESCALE", "TABLE", "MAX_POOL2D", "RESHAPE", "MATMUL", "RESCALE"]
    assert block["inputs"] == ["x"] and block["outputs"] == ["y"]
    conv = next(o for o in block["operators"] if o["op"] == "CONV2D")
    assert conv["attribute_type"] == "Conv2dAttribute"
    assert conv["attribute"]["pad"] == [1, 1, 1, 1] and conv["attribute"]["acc_type"] == "INT32"
    shapes = {t["name"]: t["shape"] for t in block["tensors"]}
    assert shapes["acc"] == [1, 8, 8, 4] and shapes["shape"] == [3]


def _cases(rng):
    """(name, graph, inputs): INT graphs both sides must agree on bit for bit."""
    from test_tosa_executor import conv_case, small_cnn
    g, x = small_cnn(rng)
    yield ("small cnn", g, [x])
    for depthwise in (False, True):
        c = conv_case(rng, depthwise)
        x = rand_int(rng, c["x"], np.int8)
        g, inputs = graph_op(
            Op.DEPTHWISE_CONV2D if depthwise else Op.CONV2D,
            [In(x), C(rand_int(rng, c["w"], np.int8)),
             C(rng.integers(-999, 999, c["oc"]).astype(np.int32)),
             C(np.array([int(rng.integers(-128, 128))], np.int8)), C(np.array([0], np.int8))],
            (c["out"], I32), pad=c["pad"], stride=c["stride"], dilation=c["dilation"],
            acc_type=I32)
        yield (f"conv depthwise={depthwise}", g, inputs)
    x = rand_int(rng, (1, 6, 7, 3), np.int8)
    yield ("avg_pool2d", *graph_op(Op.AVG_POOL2D, [In(x), C(np.array([3], np.int8)),
                                                   C(np.array([-2], np.int8))],
                                   ([1, 5, 6, 3], I8), kernel=[3, 3], stride=[1, 1],
                                   pad=[1, 0, 1, 0], acc_type=I32))
    yield ("max_pool2d", *graph_op(Op.MAX_POOL2D, [In(x)], ([1, 3, 3, 3], I8), kernel=[2, 3],
                                   stride=[2, 2], pad=[0, 0, 0, 0],
                                   nan_mode=NanPropagationMode.PROPAGATE))
    a = rng.integers(-2**20, 2**20, (2, 3, 4)).astype(np.int32)
    m, s = tm.compute_multipliers_and_shifts(rng.uniform(0.001, 0.1, 4))
    yield ("rescale per channel", *graph_op(
        Op.RESCALE, [In(a), C(m.astype(np.int32)), C(s.astype(np.int8)),
                     C(np.array([0], np.int32)), C(np.array([7], np.int8))], ([2, 3, 4], I8),
        scale32=True, rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True))
    u8 = rng.integers(0, 256, (2, 3, 4)).astype(np.uint8).view(np.int8)
    for unsigned_in in (True, False):
        zin = np.array([200 if unsigned_in else 0], np.uint8 if unsigned_in else np.int16)
        zout = np.array([0 if unsigned_in else 130], np.int16 if unsigned_in else np.uint8)
        src = u8 if unsigned_in else rand_int(rng, (2, 3, 4), np.int16)
        yield (f"RESCALE unsigned in={unsigned_in}", *graph_op(
            Op.RESCALE, [In(src), C(np.array([m[0]], np.int32)), C(np.array([s[0] - 6], np.int8)),
                         C(zin.view(np.int8) if unsigned_in else zin),
                         C(zout if unsigned_in else zout.view(np.int8))],
            ([2, 3, 4], I16 if unsigned_in else I8), scale32=True,
            rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False,
            input_unsigned=unsigned_in, output_unsigned=not unsigned_in))
    b = rng.integers(-2**20, 2**20, (2, 1, 4)).astype(np.int32)
    for op in (Op.ADD, Op.SUB, Op.MAXIMUM, Op.MINIMUM, Op.BITWISE_AND, Op.INTDIV):
        bb = np.where(b == 0, 1, b).astype(np.int32)
        attrs = {"nan_mode": NanPropagationMode.PROPAGATE} if op in (Op.MAXIMUM, Op.MINIMUM) \
            else {}
        yield (op.name, *graph_op(op, [In(a), In(bb)], ([2, 3, 4], I32), **attrs))
    yield ("MUL shift", *graph_op(Op.MUL, [In(a // 64), In(b // 64), C(np.array([9], np.int8))],
                                  ([2, 3, 4], I32)))
    x8 = rand_int(rng, (2, 3, 4), np.int8)
    yield ("MUL int8", *graph_op(Op.MUL, [In(x8), In(x8), C(np.array([0], np.int8))],
                                 ([2, 3, 4], I32)))
    yield ("TABLE", *graph_op(Op.TABLE, [In(x8), C(rand_int(rng, 256, np.int8))],
                              ([2, 3, 4], I8)))
    yield ("CLAMP", *graph_op(Op.CLAMP, [In(x8)], ([2, 3, 4], I8), min_val=-50, max_val=60,
                              nan_mode=NanPropagationMode.PROPAGATE))
    yield ("NEGATE", *graph_op(Op.NEGATE, [In(x8), C(np.array([5], np.int8)),
                                           C(np.array([-7], np.int8))], ([2, 3, 4], I8)))
    yield ("ARITHMETIC_RIGHT_SHIFT", *graph_op(
        Op.ARITHMETIC_RIGHT_SHIFT, [In(a), In(np.abs(b) % 31)], ([2, 3, 4], I32), round=True))
    yield ("REDUCE_SUM", *graph_op(Op.REDUCE_SUM, [In(a)], ([2, 1, 4], I32), axis=1))
    yield ("ARGMAX", *graph_op(Op.ARGMAX, [In(x8)], ([2, 4], I32), axis=1,
                               nan_mode=NanPropagationMode.PROPAGATE))
    yield ("CAST i32->i8", *graph_op(Op.CAST, [In(a)], ([2, 3, 4], I8)))
    yield ("TRANSPOSE", *graph_op(Op.TRANSPOSE, [In(x8)], ([4, 2, 3], I8), perms=[2, 0, 1]))
    yield ("PAD", *graph_op(Op.PAD, [In(x8), S([0, 1, 2, 0, 1, 1]), C(np.array([-9], np.int8))],
                            ([3, 5, 6], I8)))
    yield ("SLICE", *graph_op(Op.SLICE, [In(x8), S([1, 1, 0]), S([1, 2, 3])], ([1, 2, 3], I8)))
    yield ("CONCAT", *graph_op(Op.CONCAT, [In(x8), In(x8[:, :1].copy())], ([2, 4, 4], I8),
                               axis=1))
    yield ("TILE", *graph_op(Op.TILE, [In(x8), S([1, 2, 1])], ([2, 6, 4], I8)))
    yield ("REVERSE", *graph_op(Op.REVERSE, [In(x8)], ([2, 3, 4], I8), axis=2))
    from ptec.tosa import ResizeMode
    img = rand_int(rng, (1, 3, 4, 2), np.int8)
    for mode, out_t in ((ResizeMode.NEAREST, I8), (ResizeMode.BILINEAR, I32)):
        # 3x4 -> 5x7 (scale 2/1 with offset -1, border -1 ... as ExecuTorch's align_corners=False)
        yield (f"RESIZE {mode.name}", *graph_op(
            Op.RESIZE, [In(img), S([4, 2, 4, 2]), S([-1, -1]), S([1, 1])], ([1, 6, 8, 2], out_t),
            mode=mode))
        yield (f"RESIZE {mode.name} 3/2", *graph_op(
            Op.RESIZE, [In(img), S([3, 2, 3, 2]), S([0, 0]), S([0, 1])], ([1, 4, 6, 2], out_t),
            mode=mode))
    w = rand_int(rng, (3, 2, 3, 2), np.int8)
    yield ("TRANSPOSE_CONV2D", *graph_op(
        Op.TRANSPOSE_CONV2D, [In(img), C(w), C(np.array([5, -6, 7], np.int32)),
                              C(np.array([3], np.int8)), C(np.array([0], np.int8))],
        ([1, 5, 8, 3], I32), out_pad=[0, -1, 0, -1], stride=[2, 2], acc_type=I32))
    vol = rand_int(rng, (1, 3, 4, 4, 2), np.int8)
    yield ("CONV3D", *graph_op(
        Op.CONV3D, [In(vol), C(rand_int(rng, (2, 2, 3, 3, 2), np.int8)),
                    C(np.array([1, 2], np.int32)), C(np.array([-1], np.int8)),
                    C(np.array([0], np.int8))], ([1, 2, 4, 4, 2], I32), pad=[0, 0, 1, 1, 1, 1],
        stride=[1, 1, 1], dilation=[1, 1, 1], acc_type=I32))
    for op in (Op.BITWISE_OR, Op.BITWISE_XOR):
        yield (op.name, *graph_op(op, [In(x8), In(x8[:, :1].copy())], ([2, 3, 4], I8)))
    sh8 = rng.integers(0, 8, (2, 3, 4)).astype(np.int8)
    for op in (Op.LOGICAL_LEFT_SHIFT, Op.LOGICAL_RIGHT_SHIFT):
        yield (op.name, *graph_op(op, [In(x8), In(sh8)], ([2, 3, 4], I8)))
    p, q = rng.random((2, 3, 4)) < 0.5, rng.random((2, 1, 4)) < 0.5
    for op in (Op.LOGICAL_AND, Op.LOGICAL_OR, Op.LOGICAL_XOR):
        yield (op.name, *graph_op(op, [In(p), In(q)], ([2, 3, 4], DType.BOOL)))
    yield ("LOGICAL_NOT", *graph_op(Op.LOGICAL_NOT, [In(p)], ([2, 3, 4], DType.BOOL)))
    for op in (Op.CLZ, Op.ABS):
        yield (op.name, *graph_op(op, [In(a)], ([2, 3, 4], I32)))
    yield ("BITWISE_NOT", *graph_op(Op.BITWISE_NOT, [In(x8)], ([2, 3, 4], I8)))
    yield ("IDENTITY", *graph_op(Op.IDENTITY, [In(x8)], ([2, 3, 4], I8)))
    for op in (Op.EQUAL, Op.GREATER_EQUAL):
        yield (op.name, *graph_op(op, [In(a % 5), In(b % 5)], ([2, 3, 4], DType.BOOL)))
    yield ("REDUCE_ALL", *graph_op(Op.REDUCE_ALL, [In(p)], ([2, 1, 4], DType.BOOL), axis=1))
    yield ("REDUCE_ANY", *graph_op(Op.REDUCE_ANY, [In(p)], ([1, 3, 4], DType.BOOL), axis=0))
    yield ("REDUCE_MAX", *graph_op(Op.REDUCE_MAX, [In(x8)], ([2, 3, 1], I8), axis=2,
                                   nan_mode=NanPropagationMode.PROPAGATE))
    yield ("REDUCE_MIN", *graph_op(Op.REDUCE_MIN, [In(a)], ([2, 1, 4], I32), axis=1,
                                   nan_mode=NanPropagationMode.PROPAGATE))
    idx = np.stack([rng.permutation(3)[:2] for _ in range(2)]).astype(np.int32)
    yield ("GATHER", *graph_op(Op.GATHER, [In(x8), In(idx)], ([2, 2, 4], I8)))
    yield ("SCATTER", *graph_op(Op.SCATTER, [In(x8), In(idx), In(x8[:, :2].copy())],
                                ([2, 3, 4], I8)))
    yield ("CAST bool->i8", *graph_op(Op.CAST, [In(p)], ([2, 3, 4], I8)))
    yield ("CAST i8->bool", *graph_op(Op.CAST, [In(x8)], ([2, 3, 4], DType.BOOL)))
    yield ("MUL int16", *graph_op(Op.MUL, [In(rand_int(rng, (2, 3, 4), np.int16)),
                                           In(rand_int(rng, (2, 3, 4), np.int16)),
                                           C(np.array([0], np.int8))], ([2, 3, 4], I32)))
    cond = rng.random((2, 3, 4)) < 0.5
    yield ("SELECT", *graph_op(Op.SELECT, [In(cond), In(x8), In(x8[::-1].copy())],
                               ([2, 3, 4], I8)))
    yield from _int16_cases(rng)


def _int16_cases(rng):
    """EXT-INT16: INT48 stays inside each graph (ptec refuses INT48 graph I/O), so every
    int48 result is RESCALEd (scale16) to an INT16, INT8 or INT32 output; scales keep
    apply_scale_16's result within int32 (TOSA's REQUIRE), the final clip saturates."""
    from test_tosa_executor import a16w8_block, add_rescale, conv_case, conv_int16, scale16
    for depthwise in (False, True):
        c = conv_case(rng, depthwise)
        g = GraphBuilder()
        g.input("x", c["x"], I16)
        conv_int16(rng, g, "x", c, depthwise, bias_kind=int(rng.integers(0, 2)))
        m, s = scale16(rng, c["oc"], 2.0**-12, 2.0**-3)
        add_rescale(g, "c_acc", "y", c["out"], I16, m, s)
        g.output("y")
        yield (f"CONV int16 depthwise={depthwise}", g, [rand_int(rng, c["x"], np.int16)])
    a16, b16 = rand_int(rng, (2, 3, 5), np.int16), rand_int(rng, (2, 5, 4), np.int16)
    g = GraphBuilder()
    g.input("a", a16.shape, I16), g.input("b", b16.shape, I16)
    g.const("zp", np.array([0], np.int16))
    g.tensor("acc", [2, 3, 4], I48)
    g.op(Op.MATMUL, ["a", "b", "zp", "zp"], ["acc"])
    m, s = scale16(rng, 4, 2.0**-20, 2.0**-12)
    add_rescale(g, "acc", "y", [2, 3, 4], I16, m, s)
    g.output("y")
    yield ("MATMUL int16", g, [a16, b16])
    g = GraphBuilder()
    g.input("a", [2, 3, 4], I32)
    c48 = rng.integers(-(2**47), 2**47, (2, 3, 4))
    c48.reshape(-1)[:3] = [-(2**47), 2**47 - 1, -1]
    g.const("c48", c48, I48)
    m, s = scale16(rng, 1, 2.0**-20, 2.0**-18)
    add_rescale(g, "c48", "r", [2, 3, 4], I32, m, s)
    g.tensor("y", [2, 3, 4], I32)
    g.op(Op.ADD, ["r", "a"], ["y"])
    g.output("y")
    yield ("RESCALE INT48 constant", g, [rng.integers(-2**20, 2**20, (2, 3, 4)).astype(np.int32)])
    x16 = rand_int(rng, (1, 5, 6, 3), np.int16)
    z16 = C(np.array([0], np.int16))
    yield ("AVG_POOL2D int16", *graph_op(Op.AVG_POOL2D, [In(x16), z16, z16], ([1, 4, 5, 3], I16),
                                         kernel=[3, 3], stride=[1, 1], pad=[1, 0, 1, 0],
                                         acc_type=I32))
    yield ("MAX_POOL2D int16", *graph_op(Op.MAX_POOL2D, [In(x16)], ([1, 3, 3, 3], I16),
                                         kernel=[2, 2], stride=[2, 2], pad=[0, 1, 0, 0],
                                         nan_mode=NanPropagationMode.PROPAGATE))
    yield ("CLAMP int16", *graph_op(Op.CLAMP, [In(x16)], ([1, 5, 6, 3], I16), min_val=-1000,
                                    max_val=20000, nan_mode=NanPropagationMode.PROPAGATE))
    mm, ss = tm.compute_multipliers_and_shifts(rng.uniform(2.0, 3000.0, 3))
    yield ("RESCALE int16->int32 per channel", *graph_op(
        Op.RESCALE, [In(x16), C(mm.astype(np.int32)), C(ss.astype(np.int8)), z16,
                     C(np.array([0], np.int32))], ([1, 5, 6, 3], I32), scale32=True,
        rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True))
    a32 = rng.integers(-2**24, 2**24, (1, 5, 6, 3)).astype(np.int32)
    mm, ss = tm.compute_multiplier_and_shift(float(rng.uniform(2.0**-9, 2.0**-7)))
    yield ("RESCALE int32->int16", *graph_op(
        Op.RESCALE, [In(a32), C(np.array([mm], np.int32)), C(np.array([ss], np.int8)),
                     C(np.array([0], np.int32)), z16], ([1, 5, 6, 3], I16), scale32=True,
        rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False))
    yield ("TRANSPOSE int16", *graph_op(Op.TRANSPOSE, [In(x16)], ([1, 3, 5, 6], I16),
                                        perms=[0, 3, 1, 2]))
    yield ("RESHAPE int16", *graph_op(Op.RESHAPE, [In(x16), S([1, 90])], ([1, 90], I16)))
    yield ("CONCAT int16", *graph_op(Op.CONCAT, [In(x16), In(x16[:, :2].copy())],
                                     ([1, 7, 6, 3], I16), axis=1))
    yield ("SLICE int16", *graph_op(Op.SLICE, [In(x16), S([0, 1, 2, 0]), S([1, 3, 4, 2])],
                                    ([1, 3, 4, 2], I16)))
    yield ("PAD int16", *graph_op(Op.PAD, [In(x16), S([0, 0, 1, 2, 0, 1, 0, 0]),
                                           C(np.array([-1234], np.int16))], ([1, 8, 7, 3], I16)))
    yield ("TILE int16", *graph_op(Op.TILE, [In(x16), S([1, 1, 2, 1])], ([1, 5, 12, 3], I16)))
    g, x, _ = a16w8_block(rng)
    yield ("a16w8 block", g, [x])


def test_reference_model_agrees_bit_for_bit(tools, seed, tmp_path):
    rng = np.random.default_rng(seed)
    for k, (name, g, inputs) in enumerate(_cases(rng)):
        d = tmp_path / str(k)
        d.mkdir()
        want = reference_run(tools, g, inputs, d)
        got = run_graph(g, inputs)
        for w, y in zip(want, got):
            np.testing.assert_array_equal(y, w.reshape(y.shape), err_msg=name)


def random_graph(rng, num_ops: int):
    """A random INT graph on [1, 4, 4, 8] tensors: int32 arithmetic, rescales to and from
    int8, TABLE, CLAMP, 1x1 CONV2D; operands are drawn from every tensor made so far, so
    tensors stay live across others (the memory plan) and conv -> rescale pairs appear
    (fusion)."""
    shape = [1, 4, 4, 8]
    g = GraphBuilder()
    x32 = rng.integers(-2**12, 2**12, shape).astype(np.int32)
    x8 = rand_int(rng, shape, np.int8)
    g.input("a", shape, I32)
    g.input("b", shape, I8)
    pool = {I32: ["a"], I8: ["b"]}
    g.const("z32", np.array([0], np.int32)), g.const("z8", np.array([0], np.int8))
    last = "a"
    for k in range(num_ops):
        name = f"t{k}"
        kind = int(rng.integers(0, 13))
        pick = lambda t: pool[t][int(rng.integers(0, len(pool[t])))]  # noqa: E731
        if kind == 0:
            op = [Op.MAXIMUM, Op.MINIMUM, Op.BITWISE_AND, Op.BITWISE_XOR, Op.ADD][
                int(rng.integers(0, 5))]
            attrs = {"nan_mode": NanPropagationMode.PROPAGATE} if op in (Op.MAXIMUM,
                                                                         Op.MINIMUM) else {}
            g.tensor(name, shape, I32)
            g.op(op, [pick(I32), pick(I32)], [name], **attrs)
            out_t = I32
        elif kind in (1, 2):  # RESCALE int32 -> int8 (scale below 1), int8 -> int32 (above)
            src, out_t, scales, zps = ((I32, I8, (0.005, 0.05), ["z32", "z8"]) if kind == 1
                                       else (I8, I32, (1, 64), ["z8", "z32"]))
            m, s = tm.compute_multiplier_and_shift(float(rng.uniform(*scales)))
            g.const(f"m{k}", np.array([m], np.int32)), g.const(f"s{k}", np.array([s], np.int8))
            g.tensor(name, shape, out_t)
            g.op(Op.RESCALE, [pick(src), f"m{k}", f"s{k}", *zps], [name], scale32=True,
                 rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False)
        elif kind == 3:
            g.const(f"tbl{k}", rand_int(rng, 256, np.int8))
            g.tensor(name, shape, I8)
            g.op(Op.TABLE, [pick(I8), f"tbl{k}"], [name])
            out_t = I8
        elif kind == 4:
            g.tensor(name, shape, I8)
            lo = int(rng.integers(-128, 0))
            g.op(Op.CLAMP, [pick(I8)], [name], min_val=lo, max_val=lo + 100,
                 nan_mode=NanPropagationMode.PROPAGATE)
            out_t = I8
        elif kind == 6:  # int8 window ops that keep the shape
            op = [Op.MAX_POOL2D, Op.AVG_POOL2D][int(rng.integers(0, 2))]
            g.tensor(name, shape, I8)
            if op == Op.MAX_POOL2D:
                g.op(op, [pick(I8)], [name], kernel=[3, 3], stride=[1, 1], pad=[1, 1, 1, 1],
                     nan_mode=NanPropagationMode.PROPAGATE)
            else:
                g.op(op, [pick(I8), "z8", "z8"], [name], kernel=[3, 3], stride=[1, 1],
                     pad=[1, 1, 1, 1], acc_type=I32)
            out_t = I8
        elif kind == 7:  # data movement that keeps the shape
            t = [I8, I32][int(rng.integers(0, 2))]
            g.tensor(name, shape, t)
            if rng.random() < 0.5:
                g.op(Op.TRANSPOSE, [pick(t)], [name], perms=[0, 2, 1, 3])
            else:
                g.op(Op.REVERSE, [pick(t)], [name], axis=int(rng.integers(0, 4)))
            out_t = t
        elif kind == 8:  # pad then slice back
            g.const_shape(f"pad{k}", [0, 0, 1, 2, 0, 1, 0, 0])
            g.const(f"pv{k}", np.array([int(rng.integers(-128, 128))], np.int8))
            g.tensor(f"{name}p", [1, 7, 5, 8], I8)
            g.op(Op.PAD, [pick(I8), f"pad{k}", f"pv{k}"], [f"{name}p"])
            g.const_shape(f"st{k}", [0, int(rng.integers(0, 4)), int(rng.integers(0, 2)), 0])
            g.const_shape(f"sz{k}", shape)
            g.tensor(name, shape, I8)
            g.op(Op.SLICE, [f"{name}p", f"st{k}", f"sz{k}"], [name])
            out_t = I8
        elif kind == 9:  # int32 shifts and multiplies
            g.tensor(name, shape, I32)
            if rng.random() < 0.5:
                g.const(f"sh{k}", np.full(shape, int(rng.integers(0, 8)), np.int32))
                g.op(Op.ARITHMETIC_RIGHT_SHIFT, [pick(I32), f"sh{k}"], [name],
                     round=bool(rng.integers(0, 2)))
            else:
                # A small constant factor and a large shift keep the product in int32.
                g.const(f"f{k}", rng.integers(-255, 256, shape).astype(np.int32))
                g.const(f"sh{k}", np.array([int(rng.integers(12, 21))], np.int8))
                g.op(Op.MUL, [pick(I32), f"f{k}", f"sh{k}"], [name])
            out_t = I32
        elif kind == 10:  # compare and select
            g.tensor(f"{name}c", shape, DType.BOOL)
            g.op(Op.GREATER, [pick(I32), pick(I32)], [f"{name}c"])
            g.tensor(name, shape, I8)
            g.op(Op.SELECT, [f"{name}c", pick(I8), pick(I8)], [name])
            out_t = I8
        elif kind == 11:  # 3x3 depthwise conv, padded
            g.const(f"w{k}", rand_int(rng, (3, 3, 8, 1), np.int8))
            g.const(f"b{k}", rng.integers(-99, 99, 8).astype(np.int32))
            g.tensor(name, shape, I32)
            g.op(Op.DEPTHWISE_CONV2D, [pick(I8), f"w{k}", f"b{k}", "z8", "z8"], [name],
                 pad=[1, 1, 1, 1], stride=[1, 1], dilation=[1, 1], acc_type=I32)
            out_t = I32
        else:  # 1x1 conv, often followed by a rescale (fused by ptec)
            g.const(f"w{k}", rand_int(rng, (8, 1, 1, 8), np.int8))
            g.const(f"b{k}", rng.integers(-99, 99, 8).astype(np.int32))
            g.tensor(name, shape, I32)
            g.op(Op.CONV2D, [pick(I8), f"w{k}", f"b{k}", "z8", "z8"], [name], pad=[0, 0, 0, 0],
                 stride=[1, 1], dilation=[1, 1], acc_type=I32)
            m, s = tm.compute_multipliers_and_shifts(rng.uniform(0.001, 0.01, 8))
            g.const(f"cm{k}", m.astype(np.int32)), g.const(f"cs{k}", s.astype(np.int8))
            g.tensor(f"{name}q", shape, I8)
            g.op(Op.RESCALE, [name, f"cm{k}", f"cs{k}", "z32", "z8"], [f"{name}q"],
                 scale32=True, rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True)
            pool[I8].append(f"{name}q")
            out_t = I32
            if rng.random() < 0.7:
                name, out_t = f"{name}q", I8
        pool[out_t].append(name)
        last = name
    g.output(last)
    return g, [x32, x8]


def test_random_graphs_agree_with_the_reference_model(tools, seed, tmp_path):
    rng = np.random.default_rng(seed)
    for k in range(10):
        g, inputs = random_graph(rng, int(rng.integers(4, 16)))
        d = tmp_path / str(k)
        d.mkdir()
        (want,) = reference_run(tools, g, inputs, d)
        (got,) = run_graph(g, inputs)
        np.testing.assert_array_equal(got, want.reshape(got.shape), err_msg=f"graph {k}")
