"""Threads in a language model's kernels (issue 14; docs/llm.md "Threads"): the fp32
matmul (mm, addmm, bmm, linear: runtime/src/kernels/portable/op_matmul.c cuts C's columns,
or its rows when there are few columns, into one share per thread), the int8 weight-only
linear (llm/op_linear_int8w.c: units of 16 outputs) and the attention over the KV cache
(portable/op_cached_attention.c: (head, query) pairs).

- On random shapes (seed printed; PTEC_SEED replays), sized past the kernels' thresholds
  for waking the pool, 1, 2 and 3 threads give the same bits; and the threaded result is
  within the rounding bound of the exact (float64) value: for an fp32 sum of K products in
  any order, with or without FMA, gamma_K * sum |a b| (gamma_n = n u / (1 - n u),
  u = 2^-24) plus the epilogue's roundings (alpha, beta, scale, bias);
- a small OPT (hidden 128, vocab 1024: its head and FFN layers are above the threshold)
  compiled fp32: 1, 2 and 3 threads give the same logits through the Python API, and
  `ptec-generate --threads 2` the same tokens as one thread, which are eager's.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm, generate_greedy
from ptec.llm import quant_ops
from ptec.llm.attention import _reference as attention_reference, cached_attention
from ptec.llm.program import model_step
from ptec.llm.quantize import quantize_int8_rows

ROOT = Path(__file__).resolve().parents[2]
GENERATE = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run")).parent \
    / "ptec-generate"
THREADS = (1, 2, 3)
U = 2.0 ** -24


def gamma(n: int) -> float:
    return n * U / (1 - n * U)


def _run_threads(module: nn.Module, inputs: tuple) -> list[np.ndarray]:
    """The module's outputs with 1, 2 and 3 threads, after checking they are the same bits."""
    buffer = ptec.compile(module.eval(), inputs).buffer
    runs = [[t.numpy() for t in ptec.load(buffer, threads=n)(*inputs)] for n in THREADS]
    for n, run in zip(THREADS[1:], runs[1:]):
        for i, (one, many) in enumerate(zip(runs[0], run)):
            assert one.tobytes() == many.tobytes(), (
                f"output {i}: {n} threads differ from one (max diff "
                f"{np.abs(one.astype(np.float64) - many).max()})")
    return runs[0]


def _within(name: str, got: np.ndarray, exact: np.ndarray, bound: np.ndarray, seed: int):
    err = np.abs(got.astype(np.float64) - exact)
    assert (err <= bound).all(), \
        f"{name} (seed {seed}): worst {float((err / np.maximum(bound, 1e-300)).max()):.2f} " \
        "of the rounding bound"


# ----------------------------------------------------------------------------- fp32 matmul
class _Matmuls(nn.Module):
    """mm with B stored [K, N] (rows contiguous: the prompt and decode kernels), addmm with
    alpha and beta, mm with B = W^T of a stored [N, K] W (the tied head's strided read:
    dot products), bmm, and nn.Linear on a [1, T, K] input."""

    def __init__(self, b, bias, w, bb, lin):
        super().__init__()
        self.register_buffer("b", b)
        self.register_buffer("bias", bias)
        self.register_buffer("w", w)
        self.register_buffer("bb", bb)
        self.lin = lin

    def forward(self, a, a2, x3, ab):
        return (a @ self.b, torch.addmm(self.bias, a2, self.b, beta=0.5, alpha=2.0),
                a @ self.w.t(), torch.bmm(ab, self.bb), self.lin(x3))


def _matmul_case(rng: np.random.Generator, m: int, k: int, n: int):
    f = lambda *shape: torch.from_numpy(rng.normal(0, 1, shape).astype(np.float32))  # noqa: E731
    lin = nn.Linear(k, n)
    with torch.no_grad():
        lin.weight.copy_(f(n, k))
        lin.bias.copy_(f(n))
    batch, bm, bn = int(rng.integers(2, 4)), int(rng.integers(30, 60)), int(rng.integers(17, 30))
    module = _Matmuls(f(k, n), f(n), f(n, k), f(batch, k, bn), lin.requires_grad_(False))
    # bmm's few columns (bn < 2 * 16) and many rows: split by rows on 2 and 3 threads
    inputs = (f(m, k), f(m, k), f(1, m, k), f(batch, bm, k))
    return module, inputs


def _exact_and_bound(a, b, k, alpha=1.0, d=None, beta=0.0, extra=0):
    a, b = a.astype(np.float64), b.astype(np.float64)
    exact, mag = alpha * (a @ b), abs(alpha) * (np.abs(a) @ np.abs(b))
    if d is not None:
        exact, mag = exact + beta * d, mag + abs(beta) * np.abs(d)
    return exact, gamma(k + 1 + extra) * mag


