"""A Conformer speech recognizer on Ethos-U85: the model, its log-Mel front end
and greedy CTC decoding, compiled whole for the NPU.

The model has torchaudio's Conformer layer (torchaudio/models/conformer.py:
FF/2, multi-head self-attention, convolution module, FF/2, LayerNorm) with
the convolutional subsampling and CTC head of the Conformer Arm's ASR example
trains (sooftware/conformer); the Arm size is 80 log-Mel bins, d 144, 4
heads, feed-forward 576, depthwise kernel 31, 16 layers, 129 classes
(SentencePiece pieces + blank). attention="relative" gives sooftware's
Transformer-XL relative-position attention instead. Random weights: the example shows the
compilation, the CPU/NPU split and the integer agreement, not recognition.

    python examples/conformer.py                 # 2 layers, 1 s of audio
    python examples/conformer.py --layers 16 --seconds 3   # the Arm size (slow: Vela)

prints the delegates and CPU operators of the ethos-u85-256 program, Vela's
estimate, the SQNR of the int8 logits against fp32, and whether the host
int8 program, the TOSA executor and the simulated NPU agree bit for bit.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

SAMPLE_RATE, N_FFT, HOP, N_MELS = 16000, 512, 160, 80


@dataclass(frozen=True)
class ConformerConfig:
    """Arm's ASR example sizes by default."""
    input_dim: int = N_MELS
    d_model: int = 144
    num_heads: int = 4
    ffn_dim: int = 576
    num_layers: int = 16
    kernel_size: int = 31
    num_classes: int = 129
    # "absolute": q k^T attention (torchaudio's layer); "relative": Transformer-XL
    # relative positions, as sooftware's Conformer (Arm's ASR example) has them.
    attention: str = "absolute"
    max_frames: int = 512           # rows of the relative-position table


# ------------------------------------------------------------------ the model

class FeedForward(nn.Module):
    def __init__(self, d: int, ffn: int):
        super().__init__()
        self.norm, self.up, self.down = nn.LayerNorm(d), nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x):
        return self.down(F.silu(self.up(self.norm(x))))


