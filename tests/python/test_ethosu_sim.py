"""ptec's Ethos-U simulator (runtime/src/backends/ethosu/sim) against ptec's C
TOSA executor.

Each case is a small TOSA 1.0 graph drawn from the test's printed seed
(PTEC_SEED replays one): Vela compiles it for an NPU, the simulator runs the
command stream (build/host/ethosu_sim_run), and the output read from the
scratch region must equal, bit for bit, what the TOSA executor computes on
the same graph. Malformed streams must fail with a named status, and
mutated streams must never crash the sanitizer build.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ptec.quant import tosa_math as tm
from ptec.tosa import DType, GraphBuilder, NanPropagationMode, Op, RoundingMode
from test_tosa_executor import conv_case, pool_case
from tosa_ops_ref import rand_int, run_graph

I8, I32 = DType.INT8, DType.INT32
ROOT = Path(__file__).resolve().parents[2]


def tool(flavour: str = "host") -> Path:
    path = ROOT / "build" / flavour / "ethosu_sim_run"
    if not path.exists():
        pytest.skip(f"{path} is not built (make build-{flavour})")
    return path


def vela(tosa: bytes, accelerator: str):
    from ptec.ethosu.npu import npu_config
    from ptec.ethosu.vela import compile_tosa
    return compile_tosa(tosa, npu_config(accelerator))


def run_sim(cmd: bytes, regions: list[bytes | None], accelerator: str, tmp: Path,
            flavour: str = "host", budget: int | None = None
            ) -> tuple[int, str, list[bytes | None]]:
    """Runs the simulator (with a work budget of `budget` operations, else the
    default from the regions' sizes); returns (status, stdout, regions after the run)."""
    family, macs = accelerator.split("-")[1:3]
    (tmp / "cmd.bin").write_bytes(cmd)
    args = [str(tool(flavour)), family, macs, str(tmp / "cmd.bin")]
    for i, data in enumerate(regions):
        if data is None:
            args.append("-")
        else:
            (tmp / f"r{i}.bin").write_bytes(data)
            args.append(str(tmp / f"r{i}.bin"))
    env = dict(os.environ)
    env.pop("ETHOSU_SIM_WORK_BUDGET", None)
    if budget is not None:
        env["ETHOSU_SIM_WORK_BUDGET"] = str(budget)
    p = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode < 100, p.stderr
    after = [None if d is None else (tmp / f"r{i}.bin").read_bytes()
             for i, d in enumerate(regions)]
    return p.returncode, p.stdout, after


def simulate(g: GraphBuilder, inputs: list[np.ndarray], accelerator: str, tmp: Path,
             out_dtypes=None) -> list[np.ndarray]:
    """Compiles g with Vela, runs it on the simulator, returns the outputs."""
    out = vela(g.serialize(), accelerator)
    scratch = bytearray(out.scratch_size)
    fast = bytearray(out.fast_scratch_size) if out.fast_scratch_size else None
    for io, x in zip(out.inputs, inputs):
        assert io.region == 1, io
        data = np.ascontiguousarray(x).tobytes()
        assert len(data) == io.nbytes, (io, x.shape)
        scratch[io.offset:io.offset + len(data)] = data
    status, log, after = run_sim(out.cmd_data, [out.weight_data, bytes(scratch), fast and bytes(fast)],
                                 accelerator, tmp)
    assert status == 0, log
    results = []
    names = g.outputs
    for k, io in enumerate(out.outputs):
        t = g.tensors[names[k]]
        dtype = {DType.INT8: np.int8, DType.INT16: np.int16, DType.INT32: np.int32,
                 DType.BOOL: np.bool_}[t.dtype]
        raw = after[1][io.offset:io.offset + io.nbytes]
        results.append(np.frombuffer(raw, dtype).reshape(t.shape))
    return results


def check(g: GraphBuilder, inputs, accelerator: str, tmp: Path):
    want = run_graph(g, inputs)
    got = simulate(g, inputs, accelerator, tmp)
    for w, o in zip(want, got):
        if not np.array_equal(w, o):
            bad = np.argwhere(w != o)
            raise AssertionError(f"{len(bad)} of {w.size} differ; first at {bad[0].tolist()}: "
                                 f"want {w[tuple(bad[0])]} got {o[tuple(bad[0])]}\n"
                                 f"want {w.ravel()[:16]}\ngot  {o.ravel()[:16]}")


def check_drawn(make, count: int, accelerator: str, tmp: Path):
    """check() on `count` graphs drawn by make() (each a (graph, inputs))."""
    for _ in range(count):
        check(*make(), accelerator, tmp)


def check_compiled(make, want: int, tries: int, accelerator: str, tmp: Path):
    """check() on `want` graphs from make() that Vela compiles for `accelerator`: the
    ones it refuses (its own limits on strides, paddings, scales) are drawn again, at
    most `tries` draws in all."""
    from ptec.ethosu.vela import VelaRefused
    done = 0
    for _ in range(tries):
        g, inputs = make()
        try:
            vela(g.serialize(), accelerator)
        except VelaRefused:
            continue
        check(g, inputs, accelerator, tmp)
        done += 1
        if done == want:
            return
    raise AssertionError(f"Vela compiled {done} of {tries} graphs, {want} wanted")


# ---------------------------------------------------------------- graphs

def conv_graph(rng, depthwise=False, big=False, multiplier=1):
    """A CONV2D or DEPTHWISE_CONV2D + per-channel RESCALE: the shapes of the TOSA
    executor's tests (exact division, trimmed padding), deeper when `big`."""
    c = conv_case(rng, depthwise)
    n, ih, iw, cin = c["x"]
    if big:
        cin = int(rng.integers(1, 40))
    if depthwise:
        kh, kw = c["w"][:2]
        wshape, oc = (kh, kw, cin, multiplier), cin * multiplier
    else:
        oc = int(rng.integers(1, 40 if big else 12))
        wshape = (oc, *c["w"][1:3], cin)
    pad, stride, dil = c["pad"], c["stride"], c["dilation"]
    oh, ow = c["out"][1:3]
    c = cin
    w = rand_int(rng, wshape, np.int8)
    bias = rng.integers(-5000, 5000, oc).astype(np.int32)
    xzp, wzp = int(rng.integers(-128, 128)), int(rng.integers(-20, 20))
    g = GraphBuilder()
    g.input("x", [n, ih, iw, c], I8)
    g.const("w", w), g.const("b", bias)
    g.const("xzp", np.array([xzp], np.int8)), g.const("wzp", np.array([wzp], np.int8))
    g.tensor("acc", [n, oh, ow, oc], I32)
    g.op(Op.DEPTHWISE_CONV2D if depthwise else Op.CONV2D, ["x", "w", "b", "xzp", "wzp"],
         ["acc"], pad=pad, stride=stride, dilation=dil, acc_type=I32)
    m, s = tm.compute_multipliers_and_shifts(rng.uniform(1e-4, 1e-2, oc))
    ozp = int(rng.integers(-128, 128))
    g.const("m", m.astype(np.int32)), g.const("s", s.astype(np.int8))
    g.const("izp", np.array([0], np.int32)), g.const("ozp", np.array([ozp], np.int8))
    g.tensor("y", [n, oh, ow, oc], I8)
    g.op(Op.RESCALE, ["acc", "m", "s", "izp", "ozp"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True, input_unsigned=False,
         output_unsigned=False)
    g.output("y")
    x = rand_int(rng, [n, ih, iw, c], np.int8)
    return g, [x]


ACCELERATORS = ["ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256"]
#: Ethos-U85 configurations (its own command set and weight formats; 512 MACs is two
#: cores, so two weight streams or an interleaved FWD stream).
U85 = ["ethos-u85-128", "ethos-u85-256", "ethos-u85-512"]


@pytest.mark.parametrize("accelerator", ACCELERATORS + U85)
def test_conv2d(seed, accelerator, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: conv_graph(rng), 6, accelerator, tmp_path)


@pytest.mark.parametrize("accelerator", ACCELERATORS + U85)
def test_conv2d_deep(seed, accelerator, tmp_path):
    """Depths past one u-block, one IFM block and one OFM block."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: conv_graph(rng, big=True), 4, accelerator, tmp_path)


@pytest.mark.parametrize("accelerator", ACCELERATORS + U85)
def test_depthwise(seed, accelerator, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: conv_graph(rng, depthwise=True, big=True), 6, accelerator, tmp_path)


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u85-256"])
def test_depthwise_multiplier(seed, accelerator, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: conv_graph(rng, depthwise=True, multiplier=2), 3, accelerator, tmp_path)


def binary_graph(rng, op, shape_b=None):
    """An int8 ADD/SUB/MUL as ExecuTorch lowers it: RESCALEs into int32 (ADD/SUB: a
    common scale 2*max(s)/2^20, ExecuTorch's insert_rescales idiom), the int32
    op, a RESCALE back to int8."""
    h, w, c = (int(v) for v in rng.integers(1, 9, 3))
    shape = [1, h, w, c]
    shape_b = shape if shape_b is None else shape_b(shape)
    sa, sb, so = (float(v) for v in rng.uniform(0.005, 0.05, 3))
    za, zb, zo = (int(v) for v in rng.integers(-128, 128, 3))
    g = GraphBuilder()
    g.input("a", shape, I8), g.input("b", shape_b, I8)
    out_shape = list(np.broadcast_shapes(tuple(shape), tuple(shape_b)))
    if op == Op.MUL:
        g.rescale("a", 1.0, I32, input_zp=za, name="ra")
        g.rescale("b", 1.0, I32, input_zp=zb, name="rb")
        g.const("shift", np.array([0], np.int8))
        g.tensor("r", out_shape, I32)
        g.op(Op.MUL, ["ra", "rb", "shift"], ["r"])
        g.rescale("r", sa * sb / so, I8, output_zp=zo, name="y")
    else:
        s32 = 2 * max(sa, sb) / 2**20
        g.rescale("a", sa / s32, I32, input_zp=za, name="ra")
        g.rescale("b", sb / s32, I32, input_zp=zb, name="rb")
        g.tensor("r", out_shape, I32)
        g.op(op, ["ra", "rb"], ["r"])
        g.rescale("r", s32 / so, I8, output_zp=zo, name="y")
    g.output("y")
    return g, [rand_int(rng, shape, np.int8), rand_int(rng, shape_b, np.int8)]


@pytest.mark.parametrize("accelerator", ACCELERATORS + U85)
@pytest.mark.parametrize("op", [Op.ADD, Op.SUB, Op.MUL])
def test_binary(seed, accelerator, op, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: binary_graph(rng, op), 4, accelerator, tmp_path)


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u85-256"])
@pytest.mark.parametrize("op", [Op.ADD, Op.MUL])
@pytest.mark.parametrize("broadcast", ["c", "hw", "scalar"])
def test_binary_broadcast(seed, accelerator, op, broadcast, tmp_path):
    rng = np.random.default_rng(seed)
    shape_b = {"c": lambda s: [1, s[1], s[2], 1], "hw": lambda s: [1, 1, 1, s[3]],
               "scalar": lambda s: [1, 1, 1, 1]}[broadcast]
    check_drawn(lambda: binary_graph(rng, op, shape_b), 3, accelerator, tmp_path)


def rescale_graph(rng, out_dtype, per_channel):
    """A standalone RESCALE of int32 data, as the a16w8 convolution's last step:
    Vela writes it as a MUL by the multipliers with OFM_SCALE (1, shift), so the
    62-bit product must be scaled whole."""
    g = GraphBuilder()
    shape = [1, int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(1, 17))]
    n = shape[3] if per_channel else 1
    x = g.input("x", shape, I32)
    wide = out_dtype == DType.INT16
    m = g.const("m", rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32))
    s = g.const("s", rng.integers(36, 42, n).astype(np.int8) - (0 if wide else -2))
    izp = g.const("izp", np.array([0], np.int32))
    ozp = g.const("ozp", np.array([0], np.int16 if wide else np.int8))
    y = g.tensor("y", shape, out_dtype)
    g.op(Op.RESCALE, [x, m, s, izp, ozp], [y], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=per_channel,
         input_unsigned=False, output_unsigned=False)
    g.output(y)
    return g, [rng.integers(-(1 << 24), 1 << 24, size=shape).astype(np.int32)]


def int16_add_graph(rng, op, shape_b=None, swap=False):
    """An int16 ADD/SUB as ptec's A16W8 flow lowers it (ExecuTorch's 12-bit form):
    RESCALEs of int16 into int32 at a common scale 2*max(s)/2^12, the int32 op, a
    RESCALE back to int16. Vela widens each input with an ADD of the scalar 0
    (IFM2_BROADCAST bit 7) and multiplies by the multiplier (a MUL with OFM_SCALE)."""
    h, w, c = (int(v) for v in rng.integers(1, 9, 3))
    shape = [1, h, w, c]
    shape_b = shape if shape_b is None else shape_b(shape)
    sa, sb, so = (float(v) for v in rng.uniform(0.0005, 0.005, 3))
    g = GraphBuilder()
    g.input("a", shape, DType.INT16), g.input("b", shape_b, DType.INT16)
    s32 = 2 * max(sa, sb) / 2**12
    g.rescale("a", sa / s32, I32, name="ra")
    g.rescale("b", sb / s32, I32, name="rb")
    g.tensor("r", list(np.broadcast_shapes(tuple(shape), tuple(shape_b))), I32)
    g.op(op, ["rb", "ra"] if swap else ["ra", "rb"], ["r"])
    g.rescale("r", s32 / so, DType.INT16, name="y")
    g.output("y")
    return g, [rand_int(rng, shape, np.int16) // 4, rand_int(rng, shape_b, np.int16) // 4]


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"])
@pytest.mark.parametrize("op", [Op.ADD, Op.SUB])
@pytest.mark.parametrize("broadcast", ["none", "second", "first"])
def test_int16_add(seed, accelerator, op, broadcast, tmp_path):
    """Was wrong on the U55/U65: the simulator read IFM2_BROADCAST's operand order
    and scalar flags from bits 5 and 6 (they are 6 and 7), so the scalar 0 of the
    widening ADD was read as a tensor. "first": the broadcast operand comes first
    (Vela makes it IFM2 and sets the reversed operand order)."""
    rng = np.random.default_rng(seed)
    shape_b = None if broadcast == "none" else (lambda s: [1, s[1], s[2], 1])
    check_drawn(lambda: int16_add_graph(rng, op, shape_b, swap=broadcast == "first"), 3,
                accelerator, tmp_path)


#: On the U85 Vela writes the RESCALE as POOL NONE with accumulators from IFM2; the
#: per-channel one takes its scales from the scale records (OFM_PRECISION bit 8
#: clear), which the simulator once ignored.
@pytest.mark.parametrize("accelerator,per_channel", [
    ("ethos-u55-128", True), ("ethos-u55-128", False), ("ethos-u65-256", True),
    ("ethos-u85-256", False), ("ethos-u85-256", True), ("ethos-u85-512", True)])
@pytest.mark.parametrize("out_dtype", [DType.INT8, DType.INT16], ids=["int8", "int16"])
def test_rescale_of_int32(seed, accelerator, per_channel, out_dtype, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: rescale_graph(rng, out_dtype, per_channel), 3, accelerator, tmp_path)


def rescale16_graph(rng, out_dtype):
    """int16 -> per-channel RESCALE (scale32, scales 2^-6 to 2^11) -> int32 or int8."""
    shape = [1] + [int(v) for v in rng.integers(1, 7, 2)] + [int(rng.integers(1, 20))]
    m, s = tm.compute_multipliers_and_shifts(np.exp(rng.uniform(-4, 8, shape[3])))
    g = GraphBuilder()
    g.input("x", shape, DType.INT16)
    g.const("m", m.astype(np.int32)), g.const("s", s.astype(np.int8))
    g.const("izp", np.array([0], np.int16))
    g.const("ozp", np.array([0], {I32: np.int32, I8: np.int8}[out_dtype]))
    g.tensor("y", shape, out_dtype)
    g.op(Op.RESCALE, ["x", "m", "s", "izp", "ozp"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True, input_unsigned=False,
         output_unsigned=False)
    g.output("y")
    return g, [rand_int(rng, shape, np.int16)]


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u85-256"])
@pytest.mark.parametrize("out_dtype", [I32, I8], ids=["int32", "int8"])
def test_rescale_of_int16_per_channel(seed, accelerator, out_dtype, tmp_path):
    """Per-channel RESCALE of int16 data (on the U85 a POOL SUM whose OFM takes the
    scale stream's records)."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: rescale16_graph(rng, out_dtype), 3, accelerator, tmp_path)


def pad_after_rescale_graph(rng, shape, per_channel):
    """int32 -> RESCALE (a MUL on the NPU) -> PAD by 1 on H and W, int8."""
    g = GraphBuilder()
    g.input("x", shape, I32)
    n = shape[3] if per_channel else 1
    g.const("m", rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32))
    g.const("s", rng.integers(36, 40, n).astype(np.int8))
    g.const("izp", np.array([0], np.int32)), g.const("ozp", np.array([0], np.int8))
    g.tensor("r", shape, I8)
    g.op(Op.RESCALE, ["x", "m", "s", "izp", "ozp"], ["r"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=per_channel,
         input_unsigned=False, output_unsigned=False)
    g.const_shape("padding", [0, 0, 1, 1, 1, 1, 0, 0])
    g.const("pv", np.array([0], np.int8))
    g.tensor("p", [1, shape[1] + 2, shape[2] + 2, shape[3]], I8)
    g.op(Op.PAD, ["r", "padding", "pv"], ["p"])
    g.output("p")
    return g, [rng.integers(-(1 << 24), 1 << 24, size=shape).astype(np.int32)]


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u65-256"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["global", "per_channel"])
def test_vela_pad_after_elementwise(seed, accelerator, per_channel, tmp_path):
    """A Vela 5.2.0 miscompile (docs/ethos-u-simulator.md, "Vela findings"): a PAD
    whose input an elementwise op makes (here a RESCALE of int32 data, a MUL on the
    U55/U65) gets that op's OFM at the padded tensor's origin instead of one row and
    one column in; the border fill then overwrites its first row and column. The
    simulator runs the stream as written, so its output is the TOSA result's
    interior moved up and left by one, not the TOSA result."""
    rng = np.random.default_rng(seed)
    shape = [1, int(rng.integers(2, 6)), int(rng.integers(2, 7)), int(rng.integers(1, 9))]
    g, inputs = pad_after_rescale_graph(rng, shape, per_channel)
    want = run_graph(g, inputs)[0]
    got = simulate(g, inputs, accelerator, tmp_path)[0]
    h, w = shape[1:3]
    vela_wrote = np.zeros_like(want)
    vela_wrote[:, :h, :w] = want[:, 1:h + 1, 1:w + 1]  # the interior at the origin
    vela_wrote[:, 0], vela_wrote[:, :, 0] = 0, 0  # then the border fill
    np.testing.assert_array_equal(got, vela_wrote)
    assert not np.array_equal(got, want)


def transpose_conv_graph(rng):
    """An int8 TRANSPOSE_CONV2D + per-channel RESCALE: Vela writes a CONV over the IFM
    upscaled with inserted zeros (IFM_UPSCALE ZEROS) and padded."""
    while True:
        ih, iw, ic, oc = (int(v) for v in rng.integers(1, 7, 4))
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        stride = [int(v) for v in rng.integers(1, 3, 2)]
        out_pad = [int(rng.integers(-kh + 1, 1)), int(rng.integers(-kh + 1, 1)),
                   int(rng.integers(-kw + 1, 1)), int(rng.integers(-kw + 1, 1))]
        oh = (ih - 1) * stride[0] + out_pad[0] + out_pad[1] + kh
        ow = (iw - 1) * stride[1] + out_pad[2] + out_pad[3] + kw
        if oh >= 1 and ow >= 1:
            break
    g = GraphBuilder()
    g.input("x", [1, ih, iw, ic], I8)
    g.const("w", rand_int(rng, (oc, kh, kw, ic), np.int8))
    g.const("b", rng.integers(-999, 999, oc).astype(np.int32))
    g.const("xzp", np.array([int(rng.integers(-128, 128))], np.int8))
    g.const("wzp", np.array([0], np.int8))
    g.tensor("acc", [1, oh, ow, oc], I32)
    g.op(Op.TRANSPOSE_CONV2D, ["x", "w", "b", "xzp", "wzp"], ["acc"], out_pad=out_pad,
         stride=stride, acc_type=I32, local_bound=False)
    m, s = tm.compute_multipliers_and_shifts(rng.uniform(1e-3, 1e-2, oc))
    g.const("m", m.astype(np.int32)), g.const("s", s.astype(np.int8))
    g.const("izp", np.array([0], np.int32))
    g.const("ozp", np.array([int(rng.integers(-20, 20))], np.int8))
    g.tensor("y", [1, oh, ow, oc], I8)
    g.op(Op.RESCALE, ["acc", "m", "s", "izp", "ozp"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True, input_unsigned=False,
         output_unsigned=False)
    g.output("y")
    return g, [rand_int(rng, [1, ih, iw, ic], np.int8)]


def fc_graph(rng, oc=None):
    """A fully connected layer as TOSA 1.0 writes it (a 1x1 CONV2D over [N, 1, 1, Cin]),
    `oc` or up to 199 outputs deep: more than one OFM block."""
    n, cin = int(rng.integers(1, 5)), int(rng.integers(1, 200))
    oc = int(rng.integers(1, 200)) if oc is None else oc
    g = GraphBuilder()
    g.input("x", [n, 1, 1, cin], I8)
    xzp, wzp = g.zero_point(int(rng.integers(-128, 128)), I8), g.zero_point(0, I8)
    g.const("w", rand_int(rng, (oc, 1, 1, cin), np.int8))
    g.const("b", rng.integers(-5000, 5000, oc).astype(np.int32))
    g.tensor("acc", [n, 1, 1, oc], I32)
    g.op(Op.CONV2D, ["x", "w", "b", xzp, wzp], ["acc"], pad=[0] * 4, stride=[1, 1],
         dilation=[1, 1], acc_type=I32)
    g.rescale("acc", rng.uniform(1e-4, 3e-3, oc), I8, output_zp=int(rng.integers(-128, 128)),
              name="y")
    g.output("y")
    return g, [rand_int(rng, [n, 1, 1, cin], np.int8)]


def table8_graph(rng):
    """An int8 TABLE: Vela DMAs the 256-byte LUT into SHRAM."""
    shape = [1, *(int(v) for v in rng.integers(1, 9, 3))]
    g = GraphBuilder()
    g.input("x", shape, I8)
    g.const("t", rand_int(rng, [256], np.int8))
    g.tensor("y", shape, I8)
    g.op(Op.TABLE, ["x", "t"], ["y"])
    g.output("y")
    return g, [rand_int(rng, shape, np.int8)]


@pytest.mark.parametrize("family", ["conv", "depthwise", "fully_connected", "transpose_conv",
                                    "table"])
def test_u65_512_dual_core(seed, family, tmp_path):
    """The U65-512 is two 256-MAC cores splitting each OFM block's depth (PARALLEL_MODE
    1): core 0 computes OFM channels 0, 2, 4, ..., core 1 channels 1, 3, 5, ..., each
    from its own scale stream and separately compressed weight stream (WEIGHT1_*,
    SCALE1_*). Every op family with weights, a few graphs each (Vela ~1-3 s a graph);
    and a LUT, which Vela places at the top of one core's 48 KiB SHRAM (the config
    word counts both cores' 96)."""
    rng = np.random.default_rng(seed)
    make = {"conv": lambda: conv_graph(rng, big=True),
            "depthwise": lambda: conv_graph(rng, depthwise=True, big=True),
            "fully_connected": lambda: fc_graph(rng),
            "transpose_conv": lambda: transpose_conv_graph(rng),
            "table": lambda: table8_graph(rng)}[family]
    check_compiled(make, 2, 40, "ethos-u65-512", tmp_path)


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"])
def test_transpose_conv(seed, accelerator, tmp_path):
    """Transposed convolutions: IFM_UPSCALE ZEROS (and the kernel Vela flips). Vela
    takes only some strides and output paddings on the U55/U65: cases it refuses are
    drawn again, and five it compiles must match."""
    rng = np.random.default_rng(seed)
    check_compiled(lambda: transpose_conv_graph(rng), 5, 60, accelerator, tmp_path)


def resize_graph(rng, mode):
    """An int8 RESIZE (NEAREST, or BILINEAR to int32 then RESCALE to int8) with a
    random scale n/d, offset and border per axis (TOSA's constraints)."""
    from ptec.tosa import ResizeMode
    c = int(rng.integers(1, 9))
    dims, scale, offset, border = [], [], [], []
    for _ in range(2):
        while True:
            i, n, d = (int(v) for v in (rng.integers(1, 7), rng.integers(1, 9), rng.integers(1, 9)))
            off = int(rng.integers(-n + 1, n))
            # border so that (i - 1) * n - off + border is a multiple of d, output >= 1
            o = int(rng.integers(1, max(2, (i * n) // d + 2)))
            bor = (o - 1) * d - (i - 1) * n + off
            if -16 * n <= bor < 16 * n and n < 16 * d:
                break
        dims.append((i, o))
        scale += [n, d]
        offset.append(off)
        border.append(bor)
    (ih, oh), (iw, ow) = dims
    g = GraphBuilder()
    g.input("x", [1, ih, iw, c], I8)
    g.const_shape("scale", scale), g.const_shape("offset", offset)
    g.const_shape("border", border)
    bilinear = mode == "bilinear"
    g.tensor("y", [1, oh, ow, c], I32 if bilinear else I8)
    g.op(Op.RESIZE, ["x", "scale", "offset", "border"], ["y"],
         mode=ResizeMode.BILINEAR if bilinear else ResizeMode.NEAREST)
    if bilinear:
        g.rescale("y", 1.0 / (scale[0] * scale[2]), I8, name="q")
        g.output("q")
    else:
        g.output("y")
    return g, [rand_int(rng, [1, ih, iw, c], np.int8)]


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-2048"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_u85_resize(seed, accelerator, mode, tmp_path):
    """U85 NPU_OP_RESIZE: up- and downscaling by n/d, offsets and borders. Cases Vela
    refuses are drawn again; six it compiles must match."""
    rng = np.random.default_rng(seed)
    check_compiled(lambda: resize_graph(rng, mode), 6, 80, accelerator, tmp_path)


def table16_graph(rng, kind):
    """An int16 TABLE (513 entries, int32 out, TOSA's interpolation) of a tanh or
    sigmoid curve, or a random table with small steps."""
    shape = [1] + [int(v) for v in rng.integers(1, 7, 3)]
    t = np.linspace(-float(rng.uniform(2, 8)), float(rng.uniform(2, 8)), 513)
    if kind == "tanh":
        table = np.tanh(t) * 32767
    elif kind == "sigmoid":
        table = (1 / (1 + np.exp(-t)) - 0.5) * 65534
    else:
        table = np.cumsum(rng.integers(-300, 300, 513)) + int(rng.integers(-5000, 5000))
    g = GraphBuilder()
    g.input("x", shape, DType.INT16)
    g.const("t", np.clip(np.round(table), -32768, 32767).astype(np.int16))
    g.tensor("y", shape, I32)
    g.op(Op.TABLE, ["x", "t"], ["y"])
    g.output("y")
    return g, [rand_int(rng, shape, np.int16)]


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-512"])
@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "random"])
def test_u85_int16_table(seed, accelerator, kind, tmp_path):
    """U85 LUT_S16_S32: TOSA's int16 TABLE, base and slope per 128-wide step."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: table16_graph(rng, kind), 3, accelerator, tmp_path)


def table16_s16_graph(rng, kind):
    """table16_graph's TABLE followed by a RESCALE to int16 by exactly 2^-7 (the
    pattern of an int16 SiLU or sigmoid: TFLite's int16 LUT), which Vela 5.2.0 fuses
    into one LUT_S16_S16 activation on the U85."""
    g, inputs = table16_graph(rng, kind)
    shape = g.tensors["y"].shape
    g.outputs.clear()
    g.const("m", np.array([1 << 30], np.int32)), g.const("s", np.array([37], np.int8))
    g.const("izp", np.array([0], np.int32)), g.const("ozp", np.array([0], np.int16))
    g.tensor("z", shape, DType.INT16)
    g.op(Op.RESCALE, ["y", "m", "s", "izp", "ozp"], ["z"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False, input_unsigned=False,
         output_unsigned=False)
    g.output("z")
    return g, inputs


def u85_activations(cmd: bytes) -> list[int]:
    """The U85 ACTIVATION functions (bits 0-4 of NPU_SET_ACTIVATION) a stream sets."""
    w = words(cmd)
    return [int(w[i] >> 16) & 31 for i in command_words(w) if w[i] & 0xffff == 293]


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-512"])
@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "random"])
def test_u85_int16_table_s16(seed, accelerator, kind, tmp_path):
    """U85 LUT_S16_S16 (activation function 8): TOSA's int16 TABLE and RESCALE by
    2^-7 in one pass, the interpolated value rounded half up back to int16."""
    rng = np.random.default_rng(seed)
    for _ in range(3):
        g, inputs = table16_s16_graph(rng, kind)
        assert 8 in u85_activations(vela(g.serialize(), accelerator).cmd_data)
        check(g, inputs, accelerator, tmp_path)


def widened_table_graph(rng, widen: str, s16: bool):
    """An int8 tensor widened to int16 (CAST, or RESCALE by up to 2^8 with an input
    zero point) into table16_graph's int16 TABLE (int32 out), then, with `s16`, the
    RESCALE by 2^-7 to int16: Vela 5.2.0 fuses the widening and the TABLE into one
    U85 op whose IFM is int8 and whose activation is LUT_S16_S32 (or LUT_S16_S16)."""
    g, _ = table16_s16_graph(rng, "random") if s16 else table16_graph(rng, "random")
    shape = g.tensors["x"].shape
    g.inputs.clear()
    g.input("x8", shape, I8)
    before = len(g.operators)
    if widen == "cast":
        g.op(Op.CAST, ["x8"], ["x"])
    else:
        g.const("wm", np.array([int(rng.integers(1 << 30, 1 << 31))], np.int32))
        g.const("ws", np.array([int(rng.integers(22, 31))], np.int8))
        g.const("wizp", np.array([int(rng.integers(-128, 128))], np.int8))
        g.const("wozp", np.array([0], np.int16))
        g.op(Op.RESCALE, ["x8", "wm", "ws", "wizp", "wozp"], ["x"], scale32=True,
             rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False, input_unsigned=False,
             output_unsigned=False)
    # The widening (and its constants) first: the TABLE reads its output.
    g.operators[:] = g.operators[before:] + g.operators[:before]
    return g, [rand_int(rng, shape, np.int8)]


@pytest.mark.parametrize("widen", ["cast", "rescale"])
@pytest.mark.parametrize("s16", [False, True])
def test_u85_widened_int8_into_int16_table(seed, widen, s16, tmp_path):
    """U85: an int8 IFM widened inside the op that applies LUT_S16_S32 / LUT_S16_S16
    (Vela fuses CAST or RESCALE int8 -> int16 with the int16 TABLE after it). Probed
    for LUT_S8_S16 / LUT_S8_S32, which it does not reach (docs/ethos-u-simulator.md)."""
    rng = np.random.default_rng(seed)
    for _ in range(2):
        g, inputs = widened_table_graph(rng, widen, s16)
        assert u85_activations(vela(g.serialize(), "ethos-u85-256").cmd_data) == [8 if s16 else 9]
        check(g, inputs, "ethos-u85-256", tmp_path)


@pytest.mark.parametrize("accelerator", ["ethos-u55-64", "ethos-u55-128", "ethos-u65-256",
                                         "ethos-u65-512"])
@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "random"])
def test_u55_int16_table(seed, accelerator, kind, tmp_path):
    """U55/U65 int16 TABLE: Vela writes three 16-bit LUT passes (TABLE_0 with an int16
    OFM: the fraction x & 127, the slope, the base) and combines them as base * 128 +
    slope * fraction with two MULs and an ADD."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: table16_graph(rng, kind), 3, accelerator, tmp_path)


def argmax_graph(rng, dtype):
    """TOSA ARGMAX over a random axis of a rank-3 or rank-4 int8/int16 tensor with
    few distinct values (ties: the first maximum wins)."""
    shape = [int(v) for v in rng.integers(1, 9, int(rng.integers(3, 5)))]
    axis = int(rng.integers(0, len(shape)))
    shape[axis] = int(rng.integers(1, 300))
    np_dtype = {DType.INT8: np.int8, DType.INT16: np.int16}[dtype]
    hi = int(rng.choice([3, np.iinfo(np_dtype).max]))
    x = rng.integers(-hi - 1, hi + 1, shape).astype(np_dtype)
    g = GraphBuilder()
    g.input("x", shape, dtype)
    g.tensor("y", [s for i, s in enumerate(shape) if i != axis], I32)
    g.op(Op.ARGMAX, ["x"], ["y"], axis=axis, nan_mode=NanPropagationMode.PROPAGATE)
    g.output("y")
    return g, [x]


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-512"])
@pytest.mark.parametrize("dtype", [DType.INT8, DType.INT16], ids=["int8", "int16"])
def test_u85_argmax(seed, accelerator, dtype, tmp_path):
    """U85 POOL ARGMAX_X: the reduced axis along a 1-high kernel, the window
    position scaled down from bit 16 of the accumulator."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: argmax_graph(rng, dtype), 4, accelerator, tmp_path)


def gather_scatter_graph(rng, op):
    """TOSA GATHER (values [N, K, C], int32 indices [N, W] -> [N, W, C]) or SCATTER
    (values_in [N, K, C], unique indices [N, W], input [N, W, C] -> [N, K, C]) of
    int8, int16 or int32 data."""
    n, k, c = int(rng.integers(1, 4)), int(rng.integers(1, 20)), int(rng.integers(1, 24))
    w = int(rng.integers(1, k + 1 if op == "scatter" else 20))
    dtype = [DType.INT8, DType.INT16, DType.INT32][int(rng.integers(0, 3))]
    np_dtype = {DType.INT8: np.int8, DType.INT16: np.int16, DType.INT32: np.int32}[dtype]
    values = rand_int(rng, (n, k, c), np_dtype)
    g = GraphBuilder()
    g.input("v", [n, k, c], dtype), g.input("i", [n, w], I32)
    if op == "gather":
        idx = rng.integers(0, k, (n, w)).astype(np.int32)
        g.tensor("y", [n, w, c], dtype)
        g.op(Op.GATHER, ["v", "i"], ["y"])
        inputs = [values, idx]
    else:
        idx = np.stack([rng.permutation(k)[:w] for _ in range(n)]).astype(np.int32)
        g.input("x", [n, w, c], dtype)
        g.tensor("y", [n, k, c], dtype)
        g.op(Op.SCATTER, ["v", "i", "x"], ["y"])
        inputs = [values, idx, rand_int(rng, (n, w, c), np_dtype)]
    g.output("y")
    return g, inputs


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-1024"])
@pytest.mark.parametrize("op", ["gather", "scatter"])
def test_u85_gather_scatter(seed, accelerator, op, tmp_path):
    """U85 indexed DMA: GATHER is a 2-D/3-D DMA whose source rows come from the
    int32 index array, SCATTER a linear copy then one whose destination rows do."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: gather_scatter_graph(rng, op), 4, accelerator, tmp_path)


def scalar_first_graph(rng, op):
    """A U85 binary op whose first operand is a [1, 1, 1, 1] int32 constant and
    the second a tensor (c - x, c / x, c >> x, c > x, ...)."""
    shape = [1] + [int(v) for v in rng.integers(1, 9, 3)]
    x = rng.integers(-2**31, 2**31, shape, dtype=np.int64)
    c = int(rng.integers(-2**31, 2**31))
    if op in ("ARITHMETIC_RIGHT_SHIFT", "LOGICAL_LEFT_SHIFT"):
        x = rng.integers(0, 32, shape)
    elif op == "INTDIV":
        x[x == 0] = 1
    elif op == "SUB":
        x, c = x // 2, c // 2  # no int32 overflow (TOSA REQUIRE)
    g = GraphBuilder()
    g.input("x", shape, I32)
    g.const("c", np.array([[[[c]]]], np.int32))
    out = DType.BOOL if op in ("GREATER", "GREATER_EQUAL", "EQUAL") else I32
    g.tensor("y", shape, out)
    kwargs = {"round": False} if op == "ARITHMETIC_RIGHT_SHIFT" else {}
    g.op(getattr(Op, op), ["c", "x"], ["y"], **kwargs)
    g.output("y")
    return g, [x.astype(np.int32)]


@pytest.mark.parametrize("op", ["SUB", "INTDIV", "ARITHMETIC_RIGHT_SHIFT", "LOGICAL_LEFT_SHIFT",
                                "GREATER", "BITWISE_AND"])
def test_u85_scalar_ifm(seed, op, tmp_path):
    """U85 elementwise ops with a scalar first operand: IFM_BROADCAST SCALAR, IFM
    storage NONE, the value in OP_SCALAR."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: scalar_first_graph(rng, op), 3, "ethos-u85-256", tmp_path)


def sliced_heads_matmul_graph(t, h, d):
    """Attention scores from one fused qkv tensor: x int8 [1, T, 3*H*D] -> RESHAPE
    [1, T, 3, H, D] -> TRANSPOSE [3, 1, H, T, D] -> SLICE q and k -> RESHAPE [H, T, D]
    -> k TRANSPOSEd -> MATMUL(q, k^T) int32 [H, T, T]."""
    g = GraphBuilder()
    g.input("x", [1, t, 3 * h * d], I8)
    g.const_shape("s5", [1, t, 3, h, d])
    g.tensor("x5", [1, t, 3, h, d], I8)
    g.op(Op.RESHAPE, ["x", "s5"], ["x5"])
    g.tensor("xt", [3, 1, h, t, d], I8)
    g.op(Op.TRANSPOSE, ["x5"], ["xt"], perms=[2, 0, 3, 1, 4])
    for name, i in (("q", 0), ("k", 1)):
        g.const_shape(f"{name}_start", [i, 0, 0, 0, 0])
        g.const_shape(f"{name}_size", [1, 1, h, t, d])
        g.tensor(f"{name}5", [1, 1, h, t, d], I8)
        g.op(Op.SLICE, ["xt", f"{name}_start", f"{name}_size"], [f"{name}5"])
        g.const_shape(f"{name}_s3", [h, t, d])
        g.tensor(f"{name}3", [h, t, d], I8)
        g.op(Op.RESHAPE, [f"{name}5", f"{name}_s3"], [f"{name}3"])
    g.tensor("kt", [h, d, t], I8)
    g.op(Op.TRANSPOSE, ["k3"], ["kt"], perms=[0, 2, 1])
    g.const("za", np.array([0], np.int8)), g.const("zb", np.array([0], np.int8))
    g.tensor("y", [h, t, t], I32)
    g.op(Op.MATMUL, ["q3", "kt", "za", "zb"], ["y"])
    g.output("y")
    return g


def test_vela_matmul_of_sliced_heads(seed, tmp_path):
    """A Vela 5.2.0 miscompile on the U85 (docs/ethos-u-simulator.md, "Vela findings"):
    for q @ k^T of heads sliced from one fused qkv tensor, Vela writes one matrix product
    per head whose IFM_BASE0 stays at head 0's q while IFM2 (k) and the OFM advance, so
    every head gets q[0] @ k[h]^T. The simulator runs the stream as written."""
    rng = np.random.default_rng(seed)
    t, h, d = int(rng.integers(2, 9)), int(rng.integers(2, 5)), 16
    g = sliced_heads_matmul_graph(t, h, d)
    x = rand_int(rng, [1, t, 3 * h * d], np.int8)
    want = run_graph(g, [x])[0]
    got = simulate(g, [x], "ethos-u85-256", tmp_path)[0]
    x5 = x.reshape(1, t, 3, h, d).transpose(2, 0, 3, 1, 4).astype(np.int64)
    q, kt = x5[0, 0], x5[1, 0].transpose(0, 2, 1)
    np.testing.assert_array_equal(want, q @ kt)  # the TOSA executor: every head's own q
    np.testing.assert_array_equal(got, np.repeat(q[:1], h, axis=0) @ kt)
    assert not np.array_equal(got, want)


def pool_graph(rng, kind):
    xs, ys, kernel, stride, pad = pool_case(rng)
    g = GraphBuilder()
    g.input("x", xs, I8)
    g.tensor("y", ys, I8)
    if kind == "avg":
        izp, ozp = (int(v) for v in rng.integers(-128, 128, 2))
        g.const("izp", np.array([izp], np.int8)), g.const("ozp", np.array([ozp], np.int8))
        g.op(Op.AVG_POOL2D, ["x", "izp", "ozp"], ["y"], kernel=kernel, stride=stride, pad=pad,
             acc_type=I32)
    else:
        g.op(Op.MAX_POOL2D, ["x"], ["y"], kernel=kernel, stride=stride, pad=pad,
             nan_mode=NanPropagationMode.PROPAGATE)
    g.output("y")
    return g, [rand_int(rng, xs, np.int8)]


@pytest.mark.parametrize("accelerator", ACCELERATORS + U85)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pool(seed, accelerator, kind, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: pool_graph(rng, kind), 6, accelerator, tmp_path)


def cnn_graph(rng):
    """conv3x3 + relu -> max pool 2x2 -> conv1x1 + relu, added to the pool's output
    (a residual, ExecuTorch's ADD idiom) -> avg pool 2x2."""
    g = GraphBuilder()
    g.input("x", [1, 8, 8, 4], I8)
    zp = g.zero_point(0, I8)

    def conv(name, src, cin, cout, k, scale):
        g.const(f"{name}_w", rand_int(rng, (cout, k, k, cin), np.int8))
        g.const(f"{name}_b", rng.integers(-2000, 2000, cout).astype(np.int32))
        h, w = g.tensors[src].shape[1:3]
        g.tensor(f"{name}_acc", [1, h, w, cout], I32)
        g.op(Op.CONV2D, [src, f"{name}_w", f"{name}_b", zp, zp], [f"{name}_acc"],
             pad=[k // 2] * 4, stride=[1, 1], dilation=[1, 1], acc_type=I32)
        y = g.rescale(f"{name}_acc", rng.uniform(0.5, 1.5, cout) * scale, I8, output_zp=-128,
                      name=f"{name}_q")
        g.tensor(f"{name}_relu", y.shape, I8)
        g.op(Op.CLAMP, [y.name], [f"{name}_relu"], min_val=-128, max_val=127,
             nan_mode=NanPropagationMode.PROPAGATE)
        return f"{name}_relu"

    c1 = conv("c1", "x", 4, 8, 3, 2e-3)
    g.tensor("p1", [1, 4, 4, 8], I8)
    g.op(Op.MAX_POOL2D, [c1], ["p1"], kernel=[2, 2], stride=[2, 2], pad=[0, 0, 0, 0],
         nan_mode=NanPropagationMode.PROPAGATE)
    c2 = conv("c2", "p1", 8, 8, 1, 4e-3)
    sa, sb, so = 0.02, 0.03, 0.04
    s32 = 2 * max(sa, sb) / 2**20
    g.rescale(c2, sa / s32, I32, input_zp=-128, name="ra")
    g.rescale("p1", sb / s32, I32, input_zp=-128, name="rb")
    g.tensor("sum", [1, 4, 4, 8], I32)
    g.op(Op.ADD, ["ra", "rb"], ["sum"])
    g.rescale("sum", s32 / so, I8, output_zp=-10, name="res")
    g.tensor("y", [1, 2, 2, 8], I8)
    g.const("pzp", np.array([-10], np.int8))
    g.op(Op.AVG_POOL2D, ["res", "pzp", "pzp"], ["y"], kernel=[2, 2], stride=[2, 2],
         pad=[0, 0, 0, 0], acc_type=I32)
    g.output("y")
    return g, [rand_int(rng, [1, 8, 8, 4], np.int8)]


@pytest.mark.parametrize("accelerator", ACCELERATORS + U85)
def test_small_cnn(seed, accelerator, tmp_path):
    rng = np.random.default_rng(seed)
    check_drawn(lambda: cnn_graph(rng), 2, accelerator, tmp_path)


def matmul_graph(rng):
    """An int8 (batched) MATMUL with zero points, RESCALEd to int8."""
    n, h, cc, w = (int(v) for v in rng.integers(1, 9, 4))
    a, b = rand_int(rng, (n, h, cc), np.int8), rand_int(rng, (n, cc, w), np.int8)
    za, zb, zo = (int(v) for v in rng.integers(-128, 128, 3))
    g = GraphBuilder()
    g.input("a", a.shape, I8), g.input("b", b.shape, I8)
    g.const("za", np.array([za], np.int8)), g.const("zb", np.array([zb], np.int8))
    g.tensor("acc", [n, h, w], I32)
    g.op(Op.MATMUL, ["a", "b", "za", "zb"], ["acc"])
    g.rescale("acc", float(rng.uniform(1e-4, 1e-3)), I8, output_zp=zo, name="y")
    g.output("y")
    return g, [a, b]


def matmul16_graph(rng):
    """An int16 (batched) MATMUL into int48, RESCALEd (scale16) to int16."""
    from test_tosa_executor import add_rescale, scale16
    n, h, w = (int(v) for v in rng.integers(1, 9, 3))
    cc = int(rng.integers(1, 80))
    a, b = rand_int(rng, (n, h, cc), np.int16), rand_int(rng, (n, cc, w), np.int16)
    g = GraphBuilder()
    g.input("a", a.shape, DType.INT16), g.input("b", b.shape, DType.INT16)
    g.const("z", np.array([0], np.int16))
    g.tensor("acc", [n, h, w], DType.INT48)
    g.op(Op.MATMUL, ["a", "b", "z", "z"], ["acc"])
    m, sh = scale16(rng, 1, 2.0**-30 / cc, 2.0**-18)
    add_rescale(g, "acc", "y", [n, h, w], DType.INT16, m, sh)
    g.output("y")
    return g, [a, b]


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-512"])
def test_u85_int16_matmul(seed, accelerator, tmp_path):
    """U85 matrix product of int16 operands in 48-bit accumulators (ACC_FORMAT I48),
    the global 16-bit OFM scale."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: matmul16_graph(rng), 4, accelerator, tmp_path)


def matmul_per_channel_graph(m, n, k, scales):
    """x int8 [1, M, K] @ w int8 [1, K, N] -> int32 -> RESCALE per output column
    (N multipliers) -> int8."""
    g = GraphBuilder()
    g.input("a", [1, m, k], I8), g.input("b", [1, k, n], I8)
    g.const("z", np.array([0], np.int8))
    g.tensor("acc", [1, m, n], I32)
    g.op(Op.MATMUL, ["a", "b", "z", "z"], ["acc"])
    g.rescale("acc", scales, I8, name="y")
    g.output("y")
    return g


def test_vela_matmul_per_channel_rescale(seed, tmp_path):
    """Vela finding (5.2.0, U85): a MATMUL whose int32 result is RESCALEd per output
    column is compiled with one global OFM_SCALE, column 0's multiplier and shift, for
    every column; the U55 and U65 streams are right. The simulator's output is
    exactly the TOSA result with column 0's scale everywhere, and not TOSA's."""
    rng = np.random.default_rng(seed)
    m, n, k = (int(v) for v in rng.integers(2, 9, 3))
    scales = rng.uniform(1e-3, 4e-3, n)
    scales[1] = scales[0] * 2  # column 1's scale differs for sure
    a, b = rand_int(rng, (1, m, k), np.int8), rand_int(rng, (1, k, n), np.int8)
    g = matmul_per_channel_graph(m, n, k, scales)
    want = run_graph(g, [a, b])[0]
    column0 = run_graph(matmul_per_channel_graph(m, n, k, np.full(n, scales[0])), [a, b])[0]
    assert not np.array_equal(want, column0)
    got = simulate(g, [a, b], "ethos-u85-256", tmp_path)[0]
    np.testing.assert_array_equal(got, column0)
    np.testing.assert_array_equal(simulate(g, [a, b], "ethos-u55-128", tmp_path)[0], want)


@pytest.mark.parametrize("src,dst", [(I32, I8), (I32, DType.INT16), (DType.INT16, I8)],
                         ids=["i32-i8", "i32-i16", "i16-i8"])
def test_vela_narrowing_cast_saturates(seed, src, dst, tmp_path):
    """Vela finding (5.2.0, U55 and U65): a narrowing integer CAST, which TOSA defines
    as keeping the low bits (wrap-around), is compiled as an ADD of 0 clamped to the
    output type's range, so it saturates. The simulator's output is exactly the
    saturated values on the U55 and TOSA's on the U85 (clip range NONE: wrap)."""
    rng = np.random.default_rng(seed)
    np_src, np_dst = (np.dtype({I8: np.int8, DType.INT16: np.int16, I32: np.int32}[t])
                      for t in (src, dst))
    shape = [1] + [int(v) for v in rng.integers(1, 7, 3)]
    x = rand_int(rng, shape, np_src.type)
    g = GraphBuilder()
    g.input("x", shape, src)
    g.tensor("y", shape, dst)
    g.op(Op.CAST, ["x"], ["y"])
    g.output("y")
    want = run_graph(g, [x])[0]
    np.testing.assert_array_equal(want, x.astype(np_dst))  # TOSA: the low bits
    info = np.iinfo(np_dst)
    saturated = np.clip(x, info.min, info.max).astype(np_dst)
    assert not np.array_equal(want, saturated)
    for accelerator in ("ethos-u55-128", "ethos-u65-256"):
        np.testing.assert_array_equal(simulate(g, [x], accelerator, tmp_path)[0], saturated)
    np.testing.assert_array_equal(simulate(g, [x], "ethos-u85-256", tmp_path)[0], want)


@pytest.mark.parametrize("src,dst", [(DType.BOOL, I8), (I8, DType.BOOL), (I32, DType.BOOL),
                                     (I8, I32)], ids=["bool-i8", "i8-bool", "i32-bool", "i8-i32"])
def test_u85_cast(seed, src, dst, tmp_path):
    """U85 CASTs to and from bool (a compare with a scalar IFM2, storage NONE, or a
    chained pair of ops) and widening."""
    rng = np.random.default_rng(seed)
    shape = [1] + [int(v) for v in rng.integers(1, 7, 3)]
    x = (rng.random(shape) < 0.5 if src == DType.BOOL
         else rand_int(rng, shape, {I8: np.int8, I32: np.int32}[src]))
    x.reshape(-1)[0] = 0
    g = GraphBuilder()
    g.input("x", shape, src)
    g.tensor("y", shape, dst)
    g.op(Op.CAST, ["x"], ["y"])
    g.output("y")
    check(g, [x], "ethos-u85-256", tmp_path)


def conv3d_graph(rng):
    """An int8 CONV3D (stride 1, padding 0 or 1 per side, zero points) into int32,
    RESCALEd per channel to int8."""
    d, h, w, c = (int(v) for v in rng.integers(1, 6, 4))
    oc = int(rng.integers(1, 9))
    pad = [int(v) for v in rng.integers(0, 2, 6)]
    k = [int(rng.integers(1, min(3, n + pad[2 * i] + pad[2 * i + 1]) + 1))
         for i, n in enumerate((d, h, w))]
    out = [n + pad[2 * i] + pad[2 * i + 1] - k[i] + 1 for i, n in enumerate((d, h, w))]
    xzp = int(rng.integers(-128, 128))
    g = GraphBuilder()
    g.input("x", [1, d, h, w, c], I8)
    g.const("w", rand_int(rng, (oc, *k, c), np.int8))
    g.const("b", rng.integers(-5000, 5000, oc).astype(np.int32))
    g.const("xzp", np.array([xzp], np.int8)), g.const("wzp", np.array([0], np.int8))
    g.tensor("acc", [1, *out, oc], I32)
    g.op(Op.CONV3D, ["x", "w", "b", "xzp", "wzp"], ["acc"], pad=pad, stride=[1, 1, 1],
         dilation=[1, 1, 1], acc_type=I32)
    g.rescale("acc", rng.uniform(1e-3, 1e-2, oc), I8, name="y")
    g.output("y")
    return g, [rand_int(rng, (1, d, h, w, c), np.int8)]


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-512"])
def test_u85_conv3d(seed, accelerator, tmp_path):
    """U85 CONV3D: one CONV per kernel depth slice, each after the first with acc_input
    IFM2 (its accumulators start from the previous slices' int32 sums)."""
    rng = np.random.default_rng(seed)
    check_compiled(lambda: conv3d_graph(rng), 3, 12, accelerator, tmp_path)


def int48_constant_graph(rng):
    """An INT48 constant (extremes included) RESCALEd (scale16) to int32 and added to an
    int32 input."""
    from test_tosa_executor import add_rescale, scale16
    shape = [1] + [int(v) for v in rng.integers(1, 6, 3)]
    c48 = rng.integers(-(2**47), 2**47, shape)
    c48.reshape(-1)[:2] = [-(2**47), 2**47 - 1][:c48.size]
    g = GraphBuilder()
    g.input("a", shape, I32)
    g.const("c48", c48, DType.INT48)
    m, s = scale16(rng, 1, 2.0**-20, 2.0**-18)
    add_rescale(g, "c48", "r", shape, I32, m, s)
    g.tensor("y", shape, I32)
    g.op(Op.ADD, ["r", "a"], ["y"])
    g.output("y")
    return g, [rng.integers(-2**20, 2**20, shape).astype(np.int32)]


def test_u85_int48_constant(seed, tmp_path):
    """U85 POOL NONE with accumulators from a 64-bit (precision B64) IFM2: Vela's RESCALE
    of an INT48 constant."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: int48_constant_graph(rng), 3, "ethos-u85-256", tmp_path)


def bool_graph(rng, op):
    """SELECT(cond, a, b) of int8/int16/int32 data, REDUCE_ALL/ANY over a random axis,
    or LOGICAL_AND/OR/XOR of bool tensors."""
    shape = [1] + [int(v) for v in rng.integers(1, 7, 3)]
    g = GraphBuilder()
    g.input("p", shape, DType.BOOL)
    p = rng.random(shape) < 0.5
    if op == "SELECT":
        dtype = [I8, DType.INT16, I32][int(rng.integers(0, 3))]
        np_dtype = {I8: np.int8, DType.INT16: np.int16, I32: np.int32}[dtype]
        g.input("a", shape, dtype), g.input("b", shape, dtype)
        g.tensor("y", shape, dtype)
        g.op(Op.SELECT, ["p", "a", "b"], ["y"])
        inputs = [p, rand_int(rng, shape, np_dtype), rand_int(rng, shape, np_dtype)]
    elif op in ("REDUCE_ALL", "REDUCE_ANY"):
        axis = int(rng.integers(1, 4))
        p = rng.random(shape) < (0.9 if op == "REDUCE_ALL" else 0.1)
        g.tensor("y", [1 if i == axis else d for i, d in enumerate(shape)], DType.BOOL)
        g.op(getattr(Op, op), ["p"], ["y"], axis=axis)
        inputs = [p]
    elif op == "LOGICAL_NOT":
        g.tensor("y", shape, DType.BOOL)
        g.op(Op.LOGICAL_NOT, ["p"], ["y"])
        inputs = [p]
    else:
        g.input("q", shape, DType.BOOL)
        g.tensor("y", shape, DType.BOOL)
        g.op(getattr(Op, op), ["p", "q"], ["y"])
        inputs = [p, rng.random(shape) < 0.5]
    g.output("y")
    return g, inputs


@pytest.mark.parametrize("op", ["SELECT", "REDUCE_ALL", "REDUCE_ANY", "LOGICAL_AND",
                                "LOGICAL_XOR", "LOGICAL_NOT"])
def test_u85_bool_ops(seed, op, tmp_path):
    """U85 compares give all ones for true (Vela ANDs them with 1 for a TOSA bool and
    uses them as bit masks in SELECT's (m & a) | (b &~ m) and in REDUCE_ALL/ANY);
    LOGICAL_NOT is a chain of three ops, the middle one reading and writing the
    chaining buffer."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: bool_graph(rng, op), 3, "ethos-u85-256", tmp_path)


@pytest.mark.parametrize("accelerator", U85)
def test_u85_matmul(seed, accelerator, tmp_path):
    """U85 NPU_OP_CONV with weights from IFM2 (Vela transposes B first)."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: matmul_graph(rng), 4, accelerator, tmp_path)


@pytest.mark.parametrize("accelerator", U85 + ["ethos-u85-2048"])
@pytest.mark.parametrize("depthwise", [False, True])
def test_u85_int16_conv(seed, accelerator, depthwise, tmp_path):
    """EXT-INT16 CONV2D / DEPTHWISE_CONV2D (int16 x int8, int48 bias up to 2^46) RESCALEd
    per channel to int16: U85 48-bit accumulators, EncodeBias48 records (48-bit bias,
    15-bit scale), the 16-bit weight order."""
    from test_tosa_executor import add_rescale, conv_int16, scale16
    rng = np.random.default_rng(seed)
    for _ in range(4):
        c = conv_case(rng, depthwise)
        g = GraphBuilder()
        g.input("x", c["x"], DType.INT16)
        conv_int16(rng, g, "x", c, depthwise)
        m16, s16 = scale16(rng, c["oc"], 2.0**-12, 2.0**-3)
        add_rescale(g, "c_acc", "y", c["out"], DType.INT16, m16, s16)
        g.output("y")
        check(g, [rand_int(rng, c["x"], np.int16)], accelerator, tmp_path)


def data_movement_graph(rng, op, dtype, axes=3):
    """A TRANSPOSE (random permutation of H, W, C) or REVERSE (random axis of the first
    `axes`) of int8 or int16 data: on the U85, OFM transpose / reverse of a POOL; on
    the U55 a REVERSE is a POOL writing with a negative stride (Vela refuses C)."""
    shape = [1] + [int(v) for v in rng.integers(1, 9, 3)]
    g = GraphBuilder()
    g.input("x", shape, dtype)
    if op == Op.TRANSPOSE:
        perm = [0] + [int(v) + 1 for v in rng.permutation(3)]
        g.tensor("y", [shape[p] for p in perm], dtype)
        g.op(Op.TRANSPOSE, ["x"], ["y"], perms=perm)
    else:
        g.tensor("y", shape, dtype)
        g.op(Op.REVERSE, ["x"], ["y"], axis=int(rng.integers(1, axes + 1)))
    g.output("y")
    npdt = np.int8 if dtype == I8 else np.int16
    return g, [rand_int(rng, shape, npdt)]


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u85-256", "ethos-u85-512"])
@pytest.mark.parametrize("op", [Op.TRANSPOSE, Op.REVERSE])
def test_transpose_reverse(seed, accelerator, op, tmp_path):
    rng = np.random.default_rng(seed)
    for _ in range(4):
        for dtype in (I8, DType.INT16):
            g, inputs = data_movement_graph(rng, op, dtype, 2 if "u55" in accelerator else 3)
            check(g, inputs, accelerator, tmp_path)


#: U85 elementwise modes beyond ADD/SUB/MUL/MIN/MAX: TOSA op -> (dtypes, unary).
U85_ELEMENTWISE = {
    Op.ABS: ((I32,), True), Op.CLZ: ((I32,), True), Op.BITWISE_NOT: ((I8, DType.INT16, I32), True),
    Op.BITWISE_AND: ((I8, DType.INT16, I32), False), Op.BITWISE_OR: ((I8, DType.INT16, I32), False),
    Op.BITWISE_XOR: ((I8, DType.INT16, I32), False),
    Op.LOGICAL_LEFT_SHIFT: ((I8, DType.INT16, I32), False),
    Op.LOGICAL_RIGHT_SHIFT: ((I8, DType.INT16, I32), False),
    Op.ARITHMETIC_RIGHT_SHIFT: ((I8, DType.INT16, I32), False),
    Op.EQUAL: ((I32,), False), Op.GREATER: ((I32,), False), Op.GREATER_EQUAL: ((I32,), False),
    Op.INTDIV: ((I32,), False),
}


def u85_elementwise_graph(rng, op, dtype):
    """One TOSA elementwise op on random data (shift amounts within the type, divisors
    non-zero, equal elements for EQUAL), IFM2 broadcast along C half the time."""
    dtypes, unary = U85_ELEMENTWISE[op]
    npdt = {I8: np.int8, DType.INT16: np.int16, I32: np.int32}[dtype]
    shape = [1] + [int(v) for v in rng.integers(1, 7, 3)]
    shape_b = [1, shape[1], shape[2], 1] if rng.random() < 0.5 else shape
    out_shape = shape
    g = GraphBuilder()
    g.input("a", shape, dtype)
    a = rand_int(rng, shape, npdt)
    inputs, names = [a], ["a"]
    if not unary:
        g.input("b", shape_b, dtype)
        b = rand_int(rng, shape_b, npdt)
        if op in (Op.LOGICAL_LEFT_SHIFT, Op.LOGICAL_RIGHT_SHIFT, Op.ARITHMETIC_RIGHT_SHIFT):
            b = rng.integers(0, 8 * np.dtype(npdt).itemsize, shape_b).astype(npdt)
        elif op == Op.EQUAL:
            b = np.where(rng.random(shape_b) < 0.5, a[..., :shape_b[3]], b).astype(npdt)
        elif op == Op.INTDIV:
            b = (b // 4096).astype(npdt)
            b[b == 0] = 3
        inputs.append(b), names.append("b")
    out_dtype = DType.BOOL if op in (Op.EQUAL, Op.GREATER, Op.GREATER_EQUAL) else dtype
    g.tensor("y", out_shape, out_dtype)
    attrs = {"round": bool(rng.random() < 0.5)} if op == Op.ARITHMETIC_RIGHT_SHIFT else {}
    g.op(op, names, ["y"], **attrs)
    g.output("y")
    return g, inputs


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-1024"])
@pytest.mark.parametrize("op", sorted(U85_ELEMENTWISE, key=lambda o: o.name), ids=lambda o: o.name)
def test_u85_elementwise_modes(seed, accelerator, op, tmp_path):
    """LRELU-free modes of the U85's NPU_OP_ELEMENTWISE: ABS, CLZ, SHR (with and
    without rounding, the OFM round mode), SHL, LSR (on the IFM element's bits), DIV,
    CMP_EQ/GE/GT, AND/OR/XOR/NOT; 8/16-bit results of the shifts and bitwise ops wrap
    (activation clip range NONE)."""
    rng = np.random.default_rng(seed)
    for dtype in U85_ELEMENTWISE[op][0]:
        for _ in range(2):
            g, inputs = u85_elementwise_graph(rng, op, dtype)
            check(g, inputs, accelerator, tmp_path)


@pytest.mark.parametrize("op", [Op.ARITHMETIC_RIGHT_SHIFT, Op.CLZ, Op.ABS], ids=lambda o: o.name)
def test_u55_elementwise_modes(seed, op, tmp_path):
    """U55 SHR (rounding in the OFM round mode: NATURAL for round = true, as on the
    U85), CLZ and ABS of int32 data."""
    rng = np.random.default_rng(seed)
    check_drawn(lambda: u85_elementwise_graph(rng, op, I32), 4, "ethos-u55-128", tmp_path)


@pytest.mark.parametrize("accelerator", ["ethos-u85-256", "ethos-u85-512"])
@pytest.mark.parametrize("values", [3, 5, 12])
def test_u85_fwd_lut(seed, accelerator, values, tmp_path):
    """Deep convolutions whose weights take a few values: Vela picks the U85's FWD
    format with a (small) LUT, or raw bytes, interleaved across cores on U85-512."""
    rng = np.random.default_rng(seed)
    for _ in range(3):
        g, inputs = conv_graph(rng, big=True)
        w = g.tensors["w"]
        choice = rng.choice(np.arange(-120, 120), values, replace=False)
        w.data = rng.choice(choice, size=np.asarray(w.data).size).astype(np.int8).reshape(
            np.asarray(w.data).shape)
        check(g, inputs, accelerator, tmp_path)


@pytest.mark.parametrize("accelerator", ["ethos-u85-1024", "ethos-u85-2048"])
def test_u85_wide(seed, accelerator, tmp_path):
    """Four cores: four SWD weight streams (WEIGHT, WEIGHT1..3) or interleaved FWD."""
    rng = np.random.default_rng(seed)
    for make in (lambda: conv_graph(rng, big=True), lambda: conv_graph(rng, depthwise=True, big=True),
                 lambda: cnn_graph(rng)):
        g, inputs = make()
        check(g, inputs, accelerator, tmp_path)


# ------------------------------------------------------------ malformed streams

STATUS = {"ok": 0, "header": 2, "config": 3, "truncated": 4, "unknown_command": 5,
          "register_range": 6, "region_access": 7, "weight_stream": 8, "unsupported_op": 9,
          "not_simulated": 10, "workspace": 11, "work_budget": 12}


def words(data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.uint32).copy()


def stream_start(cmd: np.ndarray) -> int:
    """Word index of the first command (after the COP1 driver actions)."""
    i = 1
    while (cmd[i] & 0xff) != 2:
        i += 3 if (cmd[i] & 0xff) == 1 else 1
    return i + 1


def command_words(cmd: np.ndarray):
    """Indices of the command words (not cmd1 payloads) of the stream."""
    i = stream_start(cmd)
    while i < len(cmd):
        yield i
        i += 2 if cmd[i] & 0x4000 else 1


def find_cmd(cmd: np.ndarray, opcode: int) -> int:
    i = stream_start(cmd)
    while i < len(cmd):
        if (cmd[i] & 0x3ff) == opcode and ((cmd[i] >> 14) & 1) == ((opcode >> 14) & 1 if opcode > 0x3ff else (cmd[i] >> 14) & 1):
            return i
        i += 2 if cmd[i] & 0x4000 else 1
    raise AssertionError(f"opcode {opcode} not in the stream")


@pytest.fixture(scope="module")
def conv_stream():
    g, inputs = conv_graph(np.random.default_rng(7), big=True)
    out = vela(g.serialize(), "ethos-u55-128")
    scratch = bytearray(out.scratch_size)
    io = out.inputs[0]
    scratch[io.offset:io.offset + io.nbytes] = inputs[0].tobytes()
    return out, bytes(scratch)


def run_case(out, scratch, tmp, cmd=None, weights=None, accelerator="ethos-u55-128",
             flavour="host"):
    cmd = out.cmd_data if cmd is None else (cmd.tobytes() if isinstance(cmd, np.ndarray) else cmd)
    status, log, _ = run_sim(cmd, [out.weight_data if weights is None else weights, scratch],
                             accelerator, tmp, flavour)
    return status, log


def with_cmd1_payload(cmd, opcode, value):
    c = cmd.copy()
    i = stream_start(c)
    while i < len(c):
        if c[i] & 0x4000 and (c[i] & 0x3ff) == opcode:
            c[i + 1] = value
            return c
        i += 2 if c[i] & 0x4000 else 1
    raise AssertionError(opcode)


def test_malformed_named(conv_stream, tmp_path):
    out, scratch = conv_stream
    cmd = words(out.cmd_data)
    assert run_case(out, scratch, tmp_path)[0] == STATUS["ok"]
    bad = cmd.copy()
    bad[0] = int.from_bytes(b"COP9", "little")
    assert run_case(out, scratch, tmp_path, bad)[0] == STATUS["header"]
    status, log = run_case(out, scratch, tmp_path, accelerator="ethos-u55-256")
    assert status == STATUS["config"] and "128 MACs" in log, log
    # The STOP replaced by a wait: the stream runs off its end.
    bad = cmd.copy()
    bad[-1] = 0x11
    assert run_case(out, scratch, tmp_path, bad)[0] == STATUS["truncated"]
    # The COMMAND_STREAM action claims more words than the payload has.
    bad = cmd.copy()
    bad[stream_start(cmd) - 1] += 0x100 << 16
    assert run_case(out, scratch, tmp_path, bad)[0] == STATUS["truncated"]
    bad = cmd.copy()
    bad[stream_start(cmd)] = (bad[stream_start(cmd)] & 0xffff0000) | 0x1ff
    status, log = run_case(out, scratch, tmp_path, bad)
    assert status == STATUS["unknown_command"] and "511" in log, log
    # The OFM moved past the end of the scratch.
    bad = with_cmd1_payload(cmd, 16, len(scratch) - 4)
    status, log = run_case(out, scratch, tmp_path, bad)
    assert status == STATUS["region_access"] and "OFM" in log, log
    # A weight stream cut to 16 bytes.
    bad = with_cmd1_payload(cmd, 33, 16)
    status, log = run_case(out, scratch, tmp_path, bad)
    assert status == STATUS["weight_stream"], log
    # Weights of a second core (U65-512 only).
    bad = np.concatenate([cmd[:stream_start(cmd)], np.array([0x4000 | 144, 0], np.uint32),
                          cmd[stream_start(cmd):]])
    bad[stream_start(cmd) - 1] += 2 << 16
    assert run_case(out, scratch, tmp_path, bad)[0] == STATUS["unsupported_op"]
    # A region that is not there.
    status, log, _ = run_sim(out.cmd_data, [None, scratch], "ethos-u55-128", tmp_path)
    assert status == STATUS["region_access"] and "region 0" in log, log


def test_work_budget_named(conv_stream, tmp_path):
    """A run whose ops need more operations than the caller's budget stops at the
    first op past it, before doing its work, with a named status; exactly the
    stream's MACs is enough."""
    out, scratch = conv_stream
    status, log, _ = run_sim(out.cmd_data, [out.weight_data, scratch], "ethos-u55-128",
                             tmp_path)
    assert status == STATUS["ok"], log
    macs = int(log.split(" macs ")[1].split()[0])
    status, log, after = run_sim(out.cmd_data, [out.weight_data, scratch], "ethos-u55-128",
                                 tmp_path, budget=100)
    assert status == STATUS["work_budget"] and "work budget exceeded" in log, log
    assert "NPU_OP_CONV would do" in log and "ops 0 macs 0" in log, log
    assert after[1] == scratch  # the refused op wrote nothing
    # The dilated kernel's extent bounds the MACs from above; an undilated conv's cost
    # is its MACs exactly.
    status, log, _ = run_sim(out.cmd_data, [out.weight_data, scratch], "ethos-u55-128",
                             tmp_path, budget=macs * 4)
    assert status == STATUS["ok"], log


def test_u85_malformed_named(tmp_path):
    """U85 streams: the other products' streams and opcodes, and what the
    simulator does not model, each fail with a named status."""
    g, inputs = cnn_graph(np.random.default_rng(3))
    out = vela(g.serialize(), "ethos-u85-256")
    scratch = bytearray(out.scratch_size)
    io = out.inputs[0]
    scratch[io.offset:io.offset + io.nbytes] = inputs[0].tobytes()
    scratch = bytes(scratch)
    cmd = words(out.cmd_data)
    run = lambda c=None, acc="ethos-u85-256": run_case(out, scratch, tmp_path, c, accelerator=acc)
    assert run()[0] == STATUS["ok"]
    status, log = run(acc="ethos-u55-256")
    assert status == STATUS["config"] and "product 2" in log, log
    status, log = run(acc="ethos-u85-512")
    assert status == STATUS["config"] and "256 MACs" in log, log
    u55 = vela(g.serialize(), "ethos-u55-256")
    status, log, _ = run_sim(u55.cmd_data, [u55.weight_data, scratch], "ethos-u85-256", tmp_path)
    assert status == STATUS["config"], log
    first = stream_start(cmd)
    # A U55-only opcode (IFM_IB_END) is no U85 command.
    bad = cmd.copy()
    bad[first] = 269
    status, log = run(bad)
    assert status == STATUS["unknown_command"] and "Ethos-U85" in log, log
    # NPU_OP_RESIZE in REPLICATE mode and chaining with accumulators: valid, not
    # simulated.
    bad = cmd.copy()
    bad[first] = 7 | 1 << 16
    status, log = run(bad)
    assert status == 10 and "resize mode 1" in log, log
    i = find_cmd(cmd, 292)  # ACC_FORMAT
    bad = cmd.copy()
    bad[i] |= 1 << 20  # acc_input KEEP
    status, log = run(bad)
    assert status == 10 and "chaining" in log, log
    # An IFM that reads the chaining buffer before any op wrote it.
    i = find_cmd(cmd, 261)  # the first IFM_PRECISION
    bad = cmd.copy()
    bad[i] |= 2 << 30  # storage CHAINED
    status, log = run(bad)
    assert status == STATUS["register_range"] and "chaining buffer" in log, log


def compiled_stream(g, inputs, accelerator, tmp):
    """(command words, run) of g compiled for `accelerator`, its inputs in the scratch:
    run(words) runs a changed stream and returns (status, log); the stream as Vela
    wrote it must run."""
    out = vela(g.serialize(), accelerator)
    scratch = bytearray(out.scratch_size)
    for io, x in zip(out.inputs, inputs):
        scratch[io.offset:io.offset + io.nbytes] = x.tobytes()

    def run(c=None):
        return run_case(out, bytes(scratch), tmp, c, accelerator=accelerator)
    assert run()[0] == STATUS["ok"]
    return words(out.cmd_data), run


def test_u85_int16_matmul_malformed(tmp_path):
    """A matrix product's accumulator format past I48 is out of range."""
    cmd, run = compiled_stream(*matmul16_graph(np.random.default_rng(1)), "ethos-u85-256",
                               tmp_path)
    conv = next(i for i in command_words(cmd) if cmd[i] & 0xffff == 2)  # CONV (matmul)
    acc = max(i for i in command_words(cmd) if i < conv and cmd[i] & 0xffff == 292)
    bad = cmd.copy()
    bad[acc] = (bad[acc] & ~np.uint32(3 << 16)) | np.uint32(2 << 16)  # ACC_FORMAT 2
    status, log = run(bad)
    assert status == STATUS["register_range"] and "acc_format 2" in log, log


def test_u85_indexed_dma_malformed(tmp_path):
    """An index past DMA0_IDX_MAX, an index array outside its region and stride mode 3
    are named errors, before the DMA writes out of bounds."""
    rng = np.random.default_rng(5)
    g, inputs = gather_scatter_graph(rng, "gather")
    out = vela(g.serialize(), "ethos-u85-256")
    k = g.tensors["v"].shape[1]
    cmd, run = compiled_stream(g, inputs, "ethos-u85-256", tmp_path)
    src = find_cmd(cmd, 304)  # DMA0_SRC_REGION: D2/D3 with idx_mode
    assert (cmd[src] >> 16) & (1 << 11), hex(cmd[src])
    bad_inputs = [inputs[0], inputs[1].copy()]
    bad_inputs[1].flat[-1] = k
    scratch = bytearray(out.scratch_size)
    for io, x in zip(out.inputs, bad_inputs):
        scratch[io.offset:io.offset + io.nbytes] = x.tobytes()
    status, log = run_case(out, bytes(scratch), tmp_path, accelerator="ethos-u85-256")
    assert status == STATUS["region_access"] and f"DMA index {k} " in log, log
    bad = with_cmd1_payload(cmd, 55, out.scratch_size - 2)  # DMA0_IDX at the scratch's end
    status, log = run(bad)
    assert status == STATUS["region_access"] and "DMA index array" in log, log
    bad = cmd.copy()
    bad[src] |= np.uint32(3 << 25)  # stride mode 3
    status, log = run(bad)
    assert status == STATUS["register_range"] and "DMA stride mode 3" in log, log


def test_u85_scalar_ifm_malformed(tmp_path):
    """Two scalar operands are valid but not simulated; a NONE storage IFM that is
    not a scalar is not simulated either."""
    cmd, run = compiled_stream(*scalar_first_graph(np.random.default_rng(3), "SUB"),
                               "ethos-u85-256", tmp_path)
    i = find_cmd(cmd, 384)  # IFM2_BROADCAST
    bad = cmd.copy()
    bad[i] = (bad[i] & 0xffff) | np.uint32(8 << 16)
    status, log = run(bad)
    assert status == STATUS["not_simulated"] and "a scalar IFM with a scalar" in log, log
    bad = cmd.copy()
    bad[find_cmd(cmd, 264)] &= np.uint32(0xffff)  # IFM_BROADCAST none, storage still NONE
    status, log = run(bad)
    assert status == STATUS["not_simulated"] and "activation storage IFM 3" in log, log


def test_u55_int16_lut_malformed(tmp_path):
    """A 16-bit LUT fills the LUT memory, so it can only be table 0; an int32 OFM
    through a LUT is valid but not simulated."""
    cmd, run = compiled_stream(*table16_graph(np.random.default_rng(4), "random"),
                               "ethos-u55-128", tmp_path)
    i = find_cmd(cmd, 293)  # the first ACTIVATION: TABLE_0 of a 16-bit LUT pass
    assert cmd[i] >> 16 == 16, hex(cmd[i])
    bad = cmd.copy()
    bad[i] = (bad[i] & 0xffff) | 17 << 16
    status, log = run(bad)
    assert status == STATUS["register_range"] and "16-bit LUT in table 1" in log, log
    bad = cmd.copy()
    j = find_cmd(cmd, 276)  # the first OFM_PRECISION: B16 -> B32
    bad[j] = (bad[j] & ~np.uint32(6 << 16)) | np.uint32(2 << 17)
    status, log = run(bad)
    assert status == STATUS["not_simulated"] and "4-byte OFM" in log, log


def test_u85_int16_lut_s16_malformed(tmp_path):
    """LUT_S16_S16's 512 entries fill the LUT memory (table 0 only) and it writes int16:
    another table or an 8-bit OFM is out of range."""
    cmd, run = compiled_stream(*table16_s16_graph(np.random.default_rng(6), "random"),
                               "ethos-u85-256", tmp_path)
    i = next(i for i in command_words(cmd) if cmd[i] & 0xffff == 293 and (cmd[i] >> 16) & 31 == 8)
    bad = cmd.copy()
    bad[i] |= np.uint32(1 << 21)  # table 1
    status, log = run(bad)
    assert status == STATUS["register_range"] and "LUT_S16_S16 with a 2-byte OFM or table 1" in log, log
    bad = cmd.copy()
    j = max(j for j in command_words(cmd) if j < i and cmd[j] & 0xffff == 276)  # OFM_PRECISION
    bad[j] &= ~np.uint32(6 << 16)  # B16 -> B8 (B32 would write past the OFM first)
    status, log = run(bad)
    assert status == STATUS["register_range"] and "LUT_S16_S16 with a 1-byte OFM" in log, log


GRAPHS = {"cnn": cnn_graph, "conv": lambda rng: conv_graph(rng, big=True),
          "table16": lambda rng: table16_graph(rng, "random"),
          "table16_s16": lambda rng: table16_s16_graph(rng, "random"),
          "gather": lambda rng: gather_scatter_graph(rng, "gather")}


def cmd1_payload(cmd: np.ndarray, opcode: int) -> int:
    """The payload of the first cmd1 command `opcode`."""
    i = next(i for i in command_words(cmd) if cmd[i] & 0x4000 and (cmd[i] & 0x3ff) == opcode)
    return int(cmd[i + 1])


def test_u65_512_malformed(tmp_path):
    """The U65-512's second-core streams under the sanitizer build: a truncated,
    missing or misplaced WEIGHT1 stream and a short SCALE1 stream fail with named
    statuses; a one-channel OFM (core 1 idle, Vela writes WEIGHT1_LENGTH 0) runs."""
    tool("asan")
    rng = np.random.default_rng(11)
    g, inputs = fc_graph(rng, oc=1)
    check(g, inputs, "ethos-u65-512", tmp_path)
    out = vela(g.serialize(), "ethos-u65-512")
    assert cmd1_payload(words(out.cmd_data), 145) == 0
    g, inputs = fc_graph(rng, oc=40)
    out = vela(g.serialize(), "ethos-u65-512")
    scratch = bytearray(out.scratch_size)
    scratch[out.inputs[0].offset:out.inputs[0].offset + out.inputs[0].nbytes] = inputs[0].tobytes()
    cmd = words(out.cmd_data)

    def run(c=None, weights=None):
        return run_case(out, bytes(scratch), tmp_path, c, weights, accelerator="ethos-u65-512",
                        flavour="asan")
    assert run()[0] == STATUS["ok"]
    length1, base1 = cmd1_payload(cmd, 145), cmd1_payload(cmd, 144)
    assert length1 >= 64, length1
    # The second weight stream cut short: MLW ends inside a slice, or decodes too few.
    for cut in (16, length1 // 2 // 16 * 16):
        status, log = run(with_cmd1_payload(cmd, 145, cut))
        assert status == STATUS["weight_stream"] and ("WEIGHT1" in log or "core 1" in log), log
    status, log = run(with_cmd1_payload(cmd, 145, 0))
    assert status == STATUS["weight_stream"] and "WEIGHT1_LENGTH is 0" in log, log
    # The weights region ends inside the second stream.
    status, log = run(weights=out.weight_data[:base1 + length1 // 2])
    assert status == STATUS["region_access"] and "core 1 weight stream" in log, log
    status, log = run(with_cmd1_payload(cmd, 144, len(out.weight_data) - 16))
    assert status == STATUS["region_access"] and "core 1 weight stream" in log, log
    # Core 1 has 20 channels: 19 scale records are short.
    status, log = run(with_cmd1_payload(cmd, 147, 190))
    assert status == STATUS["weight_stream"] and "SCALE1_LENGTH 190" in log, log
    # PARALLEL_MODE 2 (no such mode on a 2-core NPU).
    bad = cmd.copy()
    bad[find_cmd(cmd, 291)] = (2 << 16) | 291
    assert run(bad)[0] == STATUS["unsupported_op"]


def test_u85_argmax_malformed(tmp_path):
    """ARGMAX over a 2-D or padded window is valid but not simulated."""
    cmd, run = compiled_stream(*argmax_graph(np.random.default_rng(2), DType.INT8),
                               "ethos-u85-256", tmp_path)
    pool = next(i for i in command_words(cmd) if cmd[i] & 0xffff == 5)
    assert cmd[pool] >> 16 == 6, hex(cmd[pool])  # POOL ARGMAX_X
    bad = cmd.copy()
    bad[find_cmd(cmd, 289)] |= np.uint32(1 << 16)  # KERNEL_HEIGHT_M1 1
    status, log = run(bad)
    assert status == STATUS["not_simulated"] and "ARGMAX over a 2x" in log, log
    bad = cmd.copy()
    bad[find_cmd(cmd, 257)] |= np.uint32(1 << 16)  # IFM_PAD_LEFT 1
    status, log = run(bad)
    assert status == STATUS["not_simulated"] and "padded" in log, log


@pytest.mark.parametrize("accelerator,graph,runs", [
    ("ethos-u55-128", "cnn", 200), ("ethos-u85-256", "cnn", 200), ("ethos-u85-512", "conv", 200),
    ("ethos-u65-512", "conv", 100),  # two cores' weight and scale streams
    ("ethos-u55-128", "table16", 60),  # three 16-bit LUT passes, MULs and an ADD
    ("ethos-u85-256", "table16_s16", 60),  # LUT_S16_S16
    ("ethos-u85-256", "gather", 60)])  # an indexed 2-D/3-D DMA
def test_mutated_streams_do_not_crash(seed, accelerator, graph, runs, tmp_path):
    """Seeded bit flips in a real command stream and its weights, run by the
    sanitizer build: every run ends with a status, none reads or writes out of
    bounds."""
    tool("asan")
    rng = np.random.default_rng(seed)
    g, inputs = GRAPHS[graph](rng)
    out = vela(g.serialize(), accelerator)
    scratch = bytearray(out.scratch_size)
    io = out.inputs[0]
    scratch[io.offset:io.offset + io.nbytes] = inputs[0].tobytes()
    cmd = words(out.cmd_data)
    first = stream_start(cmd)
    env = dict(os.environ, ASAN_OPTIONS="exitcode=120", UBSAN_OPTIONS="exitcode=121")
    seen = set()
    for k in range(runs):
        bad, weights = cmd.copy(), bytearray(out.weight_data)
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.8:
                i = int(rng.integers(first, len(bad)))
                bad[i] ^= np.uint32(1 << int(rng.integers(0, 32)))
            else:
                j = int(rng.integers(0, len(weights)))
                weights[j] ^= 1 << int(rng.integers(0, 8))
        (tmp_path / "cmd.bin").write_bytes(bad.tobytes())
        (tmp_path / "r0.bin").write_bytes(bytes(weights))
        (tmp_path / "r1.bin").write_bytes(bytes(scratch))
        family, macs = accelerator.split("-")[1:3]
        p = subprocess.run([str(tool("asan")), family, macs, str(tmp_path / "cmd.bin"),
                            str(tmp_path / "r0.bin"), str(tmp_path / "r1.bin")],
                           capture_output=True, text=True, timeout=300, env=env)
        assert p.returncode <= 12, f"mutation {k}: exit {p.returncode}\n{p.stderr[-2000:]}"
        seen.add(p.returncode)
    print("statuses seen:", sorted(seen))