@pytest.mark.parametrize("case", range(3))
def test_fp32_matmul_threads_bit_identical(seed, case):
    rng = np.random.default_rng(seed * 7 + case)
    # a decode row of OPT-125M's projections, a prompt, then random shapes crossing the
    # 16-column units, the AVX-512 kernels' 4-row groups and 1024-column blocks
    m, k, n = [(1, 768, 768), (16, 768, 1040), (int(rng.choice([1, 2, 3, 5, 9, 19])),
                                                int(rng.integers(64, 800)),
                                                int(rng.integers(90, 1100)))][case]
    module, inputs = _matmul_case(rng, m, k, n)
    mm, addmm, head, bmm, lin = _run_threads(module, inputs)
    a, a2, x3, ab = (t.numpy() for t in inputs)
    shape = f"{m}x{k} @ {k}x{n}"
    checks = [
        ("mm " + shape, mm, *_exact_and_bound(a, module.b.numpy(), k)),
        ("addmm " + shape, addmm, *_exact_and_bound(a2, module.b.numpy(), k, 2.0,
                                                   module.bias.numpy()[None].astype(np.float64),
                                                   0.5, extra=2)),
        ("mm with B strided " + shape, head, *_exact_and_bound(a, module.w.numpy().T, k)),
        ("bmm " + str(tuple(ab.shape)), bmm, *_exact_and_bound(ab, module.bb.numpy(), k)),
        ("linear " + shape, lin[0], *_exact_and_bound(
            x3[0], module.lin.weight.numpy().T, k, 1.0,
            module.lin.bias.numpy()[None].astype(np.float64), 1.0, extra=1)),
    ]
    for name, got, exact, bound in checks:
        _within(name, got, exact, bound, seed)


# ------------------------------------------------------------------ int8 weight-only linear
class _Int8w(nn.Module):
    def __init__(self, q, scales, bias):
        super().__init__()
        self.register_buffer("q", q)
        self.register_buffer("s", scales)
        self.register_buffer("bias", bias)

    def forward(self, x):
        return quant_ops.linear_int8w(x, self.q, self.s, self.bias)


def test_int8w_linear_threads_bit_identical(seed):
    rng = np.random.default_rng(seed)
    for case in range(3):
        m = [1, int(rng.choice([2, 3, 5])), int(rng.choice([9, 16, 17]))][case]
        n, k = int(rng.integers(40, 900)), int(rng.integers(16, 800))
        q, scales = quantize_int8_rows(
            torch.from_numpy(rng.normal(0, 1, (n, k)).astype(np.float32)))
        bias = torch.from_numpy(rng.normal(0, 1, n).astype(np.float32))
        x = torch.from_numpy(rng.normal(0, 1, (m, k)).astype(np.float32))
        (got,) = _run_threads(_Int8w(q, scales, bias), (x,))
        terms = x.double().numpy()[:, None, :] * q.double().numpy()[None]  # [M, N, K]
        s, b = scales.double().numpy(), bias.double().numpy()
        bound = gamma(k + 2) * (np.abs(terms).sum(-1) * s + np.abs(b))
        _within(f"linear_int8w M {m} N {n} K {k}", got, terms.sum(-1) * s + b, bound, seed)


# ------------------------------------------------------------------------------ attention
class _Attend(nn.Module):
    def forward(self, q, k, v, pos):
        return cached_attention(q, k, v, pos, 0.125)


def test_cached_attention_threads_bit_identical(seed):
    rng = np.random.default_rng(seed)
    heads, length, d = int(rng.integers(5, 13)), int(rng.integers(150, 300)), 64
    for t in (1, int(rng.integers(2, 9))):  # a decode step, a prompt
        f = lambda *shape: torch.from_numpy(rng.normal(0, 1, shape).astype(np.float32))  # noqa: E731
        q, k, v = f(1, heads, t, d), f(1, heads, length, d), f(1, heads, length, d)
        pos = torch.from_numpy(np.sort(rng.choice(np.arange(length // 2, length), t,
                                                  replace=False)))
        (got,) = _run_threads(_Attend(), (q, k, v, pos))
        want = attention_reference(q.double(), k.double(), v.double(), pos, 0.125).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                   err_msg=f"heads {heads} T {t} L {length} (seed {seed})")


# ------------------------------------------------------------------------------- small OPT
SMALL = OPTConfig(vocab_size=1024, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                  ffn_dim=512, max_position_embeddings=128)
MAX_LEN, PREFILL, STEPS = 64, 8, 24


def _small_opt() -> OPTForCausalLM:
    torch.manual_seed(0)
    model = OPTForCausalLM(SMALL, max_len=MAX_LEN, last_logits_only=True,
                           fused_attention=True).eval()
    for p in model.parameters():
        if p.dim() > 1:  # varied greedy tokens (test_llm_opt.py's reason)
            torch.nn.init.normal_(p, std=0.3)
    return model.requires_grad_(False)


def test_small_opt_threads_same_logits_and_tokens(tmp_path):
    model = _small_opt()
    buffer = compile_llm(model, prefill_len=PREFILL).buffer
    ids, pos = torch.arange(3, 3 + PREFILL)[None], torch.arange(PREFILL)
    runs = []
    for n in THREADS:
        program = ptec.load(buffer, threads=n)
        runs.append([program.run([ids, pos], method="prefill")[0].numpy()]
                    + [program.run([torch.tensor([[7 + i]]), torch.tensor([PREFILL + i])],
                                   method="decode")[0].numpy() for i in range(3)])
    for n, run in zip(THREADS[1:], runs[1:]):
        for one, many in zip(runs[0], run):
            assert one.tobytes() == many.tobytes(), f"{n} threads: other logits than one"

    pte = tmp_path / "small_opt.pte"
    pte.write_bytes(buffer)
    prompt = list(range(20, 20 + PREFILL + 2))  # a prefill chunk, then 2 decode calls
    want, _ = generate_greedy(model_step(model), prompt, STEPS, PREFILL)
    for n in (1, 2):
        run = subprocess.run(
            [str(GENERATE), str(pte), "--prompt", ",".join(map(str, prompt)),
             "--steps", str(STEPS), "--threads", str(n)], capture_output=True, text=True,
            timeout=300)
        assert run.returncode == 0, run.stderr
        tokens = [int(t) for t in run.stdout.splitlines()[0].split()]
        assert tokens == want, f"ptec-generate --threads {n}: not eager's tokens"
