"""Int8 convolution weights packed at compile time (target "x86-64-avx512",
python/ptec/cpu/pack_weights.py, runtime/src/kernels/quantized/op_quantized_conv2d_packed.c).

- random convolutions (kernel sizes, strides, padding, dilation, channel counts that are
  not multiples of 32 or 4, biases that can and cannot fold) compiled for "host" and for
  "x86-64-avx512": the packed program through this build (the AVX-512 VNNI packed kernel
  on a CPU with it), with 1 and 3 threads, equals the host program through the reference
  build (-DPTEC_ISA_KERNELS=OFF) bit for bit, and so does the packed program through the
  reference build (which runs quantized_conv2d on the original weight);
- the layout the compiler writes against a naive definition of it;
- a program whose packed copy disagrees with its weights is refused at init, by name;
- ResNet-18 (small size) packed: equal to the host program, bit for bit.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.cpu import pack_weights
from test_x86_kernels import _reference_runner, _run_cli

ROOT = Path(__file__).resolve().parents[2]
HOST_RUN = ROOT / "build" / "host" / "ptec-run"


@pytest.fixture
def host_run() -> Path:
    if not HOST_RUN.exists():
        pytest.fail(f"{HOST_RUN} is missing: build it with `make build-host`")
    return HOST_RUN
TARGET = "x86-64-avx512"


def _quantized(model: nn.Module, inputs, rng: np.random.Generator) -> nn.Module:
    prepared = ptec.quantize.prepare(model.eval(), inputs, ptec.Int8())
    calib = [tuple(torch.from_numpy(rng.normal(0, 1, x.shape).astype(np.float32))
                   for x in inputs) for _ in range(2)]
    ptec.quantize.calibrate(prepared, calib + [inputs])
    return ptec.quantize.convert(prepared)


def _random_net(rng: random.Random) -> tuple[nn.Module, tuple[torch.Tensor]]:
    c = c0 = rng.choice([1, 3, 5, 8, 16, 33])
    h, w = h0, w0 = rng.randint(4, 20), rng.randint(4, 20)
    layers: list[nn.Module] = []
    for _ in range(rng.randint(1, 3)):
        oc = rng.choice([1, 7, 16, 31, 32, 40, 65, 96])
        k = rng.choice([1, 1, 3, 3, 5, (1, 3), (3, 1)])
        kh, kw = (k, k) if isinstance(k, int) else k
        stride = rng.choice([1, 1, 2])
        dilation = rng.choice([1, 1, 2]) if min(h, w) > 2 * max(kh, kw) else 1
        pad = (rng.randint(0, kh // 2 * dilation), rng.randint(0, kw // 2 * dilation))
        if (h + 2 * pad[0] - dilation * (kh - 1) - 1) < 0 or \
                (w + 2 * pad[1] - dilation * (kw - 1) - 1) < 0:
            pad, dilation = (kh // 2, kw // 2), 1
        conv = nn.Conv2d(c, oc, (kh, kw), stride, pad, dilation, bias=rng.random() < 0.8)
        layers.append(conv)
        if rng.random() < 0.5:
            layers.append(nn.ReLU())
        h = (h + 2 * pad[0] - dilation * (kh - 1) - 1) // stride + 1
        w = (w + 2 * pad[1] - dilation * (kw - 1) - 1) // stride + 1
        c = oc
    n = rng.choice([1, 1, 2])
    return nn.Sequential(*layers), (torch.randn(n, c0, h0, w0),)


def _ops(program) -> list[str]:
    return [i.operator for i in program.instructions]


@pytest.mark.usefixtures("host_run")
def test_random_convolutions_packed_equal_reference(tmp_path, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    ref_run = _reference_runner()
    packed_calls = 0
    for case in range(5):
        model, inputs = _random_net(rng)
        q = _quantized(model, inputs, nrng)
        host = ptec.compile(q, inputs)
        packed = ptec.compile(q, inputs, target=TARGET)
        packed_calls += _ops(packed).count("ptec::quantized_conv2d_packed.out")
        assert "ptec::quantized_conv2d_packed.out" not in _ops(host)
        want = _run_cli(ref_run, host.buffer, inputs, tmp_path / f"{case}-ref")
        for tag, runner, buf in (("fast", HOST_RUN, packed.buffer),
                                 ("ref", ref_run, packed.buffer)):
            got = _run_cli(runner, buf, inputs, tmp_path / f"{case}-{tag}")
            assert len(got) == len(want) == 1
            assert np.array_equal(got[0], want[0]), \
                f"case {case} {tag} (seed {seed}): {model}"
        got3 = _run_threads(packed.buffer, inputs, tmp_path / f"{case}-t3", 3)
        assert np.array_equal(got3[0], want[0]), f"case {case} 3 threads (seed {seed}): {model}"
    assert packed_calls > 0


def _run_threads(program: bytes, inputs, tmp: Path, threads: int):
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "m.pte").write_bytes(program)
    args = [str(HOST_RUN), str(tmp / "m.pte"), "--output-dir", str(tmp), "--threads",
            str(threads)]
    for i, x in enumerate(inputs):
        np.save(tmp / f"in{i}.npy", x.contiguous().numpy())
        args += ["--input", str(tmp / f"in{i}.npy")]
    subprocess.run(args, check=True, capture_output=True)
    return [np.load(p) for p in sorted(tmp.glob("output*.npy"))]


def test_pack_layout_matches_definition(seed):
    """pack() against the layout written out element by element (conv2d.h)."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        o, c, kh, kw = (int(v) for v in (rng.integers(1, 70), rng.integers(1, 9),
                                         rng.integers(1, 4), rng.integers(1, 4)))
        w = rng.integers(-128, 128, (o, c, kh, kw)).astype(np.int8)
        big = rng.random() < 0.3
        bias = rng.integers(-2**31 if big else -1000, 2**31 - 1 if big else 1000,
                            o).astype(np.int32)
        izp = int(rng.integers(-128, 128))
        got = pack_weights.pack(w, bias, izp)
        k = c * kh * kw
        kp, np_ = (k + 3) // 4 * 4, (o + 31) // 32 * 32
        rows = [[int(w[j, i % c, i // (kw * c), i // c % kw]) for i in range(k)] for j in range(o)]
        fold = all(abs(int(b)) <= 2**31 - 1 - 255 * 128 * k for b in bias)
        corr = np.zeros(np_, dtype=np.int64)
        for j in range(o):
            corr[j] = (128 + izp) * sum(rows[j]) - (int(bias[j]) if fold else 0)
        panels = np.zeros(np_ * kp, dtype=np.int8)
        for j in range(o):
            for i in range(k):
                panels[(j // 32) * kp * 32 + (i // 4) * 128 + (j % 32) * 4 + i % 4] = rows[j][i]
        assert got.dtype == np.int8 and got.size == 4 * np_ + np_ * kp
        assert np.array_equal(got[:4 * np_].view("<i4"), corr.astype(np.int32))
        assert np.array_equal(got[4 * np_:], panels)


@pytest.mark.usefixtures("host_run")
def test_packed_copy_that_disagrees_is_refused(tmp_path, monkeypatch, seed):
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1)).eval()
    inputs = (torch.randn(1, 4, 6, 6),)
    q = _quantized(model, inputs, np.random.default_rng(seed))
    real = pack_weights.pack

    def tampered(w, bias, izp):
        out = real(w, bias, izp).copy()
        out[-1] ^= 1  # one weight value of the last panel
        return out

    monkeypatch.setattr(pack_weights, "pack", tampered)
    program = ptec.compile(q, inputs, target=TARGET).buffer
    (tmp_path / "m.pte").write_bytes(program)
    np.save(tmp_path / "in0.npy", inputs[0].numpy())
    done = subprocess.run([str(HOST_RUN), str(tmp_path / "m.pte"), "--input",
                           str(tmp_path / "in0.npy"), "--output-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode != 0
    text = done.stdout + done.stderr
    assert "PTEC_STATUS_MALFORMED" in text or "MALFORMED" in text.upper(), text
    assert "packed does not hold the packing" in text, text


@pytest.mark.usefixtures("host_run")
@pytest.mark.parametrize("name", ["resnet18"])
def test_models_packed_equal_host(name, tmp_path, seed):
    sys.path.insert(0, str(ROOT / "examples"))
    import int8_accuracy
    from models import EXAMPLES

    model, inputs = EXAMPLES[name](**int8_accuracy.SIZES[name])
    q = _quantized(model, inputs, np.random.default_rng(seed))
    host = ptec.compile(q, inputs)
    packed = ptec.compile(q, inputs, target=TARGET)
    assert _ops(packed).count("ptec::quantized_conv2d_packed.out") >= 10
    want = _run_cli(HOST_RUN, host.buffer, inputs, tmp_path / "host")
    got = _run_cli(HOST_RUN, packed.buffer, inputs, tmp_path / "packed")
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert np.array_equal(g, w), f"{name}: packed program differs (seed {seed})"
