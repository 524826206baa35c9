"""The Conformer example (examples/conformer.py) and what it needed: integer
1-D convolutions (as 2-D with a unit height, BatchNorm folded), a padding
mask and length arithmetic that trace, a log_softmax head.

* 2 layers, narrow (d 32) and short (0.3 s) to stay fast: quantized once,
  compiled for tosa-int and ethos-u85-256, each one delegate with only the
  input quantize and output dequantize on the CPU; the host int8 program,
  the TOSA executor and the simulated Ethos-U85 agree bit for bit; the int8
  log-probabilities' SQNR against fp32 is printed and bounded.
* the relative-position (Transformer-XL) variant: fp32 on the host equals
  PyTorch; int8 is one delegate for tosa-int and ethos-u85-256, bit exact
  across host, TOSA executor and simulator (its zero column for the relative
  shift is a quantized constant fill, ptec.quant.lower.fills).
* fp32 with lengths: the mask and `>>` length arithmetic run on the host and
  match PyTorch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import ptec
from ptec.quant.reference import float64_reference
from ptec.report import DELEGATE, INTEGER, runs_on

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import conformer as C  # noqa: E402

QUANTIZE = "quantized_decomposed::quantize_per_tensor.out"
DEQUANTIZE = "quantized_decomposed::dequantize_per_tensor.out"
SMALL = dict(d_model=32, ffn_dim=64, kernel_size=15)


def assert_one_npu_delegate_bit_exact(r: dict) -> None:
    """C.run's result: tosa-int and ethos-u85-256 one delegate with only the I/O
    quantize/dequantize on the CPU, host == TOSA executor == simulated U85."""
    for target in ("tosa-int", "ethos-u85-256"):
        assert r[target]["delegates"] == 1, r[target]["program"].report()
        assert r[target]["cpu"] == [QUANTIZE, DEQUANTIZE], r[target]["program"].report()
    assert "simulator" not in r, r["simulator"]
    assert r["equal"] == {"host": True, "tosa-int": True, "ethos-u85-256": True}


def test_two_layer_conformer_is_one_npu_delegate_bit_exact():
    r = C.run(num_layers=2, seconds=0.3, target="ethos-u85-256", calibration=2, **SMALL)
    assert_one_npu_delegate_bit_exact(r)
    report = r["ethos-u85-256"]["program"].report()
    vela = next(line for line in report.splitlines() if "Vela estimates" in line)
    print(f"\nConformer 2 layers d 32, {r['frames']} frames: 1 NPU delegate; {vela.strip()}; "
          f"SQNR {r['sqnr_db']:.1f} dB vs fp32; tokens fp32 {r['tokens']['fp32'][:8]} "
          f"int8 {r['tokens']['int8'][:8]}")
    assert r["sqnr_db"] >= 20.0


RELATIVE = dict(SMALL, attention="relative")


def test_relative_shift_moves_distances_onto_the_diagonal():
    scores = torch.arange(2 * 5 * 5, dtype=torch.float32).reshape(1, 2, 5, 5)
    shifted = C.RelativeSelfAttention.shift(scores)
    for i in range(5):
        for j in range(i + 1):  # column j of row i now holds distance i - j
            assert shifted[0, 1, i, j] == scores[0, 1, i, j + 4 - i]


def test_relative_position_conformer_fp32_on_the_host_matches_pytorch():
    model, (x,) = C.conformer(2, 0.3, **RELATIVE)
    program = ptec.compile(model, (x,))
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(np.asarray(ptec.load(program.buffer)(x)[0]), want,
                               rtol=1e-4, atol=1e-4)


def test_relative_position_conformer_is_one_npu_delegate_bit_exact():
    """sooftware's (Arm's ASR example's) attention: pos_proj of a constant
    sinusoid table, u/v biases, the cat + view + slice relative shift."""
    r = C.run(num_layers=2, seconds=0.3, target="ethos-u85-256", calibration=2, **RELATIVE)
    assert_one_npu_delegate_bit_exact(r)
    print(f"\nrelative-position Conformer 2 layers d 32, {r['frames']} frames: "
          f"SQNR {r['sqnr_db']:.1f} dB vs fp32")
    assert r["sqnr_db"] >= 20.0


class ZeroColumn(nn.Module):
    """The relative shift's zero column: cat(full(0), x) on quantized x."""

    def forward(self, x):
        return torch.cat([x.new_zeros(x.shape[0], x.shape[1], 1), torch.relu(x) - 0.5], dim=-1)


def test_quantized_zero_column_is_an_integer_constant(seed):
    torch.manual_seed(seed)
    x = torch.randn(2, 24, 24)  # the column (192 bytes fp32) is too big to fold
    converted = ptec.quantize.quantize(ZeroColumn(), (x,), ptec.Int8(
        calibration=[(torch.randn(2, 24, 24),) for _ in range(2)], observer="minmax"))
    host = ptec.compile(converted, (x,))
    tosa = ptec.compile(converted, (x,), target="tosa-int")
    cpu = [i.operator for i in tosa.instructions if runs_on(i) != DELEGATE]
    assert cpu == [QUANTIZE, DEQUANTIZE], tosa.report()
    got = np.asarray(ptec.load(tosa.buffer)(x)[0])
    np.testing.assert_array_equal(got, np.asarray(ptec.load(host.buffer)(x)[0]))
    want = float64_reference(converted)(x).numpy()
    assert np.all(got[..., 0] == 0.0)
    np.testing.assert_allclose(got, want, atol=1e-6)


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


