#!/usr/bin/env python3
"""ptec on an application CPU: reference kernels, the x86 AVX2 variants, and peers, in one run.

    .venv/bin/python bench/cpu_kernels.py [--models ds_cnn transformer ...] [--repeat 20]
                                          [--callgrind ds_cnn transformer] [--no-peers]
                                          [--baseline OTHER/ptec-run] [--target T]
                                          [--threads 1,2]

For each example model (MobileNetV2 and ResNet-18 at 224x224), fp32 and int8, on this host,
best of N, once per thread count of --threads (default 1; one row each):
  - ptec ref:  build/host-ref/ptec-run (-DPTEC_ISA_KERNELS=OFF: the plain C reference kernels;
               configured and built here when missing)
  - ptec:      build/host/ptec-run (the AVX2 / AVX-512 variants, chosen at run time) on programs
               compiled for --target (default x86-64-avx512 on a CPU with AVX-512 VNNI: int8
               convolution weights packed at compile time); ptec-run --threads N
  - ORT:       ONNX Runtime (fp32; int8 as QDQ from onnxruntime.quantization.quantize_static,
               per-channel weights), intra-op threads N
  - ET-XNN:    ExecuTorch's runtime with its XNNPACK delegate (int8 through XNNPACKQuantizer),
               its own thread pool reset to N threads before the method loads (it ignores
               torch.set_num_threads)
  - LiteRT:    ai-edge-litert's interpreter (XNNPACK, num_threads N) on litert-torch's fp32
               conversion, in LiteRT's own venv (--litert-python, default bench/.venv-litert:
               bench/README.md), through bench/litert_flow.py; fp32 only
  - eager:     PyTorch (fp32 only), torch.set_num_threads(N)
It prints milliseconds and each one's time over ptec's (>1: ptec is faster). --callgrind runs
ptec-run once under `valgrind --tool=callgrind` for both ptec builds and prints instruction
counts (the stable measure when the machine is shared; valgrind has no AVX-512, so under it
the run-time dispatch takes the AVX2 variants). --baseline times another build's ptec-run (an
older commit, say) on the same programs in the same run, for before/after tables. Peers that
are not installed show
"n/a"; onnxruntime, onnx and onnxscript are pinned in bench/requirements.txt. This is a
benchmark, not a test: nothing is asserted about time.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402

CONFIGS = {
    "ds_cnn": {},
    "transformer": {},
    "mobilenet_v2": {"resolution": 224},
    "resnet18": {"resolution": 224},
}
HOST_RUN = ROOT / "build" / "host" / "ptec-run"
REF_RUN = ROOT / "build" / "host-ref" / "ptec-run"


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def ensure_reference_build() -> None:
    if REF_RUN.exists():
        return
    cmake = str(ROOT / ".venv" / "bin" / "cmake")
    subprocess.run([cmake, "-S", str(ROOT / "runtime"), "-B", str(REF_RUN.parent),
                    "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_C_COMPILER=gcc",
                    "-DPTEC_ISA_KERNELS=OFF", "-DPTEC_BUILD_SHARED=OFF"], check=True,
                   capture_output=True)
    subprocess.run([cmake, "--build", str(REF_RUN.parent), "--target", "ptec-run", "-j", "2"],
                   check=True, capture_output=True)


def ptec_args(runner: Path, program: bytes, inputs, tmp: Path, tag: str) -> list[str]:
    path = tmp / f"{tag}.pte"
    path.write_bytes(program)
    args = [str(runner), str(path)]
    for k, x in enumerate(inputs):
        np.save(tmp / f"{tag}_in{k}.npy", x.contiguous().numpy())
        args += ["--input", str(tmp / f"{tag}_in{k}.npy")]
    return args


def time_ptec(args: list[str], repeat: int) -> float:
    result = subprocess.run(args + ["--repeat", str(repeat)], capture_output=True, text=True,
                            check=True)
    return float(re.search(r"best of \d+: ([\d.]+) ms", result.stderr).group(1))


def callgrind(args: list[str], tmp: Path) -> int:
    out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out"]
                         + args, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def int8_model(model, inputs):
    prepared = ptec.quantize.prepare(model, inputs, ptec.Int8())
    ptec.quantize.calibrate(prepared, [inputs])
    return ptec.quantize.convert(prepared)


# ---------------------------------------------------------------- peers

def ort_model(model, inputs, int8: bool, tmp: Path) -> Path:
    """ONNX Runtime's best flow: the exported model, or its QDQ int8 (static, per-channel)."""
    import onnxruntime as ort

    path = tmp / "model.onnx"
    torch.onnx.export(model, tuple(inputs), str(path), dynamo=False, opset_version=17)
    feeds_np = {f"input{k}": x.numpy() for k, x in enumerate(inputs)}
    if int8:
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                              quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.items = iter([dict(zip(names, feeds_np.values()))])

            def get_next(self):
                return next(self.items, None)

        pre = tmp / "model_pre.onnx"
        try:
            quant_pre_process(str(path), str(pre))
        except AssertionError:
            # ORT's symbolic shape inference asserts on a Reshape whose target shape is
            # computed in the graph (the transformer's heads split, rank not a literal);
            # ONNX's own shape inference and the optimizer still run without it.
            quant_pre_process(str(path), str(pre), skip_symbolic_shape=True)
        qpath = tmp / "model_int8.onnx"
        quantize_static(str(pre), str(qpath), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8)
        path = qpath
    return path