class SelfAttention(nn.Module):
    """Multi-head self-attention written out (q k^T * scale, softmax, @ v), with
    an optional additive padding mask [B, 1, 1, T] (0 or -inf-like)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads, self.out = heads, nn.Linear(d, d)
        # Separate projections, as sooftware's Conformer has them. (One fused
        # qkv projection sliced into q and k gives a U85 command stream whose
        # simulated QK^T differs from the TOSA executor: docs/transformers-npu.md.)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def split_heads(self, y):
        """[B, T, d] -> [B, heads, T, d / heads]."""
        b, t, d = y.shape
        return y.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)

    def attend(self, scores, v, mask):
        """softmax(scores + mask) @ v, heads merged, through the out projection:
        scores [B, H, T, T], v [B, H, T, dh] -> [B, T, H * dh]."""
        if mask is not None:
            scores = scores + mask
        y = torch.matmul(torch.softmax(scores, dim=-1), v)
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))

    def forward(self, x, mask=None):
        q, k, v = (self.split_heads(proj(x)) for proj in (self.q, self.k, self.v))
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        return self.attend(scores, v, mask)


def sinusoid_table(rows: int, d: int) -> torch.Tensor:
    """Transformer-XL's position table [rows, d]: row r encodes the distance
    rows - 1 - r (farthest first), sines in the even columns, cosines in the odd."""
    distance = torch.arange(rows - 1, -1, -1, dtype=torch.float32)[:, None]
    inv_freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    table = torch.zeros(rows, d)
    table[:, 0::2], table[:, 1::2] = torch.sin(distance * inv_freq), torch.cos(distance * inv_freq)
    return table


class RelativeSelfAttention(SelfAttention):
    """Transformer-XL relative-position self-attention (Dai et al. 2019, §3.3):
    score = ((q + u) k^T + shift((q + v) p^T)) * scale, p = pos_proj(positions),
    u and v learned per head. positions are the last T rows of a constant
    sinusoid table (distances T-1 .. 0); shift() turns column j of row i from
    "distance T-1-j" into "distance i-j" with a zero column, a view and a slice
    (no gather: TOSA and the NPU have CONCAT, RESHAPE and SLICE). The
    projections and softmax(scores) @ v are SelfAttention's."""

    def __init__(self, d: int, heads: int, max_frames: int):
        super().__init__(d, heads)
        self.pos_proj = nn.Linear(d, d, bias=False)
        self.u_bias = nn.Parameter(0.1 * torch.randn(heads, d // heads))
        self.v_bias = nn.Parameter(0.1 * torch.randn(heads, d // heads))
        self.register_buffer("positions", sinusoid_table(max_frames, d), persistent=False)

    @staticmethod
    def shift(scores):
        """[B, H, T, T]: out[i, j] = scores[i, j + T-1-i] for j <= i (the rows
        above the diagonal get the next row's values, as in Transformer-XL)."""
        b, h, t, _ = scores.shape
        padded = torch.cat([scores.new_zeros(b, h, t, 1), scores], dim=-1)   # [B, H, T, T+1]
        return padded.view(b, h, t + 1, t)[:, :, 1:].reshape(b, h, t, t)

    def forward(self, x, mask=None):
        b, t, d = x.shape
        dh = d // self.heads
        # q stays [B, T, H, dh] until the per-head biases [H, dh] are added
        q = self.q(x).reshape(b, t, self.heads, dh)
        k, v = (self.split_heads(proj(x)) for proj in (self.k, self.v))
        p = self.pos_proj(self.positions[-t:]).reshape(t, self.heads, dh).permute(1, 2, 0)
        content = torch.matmul((q + self.u_bias).transpose(1, 2), k.transpose(-2, -1))
        position = self.shift(torch.matmul((q + self.v_bias).transpose(1, 2), p))
        return self.attend((content + position) * (1.0 / math.sqrt(dh)), v, mask)


class ConvModule(nn.Module):
    """torchaudio's _ConvolutionModule: pointwise conv to 2d, GLU, depthwise conv,
    BatchNorm, SiLU, pointwise conv, all 1-D over time."""

    def __init__(self, d: int, kernel: int):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pointwise1 = nn.Conv1d(d, 2 * d, 1)
        self.depthwise = nn.Conv1d(d, d, kernel, padding=(kernel - 1) // 2, groups=d)
        self.bn = nn.BatchNorm1d(d)
        self.pointwise2 = nn.Conv1d(d, d, 1)

    def forward(self, x):
        y = self.norm(x).transpose(1, 2)
        y = F.glu(self.pointwise1(y), dim=1)
        y = F.silu(self.bn(self.depthwise(y)))
        return self.pointwise2(y).transpose(1, 2)


class ConformerLayer(nn.Module):
    def __init__(self, cfg: ConformerConfig):
        super().__init__()
        d = cfg.d_model
        self.ffn1, self.ffn2 = FeedForward(d, cfg.ffn_dim), FeedForward(d, cfg.ffn_dim)
        self.attn_norm = nn.LayerNorm(d)
        if cfg.attention == "relative":
            self.attn = RelativeSelfAttention(d, cfg.num_heads, cfg.max_frames)
        elif cfg.attention == "absolute":
            self.attn = SelfAttention(d, cfg.num_heads)
        else:
            raise ValueError(f"attention={cfg.attention!r}: 'absolute' or 'relative'")
        self.conv = ConvModule(d, cfg.kernel_size)
        self.final_norm = nn.LayerNorm(d)

    def forward(self, x, mask=None):
        x = x + 0.5 * self.ffn1(x)
        x = x + self.attn(self.attn_norm(x), mask)
        x = x + self.conv(x)
        x = x + 0.5 * self.ffn2(x)
        return self.final_norm(x)


def subsampled_length(length):
    """Frames after the two 3x3 stride-2 convolutions: ((L - 1) >> 1) - 1 >> 1,
    integer arithmetic that works on a Python int and on an int64 tensor."""
    return (((length - 1) >> 1) - 1) >> 1


class Conformer(nn.Module):
    """features [B, T, 80] -> log-probabilities [B, T', classes], T' = subsampled_length(T).

    with_lengths: forward(features, lengths) also returns the output lengths
    and masks the padded frames out of attention (the mask is built from the
    lengths with tensor ops only, so it traces without .item())."""

    def __init__(self, cfg: ConformerConfig = ConformerConfig(), with_lengths: bool = False):
        super().__init__()
        d = cfg.d_model
        self.cfg, self.with_lengths = cfg, with_lengths
        self.subsample = nn.Sequential(nn.Conv2d(1, d, 3, 2), nn.ReLU(), nn.Conv2d(d, d, 3, 2),
                                       nn.ReLU())
        freq = subsampled_length(cfg.input_dim)
        self.project = nn.Linear(d * freq, d)
        self.layers = nn.ModuleList(ConformerLayer(cfg) for _ in range(cfg.num_layers))
        self.head = nn.Linear(d, cfg.num_classes)

    def forward(self, features, lengths=None):
        x = self.subsample(features.unsqueeze(1))          # [B, d, T', F']
        b, c, t, f = x.shape
        x = self.project(x.permute(0, 2, 1, 3).reshape(b, t, c * f))
        mask, out_lengths = None, None
        if self.with_lengths and lengths is not None:
            out_lengths = subsampled_length(lengths)
            frames = torch.arange(t, device=x.device)
            padded = frames[None, :] >= out_lengths[:, None]              # [B, T']
            mask = torch.where(padded, -1e4, 0.0)[:, None, None, :]       # additive
        for layer in self.layers:
            x = layer(x, mask)
        logp = torch.log_softmax(self.head(x), dim=-1)
        return (logp, out_lengths) if out_lengths is not None else logp


def conformer(num_layers: int = 2, seconds: float = 1.0, seed: int = 0, **sizes):
    """The model (eval, random weights, BatchNorm statistics randomised) and an
    example input of `seconds` of audio's features [1, frames, 80]."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = Conformer(ConformerConfig(num_layers=num_layers, **sizes))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.weight.uniform_(0.8, 1.2, generator=g)
                m.bias.uniform_(-0.1, 0.1, generator=g)
    frames = 1 + int(seconds * SAMPLE_RATE) // HOP
    return model.eval(), (torch.randn(1, frames, model.cfg.input_dim, generator=g),)


# ------------------------------------------------------------- front end, decode

def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE):
    """HTK-style triangular mel filters [n_fft // 2 + 1, n_mels]."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(rate / 2), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.linspace(0, rate / 2, n_fft // 2 + 1)
    fb = np.zeros((n_fft // 2 + 1, n_mels), np.float32)
    for m in range(n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[:, m] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return torch.from_numpy(fb)


def log_mel(audio: torch.Tensor) -> torch.Tensor:
    """audio [samples] at 16 kHz -> [1, frames, 80] log-Mel features (512-sample
    Hann window, hop 160), normalised per utterance."""
    spec = torch.stft(audio, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    power = spec.abs() ** 2                                  # [257, frames]
    feats = torch.log(power.T @ mel_filterbank() + 1e-6)     # [frames, 80]
    feats = (feats - feats.mean()) / (feats.std() + 1e-5)
    return feats[None]


def greedy_ctc(log_probs: np.ndarray, blank: int = 0) -> list[int]:
    """Best path: argmax per frame, repeats collapsed, blanks dropped."""
    best = np.asarray(log_probs).reshape(-1, np.asarray(log_probs).shape[-1]).argmax(-1)
    out, previous = [], blank
    for token in best.tolist():
        if token != previous and token != blank:
            out.append(token)
        previous = token
    return out


def synthetic_audio(seconds: float, seed: int = 0) -> torch.Tensor:
    """A few seconds of tones and noise (no downloads at run time)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tones = sum(torch.sin(2 * math.pi * f * t) * (0.3 / (i + 1))
                for i, f in enumerate((220.0, 440.0, 1234.0)))
    return tones + 0.05 * torch.randn(t.shape, generator=g)


# ------------------------------------------------------------------ compile, check

def sqnr_db(reference: np.ndarray, got: np.ndarray) -> float:
    """SQNR of log-probabilities with each frame's mean removed: the logits up
    to a per-frame constant (log_softmax's large common offset would flatter
    the figure by ~20 dB)."""
    def centred(v):
        v = np.asarray(v, np.float64)
        return v - v.mean(axis=-1, keepdims=True)
    ref, noise = centred(reference), centred(got) - centred(reference)
    return 10 * math.log10(float((ref ** 2).sum()) / max(float((noise ** 2).sum()), 1e-30))


def run(num_layers: int = 2, seconds: float = 1.0, seed: int = 0, calibration: int = 4,
        target: str = "ethos-u85-256", simulate: bool = True, a16w8=False,
        a16w8_threshold_db: float = 40.0, **sizes) -> dict:
    """Quantizes the Conformer once and compiles it for the host, tosa-int and
    `target`; returns the split, Vela's estimate, SQNR and agreement. `sizes`
    override ConformerConfig fields (tests use a narrower model).

    a16w8: False (int8), True (int16 activations everywhere), "auto" (int16 in
    the layers whose own int8 error is below a16w8_threshold_db at the output,
    ptec.quant.mixed) or a list of layers (module paths) to run in int16."""
    import ptec
    from ptec.report import DELEGATE, runs_on

    model, inputs = conformer(num_layers, seconds, seed, **sizes)
    g = torch.Generator().manual_seed(seed + 1)
    cal = [(torch.randn(inputs[0].shape, generator=g),) for _ in range(calibration - 1)]
    cal.append((log_mel(synthetic_audio(seconds, seed))[:, : inputs[0].shape[1]],))
    if a16w8 is True:
        config = ptec.A16W8(calibration=cal, observer="minmax", tosa_friendly=True)
    else:
        config = ptec.Int8(calibration=cal, observer="minmax", tosa_friendly=True,
                           a16w8=a16w8 or None, a16w8_threshold_db=a16w8_threshold_db)
    converted = ptec.quantize.quantize(model, inputs, config)
    programs = {"host": ptec.compile(converted, inputs),
                "tosa-int": ptec.compile(converted, inputs, target="tosa-int")}
    if target:
        programs[target] = ptec.compile(converted, inputs, target=target)
    result: dict = {"layers": num_layers, "frames": inputs[0].shape[1], "scheme": config.name,
                    "a16w8": converted.ptec_a16w8}
    for name, program in programs.items():
        cpu = [i.operator for i in program.instructions if runs_on(i) != DELEGATE]
        result[name] = {"delegates": sum(runs_on(i) == DELEGATE for i in program.instructions),
                        "cpu": cpu, "program": program}
    features = log_mel(synthetic_audio(seconds, seed + 7))[:, : inputs[0].shape[1]]
    outs = {"host": np.asarray(ptec.load(programs["host"].buffer)(features)[0]),
            "tosa-int": np.asarray(ptec.load(programs["tosa-int"].buffer)(features)[0])}
    if target and simulate:
        try:
            outs[target] = np.asarray(ptec.load(programs[target].buffer, target=target)(features)[0])
        except Exception as e:  # the simulator names commands it does not model
            result["simulator"] = f"{type(e).__name__}: {e}"
    with torch.no_grad():
        reference = model(features).numpy()
    result["outputs"] = outs
    result["equal"] = {k: bool(np.array_equal(v, outs["host"])) for k, v in outs.items()}
    result["sqnr_db"] = sqnr_db(reference, outs["host"])
    result["tokens"] = {"fp32": greedy_ctc(reference), "int8": greedy_ctc(outs["host"])}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--target", default="ethos-u85-256")
    parser.add_argument("--attention", choices=("absolute", "relative"), default="absolute")
    parser.add_argument("--a16w8", nargs="?", const=True, default=False,
                        help="int16 activations: everywhere, or 'auto' (per layer, by "
                             "their measured int8 error), or a comma-separated list of layers")
    parser.add_argument("--a16w8-threshold-db", type=float, default=40.0,
                        help="with --a16w8 auto: layers whose own int8 error leaves less "
                             "than this SQNR at the output get int16")
    parser.add_argument("--no-sim", action="store_true", help="skip the NPU simulator")
    args = parser.parse_args(argv)
    a16w8 = args.a16w8
    if isinstance(a16w8, str) and a16w8 != "auto":
        a16w8 = a16w8.split(",")
    r = run(args.layers, args.seconds, target=args.target, simulate=not args.no_sim,
            a16w8=a16w8, a16w8_threshold_db=args.a16w8_threshold_db, attention=args.attention)
    print(f"Conformer, {r['layers']} layers, {r['frames']} frames, {r['scheme']}")
    if r["a16w8"] is not None:
        print(r["a16w8"].describe())
    for name in ("host", "tosa-int", args.target):
        if name in r and name != "host":
            print(f"  {name}: {r[name]['delegates']} delegate(s), CPU: {r[name]['cpu']}")
    if args.target in r:
        report = r[args.target]["program"].report()
        print("\n".join(line for line in report.splitlines() if "Vela estimates" in line
                        or "NPU/CPU split" in line))
    print(f"  SQNR vs fp32 (frame-centred log-probabilities): {r['sqnr_db']:.1f} dB")
    print(f"  bit for bit equal to the host int8 program: {r['equal']}")
    if "simulator" in r:
        print(f"  simulator: {r['simulator']}")
    print(f"  greedy CTC tokens fp32 {r['tokens']['fp32'][:12]} int8 {r['tokens']['int8'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
