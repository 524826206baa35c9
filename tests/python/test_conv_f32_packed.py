"""float32 convolution with the activation fused and the filters packed at compile time
(ptec::conv2d_f32; python/ptec/passes/fuse_conv_clamp.py, python/ptec/cpu/pack_f32.py;
target "x86-64-avx512"; issue 12).

- Random convolutions (groups 1, depthwise and 2 groups; 1x1 to 5x5 windows, strides,
  padding, dilation, NCHW and channels-last inputs) followed by relu, ReLU6, hardtanh,
  clamp(min) or nothing, compiled for "host" (aten::convolution, then the activation as its
  own op, OIHW filters) and for "x86-64-avx512" (one ptec::conv2d_f32 with the bounds and,
  groups 1, the panels). Through this build (PTEC_RUN) the fused program's outputs equal the
  host program's bit for bit: the kernels read the same filter values in the same order from
  the panels and clamping a float is exact. Channels-last outputs and 2 groups run the C
  reference loops (the variants decline them), depthwise and NCHW groups-1 layers the x86
  variants, so both twins are compared with the unfused path. 1 and 3 threads are equal bit
  for bit, and every output is within (K + 2) * 2^-24 * (sum |w x| + |b|) of PyTorch in
  float64 with the activation applied (a clamp does not widen a difference).
- pack() against the layout written out element by element; a program whose panels were
  altered is refused at method init by name.
- MobileNetV2 and ResNet-18 (small sizes): no relu / hardtanh call left, equal to the host
  program bit for bit, within 1e-4 of eager relative to the largest output, 1 and 3 threads
  equal, and under ASan + UBSan (PTEC_RUN_ASAN).
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.cpu.pack_f32 import PANEL, pack
from test_conv_f32_x86 import exact_and_bound

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run"))
RUN_ASAN = Path(os.environ.get("PTEC_RUN_ASAN", ROOT / "build" / "asan" / "ptec-run"))
TARGET = "x86-64-avx512"
ACTIVATIONS = {
    "relu": (nn.ReLU(), 0.0, None),
    "relu6": (nn.ReLU6(), 0.0, 6.0),
    "hardtanh": (nn.Hardtanh(-0.5, 1.25), -0.5, 1.25),
    "clamp_min": (None, -0.25, None),
    "none": (None, None, None),
}


class _Clamp(nn.Module):
    def __init__(self, lo):
        super().__init__()
        self.lo = lo

    def forward(self, x):
        return torch.clamp(x, min=self.lo)


def _run(runner: Path, program: bytes, inputs, tmp: Path, threads: int = 1) -> list[np.ndarray]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "m.pte").write_bytes(program)
    args = [str(runner), str(tmp / "m.pte"), "--threads", str(threads)]
    for i, x in enumerate(inputs):
        np.save(tmp / f"in{i}.npy", x.contiguous().numpy())  # logical order; ptec-run relayouts
        args += ["--input", str(tmp / f"in{i}.npy")]
    out = tmp / f"out-{runner.parent.name}-{threads}"
    out.mkdir(exist_ok=True)
    subprocess.run(args + ["--output-dir", str(out)], check=True, capture_output=True)
    return [np.load(p) for p in sorted(out.glob("output*.npy"))]


def _ops(program: ptec.CompiledProgram) -> list[str]:
    return [info.operator for info in program.instructions]


def _bitwise(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values (a zero's sign aside: an added 0.0 bias may turn -0 into +0)."""
    return a.shape == b.shape and np.array_equal(a, b)


def _case(rng: random.Random):
    k = rng.choice([1, 1, 3, 3, 5])
    dil = rng.choice([1, 1, 2]) if k > 1 else 1
    stride = rng.choice([1, 1, 2, (2, 1)])
    pad = (k - 1) * dil // 2 if rng.random() < 0.7 else rng.randrange(0, k)
    kind = rng.choice(["dense", "dense", "dense", "depthwise", "groups2"])
    cin = rng.choice([1, 3, 8, 19, 32]) if kind == "dense" else rng.choice([2, 8, 16, 38])
    cout = {"dense": rng.choice([1, 7, 8, 16, 33, 64]), "depthwise": cin,
            "groups2": rng.choice([2, 6, 16])}[kind]
    groups = {"dense": 1, "depthwise": cin, "groups2": 2}[kind]
    span = (k - 1) * dil + 1
    h = max(span, rng.choice([1, 5, 14, 17, 33]))
    w = max(span, rng.choice([1, 7, 16, 37]))
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil, groups=groups,
                     bias=rng.random() < 0.8)
    act = rng.choice(list(ACTIVATIONS))
    x = torch.randn(rng.choice([1, 1, 2]), cin, h, w)
    if rng.random() < 0.3:
        x = x.contiguous(memory_format=torch.channels_last)
    return conv, act, x


