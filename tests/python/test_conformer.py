"""The Conformer example (examples/conformer.py) and what it needed: integer
1-D convolutions (as 2-D with a unit height, BatchNorm folded), a padding
mask and length arithmetic that trace, a log_softmax head.

* 2 layers, narrow (d 64) and short (0.3 s) to stay fast: quantized once,
  compiled for tosa-int and ethos-u85-256, each one delegate with only the
  input quantize and output dequantize on the CPU; the host int8 program,
  the TOSA executor and the simulated Ethos-U85 agree bit for bit; the int8
  log-probabilities' SQNR against fp32 is printed and bounded.
* fp32 with lengths: the mask and `>>` length arithmetic run on the host and
  match PyTorch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

import ptec
from ptec.quant.reference import float64_reference
from ptec.report import INTEGER, runs_on

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import conformer as C  # noqa: E402

QUANTIZE = "quantized_decomposed::quantize_per_tensor.out"
DEQUANTIZE = "quantized_decomposed::dequantize_per_tensor.out"
SMALL = dict(d_model=64, ffn_dim=128, kernel_size=15)


def test_two_layer_conformer_is_one_npu_delegate_bit_exact():
    r = C.run(num_layers=2, seconds=0.3, target="ethos-u85-256", calibration=2, **SMALL)
    for target in ("tosa-int", "ethos-u85-256"):
        assert r[target]["delegates"] == 1, r[target]["program"].report()
        assert r[target]["cpu"] == [QUANTIZE, DEQUANTIZE], r[target]["program"].report()
    assert "simulator" not in r, r["simulator"]
    assert r["equal"] == {"host": True, "tosa-int": True, "ethos-u85-256": True}
    report = r["ethos-u85-256"]["program"].report()
    vela = next(line for line in report.splitlines() if "Vela estimates" in line)
    print(f"\nConformer 2 layers d 64, {r['frames']} frames: 1 NPU delegate; {vela.strip()}; "
          f"SQNR {r['sqnr_db']:.1f} dB vs fp32; tokens fp32 {r['tokens']['fp32'][:8]} "
          f"int8 {r['tokens']['int8'][:8]}")
    assert r["sqnr_db"] >= 20.0


class ConvBN(nn.Module):
    """Pointwise and depthwise Conv1d with BatchNorm1d: the conformer's pattern."""

    def __init__(self):
        super().__init__()
        self.pw = nn.Conv1d(8, 16, 1)
        self.dw = nn.Conv1d(16, 16, 5, padding=2, groups=16)
        self.bn = nn.BatchNorm1d(16)

    def forward(self, x):
        return torch.relu(self.bn(self.dw(self.pw(x))))


def test_conv1d_with_batch_norm_is_integer_on_the_host(seed):
    torch.manual_seed(seed)
    model = ConvBN().eval()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.3, 0.3)
        model.bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 8, 20)
    converted = ptec.quantize.quantize(model, (x,), ptec.Int8(
        calibration=[(torch.randn(2, 8, 20),) for _ in range(4)], observer="minmax"))
    program = ptec.compile(converted, (x,))
    ops = [i.operator for i in program.instructions if runs_on(i) == INTEGER]
    assert ops.count("ptec::quantized_conv2d.out") == 2, program.report()
    assert not any("batch_norm" in i.operator for i in program.instructions)
    t = torch.randn(2, 8, 20)
    got = np.asarray(ptec.load(program.buffer)(t)[0], np.float64)
    want = float64_reference(converted)(t).numpy()
    step = float(np.min(np.abs(np.diff(np.unique(got)))))  # the output's scale
    assert np.abs(got - want).max() <= step * 1.001
    with torch.no_grad():
        fp32 = model(t).numpy()
    assert np.abs(got - fp32).max() <= 0.1 * np.abs(fp32).max()


def test_padding_mask_and_length_arithmetic_trace_and_match_pytorch(seed):
    torch.manual_seed(seed)
    model = C.Conformer(C.ConformerConfig(num_layers=1, d_model=32, ffn_dim=64, kernel_size=7),
                        with_lengths=True).eval()
    x, lengths = torch.randn(2, 41, 80), torch.tensor([41, 30])
    program = ptec.compile(model, (x, lengths))
    logp, out_lengths = ptec.load(program.buffer)(x, lengths)
    with torch.no_grad():
        want_logp, want_lengths = model(x, lengths)
    np.testing.assert_array_equal(np.asarray(out_lengths), want_lengths.numpy())
    assert list(want_lengths) == [C.subsampled_length(41), C.subsampled_length(30)] == [9, 6]
    np.testing.assert_allclose(np.asarray(logp), want_logp.numpy(), rtol=1e-4, atol=1e-4)


def test_greedy_ctc_and_log_mel():
    assert C.greedy_ctc(np.log(np.eye(4)[[0, 2, 2, 0, 2, 3, 3, 1]] + 1e-9)) == [2, 2, 3, 1]
    feats = C.log_mel(C.synthetic_audio(0.5))
    assert feats.shape == (1, 1 + 8000 // C.HOP, C.N_MELS)
    assert torch.isfinite(feats).all()