class ConstantProjection(nn.Module):
    """Relative-position attention's pattern: a linear layer applied to a
    constant table (sooftware's pos_proj(pos_embedding)). fold_constants used
    to execute the fused ptec::quantized_linear on it, which has no CPU kernel."""

    def __init__(self):
        super().__init__()
        self.pos, self.fc = nn.Linear(32, 32, bias=False), nn.Linear(32, 32)

    def forward(self, x):
        # A sinusoid table computed in the graph from constants only, as
        # positional encodings are: fold_constants turns it into a constant.
        angles = torch.arange(x.shape[1])[:, None] * torch.exp(torch.arange(32) * -0.2)[None, :]
        return torch.matmul(self.fc(x), self.pos(torch.sin(angles)).transpose(0, 1))


def test_projection_of_a_constant_is_bit_exact_on_tosa(seed):
    torch.manual_seed(seed)
    model, x = ConstantProjection().eval(), torch.randn(1, 7, 32)
    converted = ptec.quantize.quantize(model, (x,), ptec.Int8(
        calibration=[(torch.randn(1, 7, 32),) for _ in range(2)], observer="minmax"))
    host = ptec.compile(converted, (x,))
    tosa = ptec.compile(converted, (x,), target="tosa-int")
    # (the sinusoid itself is computed on the CPU: arange is not folded, it grows)
    assert any(runs_on(i) == DELEGATE for i in tosa.instructions), tosa.report()
    np.testing.assert_array_equal(np.asarray(ptec.load(tosa.buffer)(x)[0]),
                                  np.asarray(ptec.load(host.buffer)(x)[0]))


class LengthsMask(nn.Module):
    """torchaudio's _lengths_to_padding_mask (int(lengths.max().item())), which
    non-strict export cannot trace."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x, lengths):
        longest = int(torch.max(lengths).item())
        mask = torch.arange(longest).expand(lengths.shape[0], longest) >= lengths.unsqueeze(1)
        return self.fc(x).masked_fill(mask[:, :, None], 0.0)


def test_quantization_falls_back_to_strict_export(seed):
    torch.manual_seed(seed)
    model, x, lengths = LengthsMask().eval(), torch.randn(2, 5, 16), torch.tensor([5, 3])
    with pytest.raises(Exception):
        torch.export.export(model, (x, lengths))
    converted = ptec.quantize.quantize(model, (x, lengths), ptec.Int8(
        calibration=[(torch.randn(2, 5, 16), lengths) for _ in range(2)], observer="minmax"))
    program = ptec.compile(converted, (x, lengths))
    got = np.asarray(ptec.load(program.buffer)(x, lengths)[0], np.float64)
    want = float64_reference(converted)(x, lengths).numpy()
    assert np.all(got[1, 3:] == 0)
    with torch.no_grad():
        fp32 = model(x, lengths).numpy()
    assert np.abs(got - want).max() <= 0.02 * np.abs(fp32).max()
    assert np.abs(got - fp32).max() <= 0.15 * np.abs(fp32).max()


class TableOfConstants(nn.Module):
    """A ptec:: integer operator whose inputs are all constants."""

    def __init__(self):
        super().__init__()
        self.register_buffer("codes", torch.arange(-8, 8, dtype=torch.int8).reshape(4, 4))
        self.register_buffer("lut", torch.arange(127, -129, -1, dtype=torch.int32).to(torch.int8))

    def forward(self, x):
        return x + torch.ops.ptec.table(self.codes.t(), self.lut).to(torch.float32)


def test_fold_constants_leaves_ptec_operators_on_constants():
    """The cause of the relative-position crash: fold_constants evaluated every
    call whose inputs are constants, and ptec's fused integer operators have
    shape functions only ("Could not run 'ptec::quantized_linear' with
    arguments from the 'CPU' backend"). They stay calls; aten ops still fold."""
    from ptec.export import export_core_aten
    from ptec.passes import fold_constants

    x = torch.randn(4, 4)
    gm = export_core_aten(TableOfConstants(), (x,)).graph_module
    fold_constants(gm)
    targets = [n.target for n in gm.graph.nodes if n.op == "call_function"]
    assert torch.ops.ptec.table.default in targets
    assert torch.ops.aten.permute.default not in targets  # the transpose folded
    program = ptec.compile(TableOfConstants(), (x,))
    want = (x + (-1 - torch.arange(-8, 8).reshape(4, 4).t()).float()).numpy()  # lut[c] = -1 - c
    np.testing.assert_array_equal(np.asarray(ptec.load(program.buffer)(x)[0]), want)