def _model(conv: nn.Conv2d, act: str) -> nn.Module:
    module, lo, _hi = ACTIVATIONS[act]
    if act == "clamp_min":
        module = _Clamp(lo)
    return (nn.Sequential(conv, module) if module is not None else nn.Sequential(conv)).eval()


def _bound_check(conv: nn.Conv2d, act: str, x: torch.Tensor, got: np.ndarray, what: str):
    _m, lo, hi = ACTIVATIONS[act]
    want, bound = exact_and_bound(conv, x)
    if lo is not None or hi is not None:
        want = want.clamp(lo, hi)
    err = np.abs(got.astype(np.float64) - want.numpy())
    bad = err > bound
    assert not bad.any(), (f"{what}: {int(bad.sum())} of {bad.size} outputs beyond the bound, "
                           f"worst {float((err - bound).max()):.3g} over it")


def test_fused_packed_equal_unfused_random(seed, tmp_path):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    for case in range(8):
        conv, act, x = _case(rng)
        model = _model(conv, act)
        what = f"case {case}: {conv} + {act} on {tuple(x.shape)} (seed {seed})"
        host = ptec.compile(model, (x,))
        fused = ptec.compile(model, (x,), target=TARGET)
        ops = _ops(fused)
        # Fused when there is an activation, packed when groups is 1; else left alone.
        assert ("ptec::conv2d_f32.out" in ops) == (act != "none" or conv.groups == 1), (what, ops)
        assert not {"aten::relu.out", "aten::hardtanh.out", "aten::clamp.out"} & set(ops), \
            (what, ops)
        (want,) = _run(RUN, host.buffer, (x,), tmp_path / f"c{case}-host")
        (one,) = _run(RUN, fused.buffer, (x,), tmp_path / f"c{case}-fused")
        (three,) = _run(RUN, fused.buffer, (x,), tmp_path / f"c{case}-fused", threads=3)
        assert _bitwise(one, want), f"{what}: fused and packed differ from the unfused program"
        assert np.array_equal(one.view(np.uint32), three.view(np.uint32)), \
            f"{what}: 1 and 3 threads differ"
        _bound_check(conv, act, x, one, what)


def test_fused_keeps_other_readers_and_odd_bounds():
    """Not fused: a convolution whose result is also read elsewhere; hardtanh bounds that
    float32 does not hold exactly. Both still compute the model (checked through ptec.load)."""
    conv = nn.Conv2d(4, 8, 3, padding=1)

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv

        def forward(self, x):
            y = self.conv(x)
            return torch.relu(y) + y

    x = torch.randn(1, 4, 9, 9)
    program = ptec.compile(Both().eval(), (x,), target=TARGET)
    assert "aten::relu.out" in _ops(program)
    odd = nn.Sequential(nn.Conv2d(4, 8, 3), nn.Hardtanh(0.1, 0.7)).eval()
    program = ptec.compile(odd, (x,), target=TARGET)
    assert "aten::hardtanh.out" in _ops(program)
    with torch.no_grad():
        want = odd(x)
    got = ptec.load(program.buffer)(x)
    got = got[0] if isinstance(got, (list, tuple)) else got
    assert torch.allclose(torch.as_tensor(got), want, rtol=1e-5, atol=1e-5)


