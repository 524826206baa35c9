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
bytes/token * tokens/s over a STREAM-style read of 256 MiB (llm_decode.read_bandwidth,
split over as many threads as the row ran on) taken right after the row's run is the share
of the physical limit reached. On a shared host wall times move several-fold from minute to
minute, so one-thread rows also print the decode's CPU time per token (ptec-generate: the
CPU time of the run less that of a one-step run; ExecuTorch and eager: this process's
during the decode calls) and the share in CPU time, the steadier figures. A benchmark, not a
test: it prints, it asserts nothing.

Threads: ptec-generate --threads N; PyTorch torch.set_num_threads(N); ExecuTorch's XNNPACK
delegate runs on ExecuTorch's own thread pool, sized to the cores at start-up, which
ignores torch.set_num_threads: it is resized with _unsafe_reset_threadpool(N) before the
methods are loaded (checked with _threadpool_get_thread_count).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
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


def best_rates(run, repeat: int, threads: int) -> tuple:
    """(prefill tokens/s, decode tokens/s, decode CPU ms per token, read bandwidth) of the
    run with the fastest decode; the bandwidth read on `threads` threads right after each
    run (on a shared host it moves from minute to minute); the CPU time, the steadiest
    figure on a loaded host, only for one thread (with more it is a sum over threads)."""
    runs = []
    for _ in range(repeat):
        rates = run()
        runs.append((*rates[:2], rates[2] if threads == 1 else None,
                     read_bandwidth_threads(threads, runs=3),
                     read_bandwidth_cpu(runs=3) if threads == 1 else None))
    return max(runs, key=lambda r: r[1])


def timed_steps(prefill, decode, args) -> tuple[float, float, float]:
    """Tokens/s of prefill(ids, positions) on the prompt and of `--steps` decode calls, and
    the decode's CPU time (this process) per call in ms."""
    t0 = time.perf_counter()
    prefill(torch.tensor([prompt_ids(args.prompt)]), torch.arange(args.prompt))
    t1, c1 = time.perf_counter(), time.process_time()
    for i in range(args.steps):
        decode(torch.tensor([[5]]), torch.tensor([args.prompt + i]))
    t2, c2 = time.perf_counter(), time.process_time()
    return args.prompt / (t1 - t0), args.steps / (t2 - t1), (c2 - c1) / args.steps * 1e3


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ptec_generate_rates(path: Path, args, threads: int) -> tuple[float, float, float]:
    """ptec-generate's (prefill, decode) tokens/s, and its decode's CPU time per step in ms:
    the CPU time of the whole run less that of a run with one step (loading, prefill)."""
    c0 = children_cpu()
    prefill, decode = run_generate(path, args.steps + 1, args.prompt, threads)
    c1 = children_cpu()
    run_generate(path, 1, args.prompt, threads)
    c2 = children_cpu()
    return prefill, decode, ((c1 - c0) - (c2 - c1)) / args.steps * 1e3


# ------------------------------------------------------------------------------------ ptec
def ptec_rows(scheme: str, args, tmp: Path) -> dict:
    model = make_model(args.context, fused=True)
    if scheme != "fp32":
        quantize_weights(model, scheme)
    path = tmp / f"opt125m_{scheme}.pte"
    compile_llm(model, prefill_len=args.prompt).save(path)
    rows = {n: best_rates(lambda: ptec_generate_rates(path, args, n), args.repeat, n)
            for n in args.threads}
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
        rows[n] = best_rates(run, args.repeat, n)
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
        rows[n] = best_rates(run, args.repeat, n)
    return {"rows": rows}


def best_time(fn, runs: int, clock=time.perf_counter) -> float:
    """The shortest of `runs` calls of fn, timed by `clock`."""
    times = []
    for _ in range(runs):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def read_bandwidth_threads(threads: int, nbytes: int = 256 << 20, runs: int = 5) -> float:
    """llm_decode.read_bandwidth's read split over `threads` threads (numpy's sum releases
    the GIL), in bytes/s: the limit a decode on that many threads is measured against."""
    if threads == 1:
        return read_bandwidth(nbytes, runs)
    parts = np.array_split(np.ones(nbytes // 4, np.float32), threads)
    with ThreadPoolExecutor(threads) as pool:
        return nbytes / best_time(lambda: list(pool.map(np.sum, parts)), runs)


def read_bandwidth_cpu(nbytes: int = 256 << 20, runs: int = 5) -> float:
    """The same read on one thread in this thread's CPU time (time.thread_time): what one
    core streams while it runs, the denominator of a share in CPU time."""
    return nbytes / best_time(np.ones(nbytes // 4, np.float32).sum, runs, time.thread_time)


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
    kv_bytes = 2 * OPT_125M.num_hidden_layers * OPT_125M.hidden_size * 4 * (
        args.prompt + args.steps / 2)
    print(f"OPT-125M, context {args.context}, prompt {args.prompt}, {args.steps} decode steps, "
          f"best of {args.repeat}. Read bandwidth: a {256} MiB read on the row's threads "
          "right after the row. Share = bytes/token x decode tokens/s / that bandwidth; "
          "CPU share = bytes/token / decode CPU time / the read's own bandwidth in CPU time "
          "(one thread).\n\n"
          "| flow | threads | prefill tok/s | decode tok/s | decode CPU ms/token | bytes/token "
          "| read GB/s (CPU) | share of bandwidth | CPU share |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        if "error" in result:
            print(f"| {name} | | failed: {result['error']} | | | | | | |")
            continue
        for threads, (prefill, decode, cpu_ms, bandwidth, cpu_bw) in result["rows"].items():
            cells = [f"{cpu_ms:.1f}" if cpu_ms else "", "", f"{bandwidth / 1e9:.2f}"
                     + (f" ({cpu_bw / 1e9:.2f})" if cpu_bw else ""), "", ""]
            if "bytes" in result:
                per_token = result["bytes"] + kv_bytes
                cells[1] = f"{per_token / 1e6:.1f} MB"
                cells[3] = f"{per_token * decode / bandwidth:.0%}"
                if cpu_ms:
                    cells[4] = f"{per_token / (cpu_ms / 1e3) / cpu_bw:.0%}"
            print(f"| {name} | {threads} | {prefill:.1f} | {decode:.2f} | " + " | ".join(cells)
                  + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