def time_ort(path: Path, inputs, repeat: int, threads: int) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    session.run(None, feeds)
    return best_of(lambda: session.run(None, feeds), repeat)


def et_xnnpack_program(model, inputs, int8: bool) -> bytes:
    """ExecuTorch's best CPU flow: the XNNPACK delegate (int8 through XNNPACKQuantizer)."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    exported = torch.export.export(model, tuple(inputs))
    if int8:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer, get_symmetric_quantization_config)
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        quantizer = XNNPACKQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=True))
        prepared = prepare_pt2e(exported.module(), quantizer)
        prepared(*inputs)
        exported = torch.export.export(convert_pt2e(prepared), tuple(inputs))
    program = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    return bytes(program.to_executorch().buffer)


def time_et_xnnpack(buffer: bytes, inputs, repeat: int, threads: int) -> float:
    from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool
    from executorch.runtime import Runtime

    # ExecuTorch's XNNPACK delegate runs on ExecuTorch's own thread pool, sized to the cores
    # at start-up (2 here) and deaf to torch.set_num_threads: N threads means resetting it
    # to N before the method (and its delegate) loads.
    _unsafe_reset_threadpool(threads)
    method = Runtime.get().load_program(buffer).load_method("forward")
    method.execute(list(inputs))
    return best_of(lambda: method.execute(list(inputs)), repeat)


def time_litert(python: Path, name: str, threads: list[int], repeat: int) -> dict:
    """LiteRT's times per thread count, from bench/litert_flow.py in LiteRT's venv."""
    import json

    out = subprocess.run([str(python), str(ROOT / "bench" / "litert_flow.py"), name,
                          "--threads", ",".join(map(str, threads)), "--repeat", str(repeat),
                          "--config", json.dumps(CONFIGS.get(name, {}))],
                         capture_output=True, text=True, check=True)
    return {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def cell(value) -> str:
    return f"{value:9.3f}" if isinstance(value, float) else f"{value:>9}"


def best_ratio(peers: dict, ours: float) -> str:
    """ptec's time over the fastest peer's (the goal: <= 0.9)."""
    times = [v for v in peers.values() if isinstance(v, float)]
    return f"{ours / min(times):9.2f}" if times else f"{'-':>9}"


def ratio(value, ours: float) -> str:
    return f"{value / ours:7.2f}" if isinstance(value, float) else f"{'-':>7}"


def has_avx512_vnni() -> bool:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= flags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(CONFIGS))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--callgrind", nargs="*", default=[],
                        help="models to count instructions of under callgrind (both builds)")
    parser.add_argument("--no-peers", action="store_true", help="ptec only")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another build's ptec-run, timed beside this one (before/after)")
    parser.add_argument("--target", default=None,
                        help="ptec's compile target for this build (default: x86-64-avx512 on a "
                             "CPU with AVX-512 VNNI, int8 weights packed at compile time; else "
                             "host); the reference build and --baseline run host programs")
    parser.add_argument("--litert-python", type=Path, default=ROOT / "bench" / ".venv-litert" /
                        "bin" / "python", help="LiteRT's venv's python (bench/README.md)")
    parser.add_argument("--threads", default="1",
                        help="thread counts, comma-separated (1,2): a row per count, every "
                             "flow given that many threads")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    target = args.target or ("x86-64-avx512" if has_avx512_vnni() else "host")
    ensure_reference_build()
    header = (f"{'model':24} {'ptec ref':>9} {'ptec':>9} {'ORT':>9} {'ET-XNN':>9} {'LiteRT':>9} "
              f"{'eager':>9} {'ref/ptec':>8} {'ORT/ptec':>8} {'ET/ptec':>8} {'LRT/ptec':>8} "
              f"{'eag/ptec':>8} {'ptec/best':>9}")
    print(header + "\n" + "-" * len(header), flush=True)
    counts = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name in args.models:
            model, inputs = EXAMPLES[name](**CONFIGS.get(name, {}))
            model.eval()
            for int8 in (False, True):
                tag = f"{name}-{'int8' if int8 else 'fp32'}"
                ours = model if not int8 else int8_model(model, inputs)
                program = ptec.compile(ours, inputs).buffer
                tuned = program if target == "host" else \
                    ptec.compile(ours, inputs, target=target).buffer
                host_args = ptec_args(HOST_RUN, tuned, inputs, tmp, tag + "-t")
                ref_args = ptec_args(REF_RUN, program, inputs, tmp, tag)
                # Each peer's program is built once, then timed at every thread count.
                flows = {}
                if not args.no_peers:
                    for key, fn in (("ort", lambda: ort_model(model, inputs, int8, tmp)),
                                    ("et", lambda: et_xnnpack_program(model, inputs, int8))):
                        try:
                            flows[key] = fn()
                        except Exception as e:  # noqa: BLE001 - a missing peer is reported
                            print(f"  {tag}: {key} n/a ({type(e).__name__}: {str(e)[:120]})",
                                  file=sys.stderr)
                litert = {}
                if not args.no_peers and not int8:
                    try:
                        litert = time_litert(args.litert_python, name, threads, args.repeat)
                    except Exception as e:  # noqa: BLE001 - a missing peer is reported
                        print(f"  {tag}: litert n/a ({type(e).__name__}: {str(e)[-200:]})",
                              file=sys.stderr)
                for n in threads:
                    row = f"{tag} t={n}"
                    torch.set_num_threads(n)
                    t_ref = time_ptec(ref_args + ["--threads", str(n)], max(2, args.repeat // 4))
                    t_ptec = time_ptec(host_args + ["--threads", str(n)], args.repeat)
                    if args.baseline:
                        base_args = ptec_args(args.baseline, program, inputs, tmp, tag)
                        t_base = time_ptec(base_args + ["--threads", str(n)], args.repeat)
                        print(f"  {row}: baseline {t_base:.3f} ms, this build {t_ptec:.3f} ms "
                              f"({t_base / t_ptec:.2f}x)", flush=True)
                    peers = {"ort": "n/a", "et": "n/a", "litert": litert.get(n, "n/a"),
                             "eager": "-"}
                    if int8:
                        peers["litert"] = "-"  # fp32 only
                    timers = {"ort": lambda: time_ort(flows["ort"], inputs, args.repeat, n),
                              "et": lambda: time_et_xnnpack(flows["et"], inputs, args.repeat, n)}
                    for key in flows:
                        try:
                            peers[key] = timers[key]()
                        except Exception as e:  # noqa: BLE001 - a failing peer is reported
                            print(f"  {row}: {key} n/a ({type(e).__name__}: {str(e)[:120]})",
                                  file=sys.stderr)
                    if not int8 and not args.no_peers:
                        with torch.no_grad():
                            peers["eager"] = best_of(lambda: model(*inputs), args.repeat)
                    print(f"{row:24} {cell(t_ref)} {cell(t_ptec)} {cell(peers['ort'])} "
                          f"{cell(peers['et'])} {cell(peers['litert'])} {cell(peers['eager'])} "
                          f"{ratio(t_ref, t_ptec):>8} {ratio(peers['ort'], t_ptec):>8} "
                          f"{ratio(peers['et'], t_ptec):>8} {ratio(peers['litert'], t_ptec):>8} "
                          f"{ratio(peers['eager'], t_ptec):>8} {best_ratio(peers, t_ptec):>9}",
                          flush=True)
                if name in args.callgrind:
                    counts.append((tag, callgrind(ref_args, tmp), callgrind(host_args, tmp)))
    print("\nms, best of N, t=N threads for every flow; x/ptec > 1 means ptec is faster; "
          "ptec/best <= 0.9 (one thread) is the goal")
    if counts:
        print(f"\n{'callgrind (whole ptec-run)':28} {'ref instr':>14} {'ptec instr':>14} {'ratio':>7}")
        for tag, ref, new in counts:
            print(f"{tag:28} {ref:14,} {new:14,} {ref / new:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