def test_pack_layout(seed):
    rng = np.random.default_rng(seed)
    for oc, c, kh, kw in [(1, 1, 1, 1), (7, 3, 3, 3), (8, 16, 1, 1), (19, 5, 2, 3)]:
        w = rng.standard_normal((oc, c, kh, kw)).astype(np.float32)
        got = pack(w)
        k = c * kh * kw
        np_ = (oc + PANEL - 1) // PANEL * PANEL
        assert got.dtype == np.float32 and got.shape == (np_ * k,)
        for j in range(np_):
            for i in range(k):
                ci, ky, kx = i // (kh * kw), i // kw % kh, i % kw
                want = w[j, ci, ky, kx] if j < oc else 0.0
                assert got[j // PANEL * PANEL * k + i * PANEL + j % PANEL] == want, (oc, c, j, i)


def test_tampered_panels_refused(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()).eval()
    x = torch.randn(1, 3, 8, 8)
    buf = bytearray(ptec.compile(model, (x,), target=TARGET).buffer)
    panels = pack(model[0].weight.detach().numpy()).tobytes()
    at = buf.find(panels)
    assert at >= 0
    buf[at + 4 * 9] ^= 0x01  # one mantissa bit of one value
    (tmp_path / "m.pte").write_bytes(bytes(buf))
    np.save(tmp_path / "x.npy", x.numpy())
    r = subprocess.run([str(RUN), str(tmp_path / "m.pte"), "--input", str(tmp_path / "x.npy"),
                        "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "packed does not hold the packing of the weight" in r.stdout + r.stderr


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18"])
def test_models_fused_packed(name, tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    from int8_accuracy import SIZES
    from models import EXAMPLES

    model, inputs = EXAMPLES[name](**SIZES[name])
    model.eval()
    host = ptec.compile(model, inputs)
    fused = ptec.compile(model, inputs, target=TARGET)
    ops = _ops(fused)
    # Left: ResNet's relus after its residual adds, and its unpacked 3x3 layers over 1 MiB
    # that no activation follows (they feed the adds).
    assert "aten::hardtanh.out" not in ops and ops.count("aten::relu.out") <= ops.count(
        "aten::add.out"), ops
    (want,) = _run(RUN, host.buffer, inputs, tmp_path / "host")
    (one,) = _run(RUN, fused.buffer, inputs, tmp_path / "fused")
    (three,) = _run(RUN, fused.buffer, inputs, tmp_path / "fused", threads=3)
    assert _bitwise(one, want), f"{name}: fused and packed differ from the host program"
    assert np.array_equal(one.view(np.uint32), three.view(np.uint32))
    with torch.no_grad():
        eager = model(*inputs).numpy()
    assert np.abs(one - eager).max() <= 1e-4 * np.abs(eager).max()
    if name == "mobilenet_v2":
        (asan,) = _run(RUN_ASAN, fused.buffer, inputs, tmp_path / "asan")
        assert np.abs(asan - eager).max() <= 1e-4 * np.abs(eager).max()


def test_depthwise_3x3_random(seed, tmp_path):
    """3x3 depthwise layers with padding 1 on the AVX-512 paths of
    depthwise_conv2d_f32_direct_avx512.c that keep their masks in registers: stride 1 with
    rows of 14 or more (same3: column masks per 16 columns, four output rows at a time) and
    stride 2 (stride2_3: each input row loaded once per 16 output columns, split into its
    three taps). Widths around 16- and 32-lane boundaries, heights that leave 1-3 rows of a
    four-row group, rows above and below the image read from zeros, with fused clamps:
    within the float64 bound, 1 = 3 threads bit for bit, and under ASan + UBSan (a store
    mask, a permute or a zero row one off fails the bound or the sanitizer)."""
    rng = random.Random(seed)
    for case in range(8):
        c = rng.choice([1, 3, 8, 17])
        stride = 1 if case % 2 == 0 else 2
        h = rng.choice([1, 2, 3, 5, 6, 9, 10])
        w = rng.choice([14, 15, 16, 17, 28, 31, 33, 47, 56] if stride == 1 else
                       [1, 2, 7, 14, 28, 31, 33, 57, 66])
        conv = nn.Conv2d(c, c, 3, stride=stride, padding=1, groups=c, bias=rng.random() < 0.8)
        act = rng.choice(["relu6", "hardtanh", "none"])
        x = torch.randn(rng.choice([1, 2]), c, h, w)
        what = f"case {case}: {conv} + {act} on {tuple(x.shape)} (seed {seed})"
        program = ptec.compile(_model(conv, act), (x,), target=TARGET).buffer
        (one,) = _run(RUN, program, (x,), tmp_path / f"d{case}")
        (three,) = _run(RUN, program, (x,), tmp_path / f"d{case}", threads=3)
        assert np.array_equal(one, three), f"{what}: 1 and 3 threads differ"
        _bound_check(conv, act, x, one, what)
        if case < 2:
            (asan,) = _run(RUN_ASAN, program, (x,), tmp_path / f"d{case}-asan")
            _bound_check(conv, act, x, asan, what + " (ASan + UBSan)")
