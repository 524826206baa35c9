"""OPT-125M decoding on this host: ptec against ExecuTorch + XNNPACK and PyTorch eager, and
the share of the machine's memory bandwidth ptec's decode reaches (issue 14).

    .venv/bin/python bench/opt125m.py [--context 256] [--prompt 16] [--steps 32]
                                      [--threads 1,2] [--only ptec,et,eager] [--repeat 2]

One model (python/ptec/llm/opt.py with OPT-125M's sizes: vocab 50272, hidden 768, 12 layers,
12 heads, FFN 3072), random weights (normal, std 0.02 as OPT initializes) from seed 0, a static
KV cache of `--context` positions. Every flow runs the same `--prompt`-token prompt, prefilled
in one call, then `--steps` decode steps, timed as tokens/s (best of `--repeat`):

- ptec: `build/host/ptec-generate` (the C generation loop) on `ptec.llm.compile_llm`
  programs (attention over the filled cache rows): fp32, int8 weight-only and 8da4w (int4
  groups of 32 with dynamic int8 activations), from `ptec.llm.quantize_weights`;
- ExecuTorch 1.4.1 + XNNPACK: the same model through ExecuTorch's own flow
  (`to_edge_transform_and_lower` with `XnnpackPartitioner`; the cache is a mutable buffer
  as in its LLM export), fp32 and 8da4w (torchao's `Int8DynamicActivationIntxWeightConfig`,
  int4 groups of 32: what ExecuTorch's LLM export uses for XNNPACK), run by
  `executorch.runtime` (its C++ runtime; the Python call adds microseconds per token);
- PyTorch eager with the same static cache (`torch.no_grad`, fp32).

Bandwidth share: a decode step reads every weight once plus the filled KV rows, so
bytes/token = llm_decode.decode_bytes(model) + 2 * layers * hidden * 4 * (filled rows);
bytes/token * tokens/s over a STREAM-style read of 256 MiB measured in the same run
(llm_decode.read_bandwidth, split over as many threads as the row ran on) is the share of
the physical limit reached. A benchmark, not a test: it prints, it asserts nothing; on a
shared host compare rows of one run.

Threads: ptec-generate --threads N; PyTorch torch.set_num_threads(N); ExecuTorch's XNNPACK
delegate runs on ExecuTorch's own thread pool, sized to the cores at start-up, which
ignores torch.set_num_threads: it is resized with _unsafe_reset_threadpool(N) before the
methods are loaded (checked with _threadpool_get_thread_count).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from llm_decode import GENERATE, decode_bytes, read_bandwidth, run_generate
from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm, quantize_weights

OPT_125M = OPTConfig()  # its defaults are OPT-125M's sizes


def make_model(context: int, fused: bool) -> OPTForCausalLM:
    torch.manual_seed(0)
    model = OPTForCausalLM(OPT_125M, max_len=context, last_logits_only=True,
                           fused_attention=fused).eval()
    with torch.no_grad():  # OPT's initializer scale: random logits stay finite and varied
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    return model.requires_grad_(False)


def prompt_ids(n: int) -> list[int]:
    return list(range(1, n + 1))  # llm_decode.run_generate's prompt


def best_rates(run, repeat: int) -> tuple[float, float]:
    """The (prefill, decode) tokens/s of the run with the fastest decode."""
    return max((run() for _ in range(repeat)), key=lambda rates: rates[1])


def timed_steps(prefill, decode, args) -> tuple[float, float]:
    """Tokens/s of prefill(ids, positions) on the prompt and of `--steps` decode calls."""
    t0 = time.perf_counter()
    prefill(torch.tensor([prompt_ids(args.prompt)]), torch.arange(args.prompt))
    t1 = time.perf_counter()
    for i in range(args.steps):
        decode(torch.tensor([[5]]), torch.tensor([args.prompt + i]))
    t2 = time.perf_counter()
    return args.prompt / (t1 - t0), args.steps / (t2 - t1)


# ------------------------------------------------------------------------------------ ptec
def ptec_rows(scheme: str, args, tmp: Path) -> dict:
    model = make_model(args.context, fused=True)
    if scheme != "fp32":
        quantize_weights(model, scheme)
    path = tmp / f"opt125m_{scheme}.pte"
    compile_llm(model, prefill_len=args.prompt).save(path)
    rows = {n: best_rates(lambda: run_generate(path, args.steps + 1, args.prompt, n),
                          args.repeat) for n in args.threads}
    return {"rows": rows, "bytes": decode_bytes(model)}


# -------------------------------------------------------------------- ExecuTorch + XNNPACK
def et_program(scheme: str, n: int, args) -> bytes:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    model = make_model(args.context, fused=False)
    if scheme == "8da4w":
        from torchao.quantization import quantize_
        from torchao.quantization.granularity import PerGroup
        from torchao.quantization.quant_api import Int8DynamicActivationIntxWeightConfig
        quantize_(model, Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4,
                                                               weight_granularity=PerGroup(32)))
    inputs = (torch.tensor([prompt_ids(n)]), torch.arange(n))
    exported = torch.export.export(model, inputs, strict=False)
    lowered = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    return lowered.to_executorch().buffer


def et_rows(scheme: str, args) -> dict:
    from executorch.runtime import Runtime
    try:
        prefill_pte, decode_pte = (et_program(scheme, n, args) for n in (args.prompt, 1))
    except Exception as e:  # a peer's flow failing is a result to print
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"}

    def run():
        runtime = Runtime.get()
        methods = [runtime.load_program(pte).load_method("forward")
                   for pte in (prefill_pte, decode_pte)]
        return timed_steps(*(lambda *x, m=m: m.execute(x) for m in methods), args)

    from executorch.extension.pybindings.portable_lib import (_threadpool_get_thread_count,
                                                              _unsafe_reset_threadpool)
    rows = {}
    for n in args.threads:
        # XNNPACK runs on ExecuTorch's own thread pool, sized to the cores at start-up; it
        # ignores torch.set_num_threads. Resized before the methods are loaded (the
        # delegate takes the pool when it is initialised, in run()).
        _unsafe_reset_threadpool(n)
        if _threadpool_get_thread_count() != n:
            return {"error": f"ExecuTorch's thread pool has {_threadpool_get_thread_count()} "
                             f"threads, not {n}"}
        rows[n] = best_rates(run, args.repeat)
    return {"rows": rows}


# --------------------------------------------------------------------------------- eager
def eager_rows(args) -> dict:
    model = make_model(args.context, fused=False)

    def run():
        model.reset_cache()
        with torch.no_grad():
            return timed_steps(model, model, args)

    rows = {}
    for n in args.threads:
        torch.set_num_threads(n)
        rows[n] = best_rates(run, args.repeat)
    return {"rows": rows}


def read_bandwidth_threads(threads: int, nbytes: int = 256 << 20, runs: int = 5) -> float:
    """llm_decode.read_bandwidth's read split over `threads` threads (numpy's sum releases
    the GIL), in bytes/s: the limit a decode on that many threads is measured against."""
    if threads == 1:
        return read_bandwidth(nbytes, runs)
    import numpy as np
    from concurrent.futures import ThreadPoolExecutor
    parts = np.array_split(np.ones(nbytes // 4, np.float32), threads)
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(runs):
            t = time.perf_counter()
            list(pool.map(np.sum, parts))
            best = min(best, time.perf_counter() - t)
    return nbytes / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--prompt", type=int, default=16)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--only", default="ptec,et,eager")
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    only = set(args.only.split(","))
    if "ptec" in only and not GENERATE.exists():
        print(f"{GENERATE} is missing: make build-host", file=sys.stderr)
        return 1
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "ptec" in only:
            for scheme in ("fp32", "int8", "8da4w"):
                results[f"ptec {scheme}"] = ptec_rows(scheme, args, Path(tmp))
        if "et" in only:
            for scheme in ("fp32", "8da4w"):
                results[f"ExecuTorch+XNNPACK {scheme}"] = et_rows(scheme, args)
        if "eager" in only:
            results["PyTorch eager fp32"] = eager_rows(args)
    bandwidth = {n: read_bandwidth_threads(n) for n in args.threads}
    kv_bytes = 2 * OPT_125M.num_hidden_layers * OPT_125M.hidden_size * 4 * (
        args.prompt + args.steps / 2)
    print(f"OPT-125M, context {args.context}, prompt {args.prompt}, {args.steps} decode steps, "
          f"best of {args.repeat}; memory read bandwidth "
          + ", ".join(f"{bw / 1e9:.2f} GB/s on {n} thread{'s' * (n > 1)}"
                      for n, bw in bandwidth.items()) + "\n\n"
          "| flow | threads | prefill tok/s | decode tok/s | bytes/token | share of bandwidth |\n"
          "|---|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        if "error" in result:
            print(f"| {name} | | failed: {result['error']} | | | |")
            continue
        for threads, (prefill, decode) in result["rows"].items():
            cells = ["", ""]
            if "bytes" in result:
                per_token = result["bytes"] + kv_bytes
                cells = [f"{per_token / 1e6:.1f} MB",
                         f"{per_token * decode / bandwidth[threads]:.0%}"]
            print(f"| {name} | {threads} | {prefill:.1f} | {decode:.2f} | " + " | ".join(cells)
                  + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
