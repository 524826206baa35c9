"""Decode speed of an OPT in ptec with fp32, int8 weight-only and 8da4w (int4) weights.

    .venv/bin/python bench/llm_decode.py [--model mid|opt125m] [--steps 64] [--runs 2]
        [--threads 2]

For each scheme: the model (random weights, seed 0, attention over the filled cache rows),
`ptec.llm.quantize_weights` (docs/llm.md "Weight quantization"), `compile_llm` (prefill 8),
then `build/host/ptec-generate` with a 16-token prompt and --steps greedy tokens; prints its
prefill and decode tokens/s (the best of --runs), the bytes of weights a decode token reads
(every linear layer and the tied LM head once, one row of each embedding; the KV cache not
counted) and that times tokens/s, the CPU time of a decode step (Python API,
time.process_time: steadier than wall time when the host is shared), then that as a share of the memory read bandwidth
measured in the same run (numpy's sum of 256 MB: a STREAM-style read on one core). A benchmark, not a test: the 2-core host is shared, so
compare ratios within one run.

    mid:      examples/llm/make_mid_opt.py's model: vocab 512, hidden 256, 4 layers, 4 heads,
              FFN 1024, a 1024-position cache.
    opt125m:  OPT-125M's shapes (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 50272) with
              a 256-position cache.

    .venv/bin/python bench/llm_decode.py --kernels 1,16 [--repeat 20] [--threads 1]
        [--kernel-scheme 8da4w|int8] [--run build/host/ptec-run]

times the 8da4w (or int8 weight-only) linear kernels alone: OPT-125M's linear layers (12 x q, k, v, o, fc1, fc2 and
the 50272-output head; random weights) chained in one program, M rows of x, the best of
--repeat runs of build/host/ptec-run (one instruction after the other, nothing else in the
program), as ms, rows/s and the weights' bytes per ms: the decode (M 1) and prompt (M > 1)
throughput of the kernels, steadier on a loaded host than the whole model.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import ptec
from torch import nn

from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm, quantize_weights

ROOT = Path(__file__).resolve().parents[1]
GENERATE = ROOT / "build" / "host" / "ptec-generate"
RUN = ROOT / "build" / "host" / "ptec-run"

MODELS = {
    "mid": (OPTConfig(vocab_size=512, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                      ffn_dim=1024, max_position_embeddings=1024), 1024),
    "opt125m": (OPTConfig(), 256),
}


def decode_bytes(model: nn.Module) -> int:
    """Bytes of weights one decode step reads: each tensor of a non-embedding module once
    (the tied head reads the whole table), one row of an embedding not read otherwise."""
    seen, total = set(), 0
    embeddings = []
    for module in model.modules():
        if module is model or list(module.children()):
            continue
        tensors = list(module.parameters(recurse=False)) + [
            b for name, b in module.named_buffers(recurse=False) if not name.endswith("_cache")]
        if "Embedding" in type(module).__name__:
            embeddings.append(tensors)
            continue
        for t in tensors:
            if id(t) not in seen:
                seen.add(id(t))
                total += t.numel() * t.element_size()
    for tensors in embeddings:
        for t in tensors:
            if id(t) not in seen:  # one row (scales: one row too)
                total += t[0].numel() * t.element_size()
    return total


def read_bandwidth(nbytes: int = 256 << 20, runs: int = 5) -> float:
    """A STREAM-style read of `nbytes` (numpy's sum of a float32 array, one thread), best
    of `runs`, in bytes/s: what one core can stream from memory at this moment."""
    a = np.ones(nbytes // 4, np.float32)
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t)
    return nbytes / best


def run_generate(path: Path, steps: int, prompt_len: int = 16,
                 threads: int = 1) -> tuple[float, float]:
    """(prefill, decode) tokens/s of ptec-generate on a `prompt_len`-token prompt."""
    prompt = ",".join(str(i) for i in range(1, prompt_len + 1))
    run = subprocess.run([str(GENERATE), str(path), "--prompt", prompt, "--steps", str(steps),
                          "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    out = run.stdout + run.stderr
    prefill = float(re.search(r"prefill: \d+ tokens, ([\d.]+) tokens/s", out).group(1))
    decode = float(re.search(r"decode: \d+ tokens, ([\d.]+) tokens/s", out).group(1))
    return prefill, decode


def ms_per_decode(path: Path, steps: int = 32, runs: int = 3, threads: int = 1,
                  clock=time.process_time) -> float:
    """Time of one decode step through the Python API, best of `runs`: by default CPU time
    (time.process_time: this process's CPU only, steadier than wall time on a shared host);
    wall time (time.perf_counter) for runs with threads."""
    program = ptec.load(path.read_bytes(), threads=threads)
    ids, best = torch.tensor([[5]]), float("inf")
    for _ in range(runs):
        program.reset()
        t = clock()
        for i in range(steps):
            program.run([ids, torch.tensor([i])], method="decode")
        best = min(best, (clock() - t) / steps)
    return best * 1e3


def kernels(rows: list[int], repeat: int, threads: int, scheme: str = "8da4w",
            run_path: Path = RUN) -> None:
    """The quantized kernels alone (the docstring's --kernels)."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(12):
        layers += [nn.Linear(768, 768) for _ in range(4)]
        layers += [nn.Linear(768, 3072), nn.ReLU(), nn.Linear(3072, 768)]
    layers.append(nn.Linear(768, 50272, bias=False))
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=0.02)
    model = quantize_weights(nn.Sequential(*layers).eval(), scheme)
    nbytes = sum(b.numel() * b.element_size() for b in model.buffers())
    nbytes += sum(p.numel() * p.element_size() for p in model.parameters())
    print(f"{scheme} linears of OPT-125M: {nbytes / 1e6:.1f} MB of weights, scales, sums and "
          f"biases; best of {repeat}, {threads} thread(s)")
    with tempfile.TemporaryDirectory() as tmp:
        for m in rows:
            x = torch.randn(m, 768)
            path = Path(tmp) / f"m{m}.pte"
            path.write_bytes(ptec.compile(model, (x,)).buffer)
            np.save(Path(tmp) / "x.npy", x.numpy())
            run = subprocess.run([str(run_path), str(path), "--input", str(Path(tmp) / "x.npy"),
                                  "--repeat", str(repeat), "--threads", str(threads)],
                                 capture_output=True, text=True, check=True)
            ms = float(re.search(r"best of \d+: ([\d.]+) ms", run.stderr).group(1))
            print(f"M {m:3d}: {ms:8.2f} ms  {m / ms * 1e3:8.1f} rows/s  "
                  f"{nbytes / ms / 1e6:6.2f} GB/s of weights", flush=True)
    bw = read_bandwidth()
    print(f"memory read bandwidth (numpy sum of 256 MB, best of 5): {bw / 1e9:.2f} GB/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="mid")
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--schemes", default="fp32,int8,8da4w")
    ap.add_argument("--threads", type=int, default=1,
                    help="also time decode steps with this many threads (Python API, wall)")
    ap.add_argument("--kernels", help="rows of x, e.g. 1,16: time the quantized kernels alone")
    ap.add_argument("--kernel-scheme", default="8da4w", choices=["8da4w", "int8"],
                    help="--kernels: the weights' scheme")
    ap.add_argument("--run", type=Path, default=RUN, help="--kernels: the ptec-run to time")
    ap.add_argument("--repeat", type=int, default=20, help="--kernels: best of this many")
    args = ap.parse_args()
    if args.kernels:
        kernels([int(m) for m in args.kernels.split(",")], args.repeat, args.threads,
                args.kernel_scheme, args.run)
        return 0
    if not GENERATE.exists():
        print(f"{GENERATE} is missing: make build-host", file=sys.stderr)
        return 1
    cfg, max_len = MODELS[args.model]
    print(f"{args.model}: hidden {cfg.hidden_size}, {cfg.num_hidden_layers} layers, vocab "
          f"{cfg.vocab_size}, cache {max_len}; 16-token prompt, {args.steps} steps, best of "
          f"{args.runs}")
    print(f"{'scheme':7s} {'file MB':>8s} {'weights/token':>14s} {'prefill tok/s':>14s} "
          f"{'decode tok/s':>13s} {'weights GB/s':>13s} {'decode CPU ms':>14s}")
    rows, threaded = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for scheme in args.schemes.split(","):
            torch.manual_seed(0)
            model = OPTForCausalLM(cfg, max_len=max_len, last_logits_only=True,
                                   fused_attention=True).eval()
            if scheme != "fp32":
                quantize_weights(model, scheme)
            t = time.perf_counter()
            compiled = compile_llm(model, prefill_len=8)
            path = Path(tmp) / f"{scheme}.pte"
            compiled.save(path)
            compile_s = time.perf_counter() - t
            del compiled
            best = max((run_generate(path, args.steps) for _ in range(args.runs)),
                       key=lambda r: r[1])
            nbytes = decode_bytes(model)
            rows[scheme] = (best[1], nbytes)
            cpu = ms_per_decode(path, min(args.steps, max_len - 1))
            if args.threads > 1:
                walls = [ms_per_decode(path, min(args.steps, max_len - 1), threads=n,
                                       clock=time.perf_counter) for n in (1, args.threads)]
                threaded[scheme] = walls
            print(f"{scheme:7s} {path.stat().st_size / 1e6:8.2f} {nbytes / 1e6:11.2f} MB "
                  f"{best[0]:14.1f} {best[1]:13.1f} {nbytes * best[1] / 1e9:13.2f} {cpu:14.3f}"
                  f"   (compiled in {compile_s:.0f} s)", flush=True)
    bw = read_bandwidth()
    print(f"memory read bandwidth (numpy sum of 256 MB, best of 5): {bw / 1e9:.2f} GB/s; "
          "weights read per second / bandwidth: " + ", ".join(
              f"{s} {b * v / bw:.0%}" for s, (v, b) in rows.items()))
    for scheme, (one, many) in threaded.items():
        print(f"{scheme}: decode step {one:.3f} ms on 1 thread, {many:.3f} ms on "
              f"{args.threads} threads (wall, Python API): {one / many:.2f}x")
    if "fp32" in rows:
        print("decode speed vs fp32: " + ", ".join(
            f"{s} {v / rows['fp32'][0]:.2f}x" for s, (v, _) in rows.items() if s != "fp32"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
