"""ptec vs ExecuTorch's Arm flow on the Conformer speech model, Ethos-U85-256: Vela's
estimate and the CPU/NPU split of both, for the same model and the same weights.

The model is examples/conformer.py's (torchaudio's Conformer layer, Arm's ASR sizes:
80 mels, d 144, 4 heads, FF 576, kernel 31, 129 classes; 16 layers and 3 s of audio by
default, 301 frames -> 74 after subsampling), seeded weights, the same calibration
inputs on both sides (random features and the log-Mel features of synthetic audio).

  ptec        ptec.compile(model, (x,), target=npu,
                           quantize=ptec.Int8(calibration=..., observer="minmax"))
              (softmax / layer norm / GLU decomposed for TOSA, docs/transformers-npu.md)
  ExecuTorch  its Arm flow (1.4.1, tests/python/executorch_arm.py): EthosUQuantizer with
              get_symmetric_quantization_config(), PT2E calibration, EthosUPartitioner,
              .to_executorch()

Both sides run Vela (the venv's) with ExecuTorch's default system config and memory
mode for the NPU (ptec's defaults are the same). Vela's estimates are read from its
summary CSV: ptec's from its own report, ExecuTorch's from the summary of the Vela run
inside ExecuTorch's backend (its output directory is kept; the command stream in the
.pte is checked to be the one that run wrote).

The two sides are compiled in two processes at once (each is one core's work; the
16-layer model takes minutes of Vela on each side). Each side's figures are kept in
--out as JSON, so `--side` re-runs one of them and the table is printed from both.

    .venv/bin/python bench/conformer_npu.py [--layers 16] [--seconds 3] \
        [--npu ethos-u85-256] [--calibration 4] [--seed 0] [--out build/bench-conformer] \
        [--side ptec|executorch] [--table-only]
    .venv/bin/python bench/conformer_npu.py --int16-matmul   # int16 MATMUL on Vela/simulator
    .venv/bin/python bench/conformer_npu.py --a16w8-attention --layers 2 --seconds 1
                                  # int8 vs int16 x int16 attention matmuls in int16 layers
    .venv/bin/python bench/conformer_npu.py --a16w8-attention-vit --calibration 32 [--seed 1]

CPU instructions are the kernel calls the .pte leaves to the Cortex-M (quantize and
dequantize at the edges, and whatever is not delegated). Vela's figures are
estimates, not measurements.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "python"))  # executorch_arm: ExecuTorch's Arm flow

import torch  # noqa: E402

import conformer as example  # noqa: E402
from ethos_u_vs_executorch import (pte_facts, ptec_revision, quiet, summed,  # noqa: E402
                                   without_memory_check)

SIDES = ("ptec", "executorch")


def model_and_calibration(layers: int, seconds: float, seed: int, count: int):
    """The seeded Conformer, its example input and `count` calibration inputs (as
    examples/conformer.py's run() builds them)."""
    model, (x,) = example.conformer(layers, seconds, seed)
    g = torch.Generator().manual_seed(seed + 1)
    cal = [(torch.randn(x.shape, generator=g),) for _ in range(count - 1)]
    cal.append((example.log_mel(example.synthetic_audio(seconds, seed))[:, : x.shape[1]],))
    return model, x, cal


def compile_ptec(model, x, npu: str, calibration, log: Path) -> dict:
    import ptec

    t0 = time.perf_counter()
    with without_memory_check(), quiet(log):
        program = ptec.compile(model, (x,), target=npu,
                               quantize=ptec.Int8(calibration=calibration, observer="minmax"))
    seconds = time.perf_counter() - t0
    facts = pte_facts(bytes(program.buffer))
    facts.pop("blobs")
    estimates = summed([d["estimates"] for d in program.report_data()["npu"]["delegates"]])
    facts.update(seconds=seconds, estimates=estimates, same_cmd=None)
    return facts


def compile_executorch(model, x, npu: str, calibration, log: Path, work: Path) -> dict:
    """ExecuTorch's flow, with each Vela run's output directory kept under `work` so its
    summary CSV gives the estimate of the command stream that is in the .pte."""
    import numpy as np
    from executorch_arm import arm_flow, executorch_ethosu_lowered

    from ptec.ethosu import parse_blob
    from ptec.ethosu.npu import npu_config
    from ptec.ethosu.vela import VelaOutput, _read_csv

    et = arm_flow()
    runs: list[Path] = []
    original = et.backend.vela_compile

    def keep_output(tosa_flatbuffer, args, **kwargs):
        run_dir = work / f"vela_{len(runs)}"
        run_dir.mkdir(parents=True, exist_ok=True)
        runs.append(run_dir)
        kwargs["intermediate_path"] = str(run_dir)
        return original(tosa_flatbuffer, args, **kwargs)

    t0 = time.perf_counter()
    et.backend.vela_compile = keep_output
    try:
        with quiet(log):
            edge, tosa_graphs, _ = executorch_ethosu_lowered(model, (x,), calibration, npu)
            buffer = bytes(edge.to_executorch().buffer)
    finally:
        et.backend.vela_compile = original
    seconds = time.perf_counter() - t0
    facts = pte_facts(buffer)
    estimates, same = [], len(runs) == len(facts["blobs"])
    for run_dir, blob in zip(runs, facts.pop("blobs")):
        summary = _read_csv(sorted((run_dir / "output").glob("*summary*.csv"))[0])[0]
        estimates.append(VelaOutput(npu_config(npu), b"", b"", 0, 0, [], [],
                                    summary).estimates())
        with np.load(run_dir / "output" / "out_vela.npz", allow_pickle=False) as data:
            same = same and parse_blob(blob).cmd_data == data["cmd_data"].tobytes()
    facts.update(seconds=seconds, estimates=summed(estimates), same_cmd=same,
                 tosa_graphs=len(tosa_graphs))
    return facts


def run_side(side: str, args, out: Path) -> dict:
    model, x, cal = model_and_calibration(args.layers, args.seconds, args.seed, args.calibration)
    log = out / f"{side}.log"
    try:
        if side == "ptec":
            facts = compile_ptec(copy.deepcopy(model), x, args.npu, cal, log)
        else:
            facts = compile_executorch(copy.deepcopy(model), x, args.npu, cal, log,
                                       out / "executorch-vela")
    except Exception as e:  # noqa: BLE001 - a failed flow is the benchmark's finding
        import traceback
        facts = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    facts.update(layers=args.layers, seconds_audio=args.seconds, frames=x.shape[1],
                 npu=args.npu, seed=args.seed, calibration=args.calibration)
    (out / f"{side}.json").write_text(json.dumps(facts, indent=1))
    return facts


def side_line(side: str, f: dict) -> str:
    if "error" in f:
        return f"{side:<11} FAILED: {f['error']}"
    e = f["estimates"]
    ms = e.get("total_cycles", 0.0) / e["core_clock_hz"] * 1e3 if e.get("core_clock_hz") else 0.0
    cpu = ", ".join(f"{op} x{f['cpu_ops'].count(op)}" for op in sorted(set(f["cpu_ops"])))
    return (f"{side:<11} {f['delegates']:>3} NPU delegate(s), {len(f['cpu_ops'])} CPU "
            f"instruction(s) ({cpu}); Vela: {e.get('npu_cycles', 0):,.0f} NPU cycles, "
            f"{e.get('total_cycles', 0):,.0f} total = {ms:.2f} ms at "
            f"{e.get('core_clock_hz', 0) / 1e9:g} GHz, {e.get('macs', 0) / 1e6:,.1f} M MACs, "
            f"{e.get('encoded_weight_bytes', 0) / 1024:,.0f} KiB encoded weights, "
            f"SRAM {e.get('sram_bytes', 0) / 1024:,.1f} KiB; .pte {f['pte_bytes']:,} B; "
            f"compiled in {f['seconds']:.0f} s")


def int16_matmul_check(npu: str) -> int:
    """What int16 attention matmuls would meet (docs/transformers-npu.md): ExecuTorch's
    a16w8 flow on one int16 x int16 matmul (TOSA MATMUL -> INT48, RESCALE with scale16),
    Vela's split for it, ptec's simulated NPU running Vela's stream, and ptec's TOSA
    executor running the graph (the program's TOSA twin): equal bit for bit?"""
    import numpy as np
    from executorch_arm import arm_flow, executorch_ethosu_lowered

    import ptec
    from ptec.ethosu import tosa_twin_of_pte
    from ptec.tosa import schema as s
    from ptec.tosa.graph import read_graph

    class MatMul(torch.nn.Module):
        def forward(self, a, b):
            return torch.matmul(a, b)

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 4, 8, 16, generator=g), torch.randn(1, 4, 16, 8, generator=g)
    et = arm_flow()  # first: it puts ExecuTorch's TOSA serializer on sys.path
    from executorch.backends.arm.quantizer.arm_quantizer import (
        get_symmetric_a16w8_quantization_config)
    int8_config = et.get_symmetric_quantization_config
    et.get_symmetric_quantization_config = get_symmetric_a16w8_quantization_config  # the flow's
    try:
        with quiet(Path("/dev/null")):
            edge, tosa, _ = executorch_ethosu_lowered(MatMul(), (a, b), [(a, b)], npu)
            buffer = bytes(edge.to_executorch().buffer)
    finally:
        et.get_symmetric_quantization_config = int8_config
    graph = read_graph(tosa[0])
    ops = [f"{s.Op(op.op).name}({','.join(graph.tensors[n].dtype.name for n in op.inputs[:2])}"
           f"->{graph.tensors[op.outputs[0]].dtype.name})" for op in graph.operators
           if s.Op(op.op).name in ("MATMUL", "RESCALE")]
    facts = pte_facts(buffer)
    print(f"ExecuTorch a16w8 matmul on {npu}: {facts['delegates']} NPU delegate(s), CPU "
          f"{facts['cpu_ops']}; TOSA {ops}")
    twin = np.asarray(ptec.load(tosa_twin_of_pte(buffer, tosa), target="host")(a, b)[0])
    try:
        simulated = np.asarray(ptec.load(buffer, target=npu)(a, b)[0])
    except Exception as e:  # noqa: BLE001 - the simulator names what it does not model
        print(f"ptec's simulated {npu}: {type(e).__name__}: {e}")
        return 1
    print(f"ptec's simulated {npu} == ptec's TOSA executor: "
          f"{bool(np.array_equal(simulated, twin))}; max |TOSA - fp32| "
          f"{float(np.abs(twin - torch.matmul(a, b).numpy()).max()):.4f}")
    # ptec's own int16 matmul (ptec::quantized_matmul16 on the host, the same TOSA pair)
    converted = ptec.quantize.quantize(MatMul(), (a, b), ptec.A16W8(calibration=[(a, b)]))
    host = ptec.compile(converted, (a, b))
    with quiet(Path("/dev/null")):
        program = ptec.compile(converted, (a, b), target=npu)
    (blob,) = ptec.compile(converted, (a, b), target="tosa-int").program.backend_delegate_data
    graph = read_graph(blob.data)
    ops = [f"{s.Op(op.op).name}({','.join(graph.tensors[n].dtype.name for n in op.inputs[:2])}"
           f"->{graph.tensors[op.outputs[0]].dtype.name})" for op in graph.operators
           if s.Op(op.op).name in ("MATMUL", "RESCALE")]
    facts = pte_facts(bytes(program.buffer))
    cycles = summed([d["estimates"] for d in program.report_data()["npu"]["delegates"]])
    want = np.asarray(ptec.load(host.buffer)(a, b)[0])
    ptec_sim = np.asarray(ptec.load(program.buffer, target=npu)(a, b)[0])
    print(f"ptec a16w8 matmul on {npu}: {facts['delegates']} NPU delegate(s), CPU "
          f"{facts['cpu_ops']}; host {[i.operator for i in host.instructions]}; TOSA {ops}; "
          f"Vela {int(cycles.get('total_cycles', 0)):,} cycles; simulated == host: "
          f"{bool(np.array_equal(ptec_sim, want))}")
    return 0 if np.array_equal(simulated, twin) and np.array_equal(ptec_sim, want) else 1


#: The layers examples/conformer.py's a16w8="auto" picks at 40 dB (docs/transformers-npu.md)
AUTO_LAYERS = ["", "layers.0", "layers.1", "layers.1.ffn1", "layers.1.final_norm"]


def a16w8_attention(args) -> int:
    """ptec's Conformer with auto's int16 layers and every attention block int16, its
    attention matmuls int8 (a16w8_matmul=False) and int16 x int16 (the default): SQNR
    against fp32, Vela's estimate on the NPU, and the simulated NPU against the host."""
    import numpy as np

    import ptec
    from ptec.report import DELEGATE, runs_on

    model, x, cal = model_and_calibration(args.layers, args.seconds, args.seed, args.calibration)
    layers = AUTO_LAYERS + [f"layers.{i}.attn" for i in range(args.layers)]
    features = example.log_mel(example.synthetic_audio(args.seconds, args.seed + 7))
    features = features[:, : x.shape[1]]
    with torch.no_grad():
        reference = model(features).numpy()
    print(f"Conformer {args.layers} layers, {args.seconds:g} s, {args.npu}; int16 layers: "
          f"{', '.join(layer or '(top level)' for layer in layers)}")
    status = 0
    for matmul in (False, True):
        t0 = time.perf_counter()
        config = ptec.Int8(calibration=cal, observer="minmax", tosa_friendly=True,
                           a16w8=layers, a16w8_matmul=matmul)
        with without_memory_check(), quiet(Path("/dev/null")):
            converted = ptec.quantize.quantize(model, (x,), config)
            host = ptec.compile(converted, (x,))
            npu = ptec.compile(converted, (x,), target=args.npu)
        seconds = time.perf_counter() - t0
        e = summed([d["estimates"] for d in npu.report_data()["npu"]["delegates"]])
        want = np.asarray(ptec.load(host.buffer)(features)[0])
        simulated = np.asarray(ptec.load(npu.buffer, target=args.npu)(features)[0])
        kernels = sorted({i.operator for i in host.instructions if "matmul" in i.operator})
        cpu = [i.operator.split("::")[-1] for i in npu.instructions if runs_on(i) != DELEGATE]
        status |= not np.array_equal(simulated, want)
        print(f"  a16w8_matmul={matmul}: {kernels}; "
              f"{sum(runs_on(i) == DELEGATE for i in npu.instructions)} NPU delegate(s), CPU "
              f"{cpu}; SQNR {example.sqnr_db(reference, want):.2f} dB vs fp32; Vela "
              f"{int(e.get('total_cycles', 0)):,} cycles (NPU {int(e.get('npu_cycles', 0)):,}) = "
              f"{e.get('total_cycles', 0) / e.get('core_clock_hz', 1e9) * 1e3:.3f} ms; simulated "
              f"== host: {bool(np.array_equal(simulated, want))}; {seconds:.0f} s")
    return status


def a16w8_attention_vit(args) -> int:
    """The DeiT-class ViT of tests/python/test_vit_npu.py with every layer int16, its
    attention matmuls int8 and int16 x int16: the host program's SQNR against fp32 over
    32 held-out images (a single image's figure swings by dB with minmax clipping)."""
    import numpy as np

    import ptec
    from test_a16w8_matmul import VIT_LAYERS
    from test_vit_npu import DeiT, _sqnr

    torch.manual_seed(args.seed)
    model = DeiT().eval()
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(1, 3, 32, 32, generator=g)
    cal = [(torch.randn(1, 3, 32, 32, generator=g),) for _ in range(args.calibration)]
    tests = [torch.randn(1, 3, 32, 32, generator=g) for _ in range(32)]
    with torch.no_grad():
        reference = np.concatenate([model(t).numpy() for t in tests])
    print(f"DeiT-class ViT (d 48, 3 heads, 2 blocks), seed {args.seed}, {args.calibration} "
          f"calibration images, minmax")
    for layers, matmuls in ((None, (False,)), (VIT_LAYERS, (False, True))):
        for matmul in matmuls:
            config = ptec.Int8(calibration=cal, observer="minmax", tosa_friendly=True,
                               a16w8=layers, a16w8_matmul=matmul)
            with quiet(Path("/dev/null")):
                host = ptec.compile(ptec.quantize.quantize(model, (x,), config), (x,))
            run = ptec.load(host.buffer)
            got = np.concatenate([np.asarray(run(t)[0]) for t in tests])
            kind = ("all int8" if layers is None else
                    f"every layer int16, attention matmuls {'int16' if matmul else 'int8'}")
            print(f"  {kind}: {_sqnr(reference, got):.2f} dB vs fp32 on 32 images")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--npu", default="ethos-u85-256")
    parser.add_argument("--calibration", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "build" / "bench-conformer"))
    parser.add_argument("--side", choices=SIDES, help="compile only this side")
    parser.add_argument("--table-only", action="store_true",
                        help="print the table from the JSON in --out")
    parser.add_argument("--int16-matmul", action="store_true",
                        help="only check an int16 x int16 MATMUL (ExecuTorch's a16w8) on "
                             "Vela, ptec's simulated NPU and ptec's TOSA executor")
    parser.add_argument("--a16w8-attention", action="store_true",
                        help="only compare int8 and int16 x int16 attention matmuls in "
                             "int16 layers (SQNR, Vela, simulator); use with --layers 2 "
                             "--seconds 1")
    parser.add_argument("--a16w8-attention-vit", action="store_true",
                        help="the same comparison on the test's DeiT-class ViT (host SQNR)")
    args = parser.parse_args(argv)
    if args.a16w8_attention_vit:
        return a16w8_attention_vit(args)
    if args.int16_matmul:
        return int16_matmul_check(args.npu)
    if args.a16w8_attention:
        return a16w8_attention(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.side:
        f = run_side(args.side, args, out)
        print(side_line(args.side, f), flush=True)
        return 0 if "error" not in f else 1
    if not args.table_only:
        me = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])]
        jobs = [subprocess.Popen(me + ["--side", side]) for side in SIDES]
        for job in jobs:
            job.wait()

    import ptec  # noqa: F401 - ptec_revision reads its location
    results = {s: json.loads((out / f"{s}.json").read_text()) for s in SIDES
               if (out / f"{s}.json").exists()}
    first = next(iter(results.values()), {})
    print(f"\nConformer ({first.get('layers')} layers, Arm's ASR sizes, {first.get('seconds_audio')}"
          f" s = {first.get('frames')} frames, seed {first.get('seed')}, "
          f"{first.get('calibration')} calibration inputs) on {first.get('npu')}: ptec "
          f"{ptec_revision()} vs ExecuTorch {version('executorch')} Arm flow, Vela "
          f"{version('ethos-u-vela')}")
    for side in SIDES:
        if side in results:
            print(side_line(side, results[side]))
    p, e = results.get("ptec", {}), results.get("executorch", {})
    if "estimates" in p and "estimates" in e and e["estimates"].get("total_cycles"):
        print(f"ptec / ExecuTorch total cycles: "
              f"{p['estimates']['total_cycles'] / e['estimates']['total_cycles']:.3f}, "
              f"NPU cycles: {p['estimates']['npu_cycles'] / e['estimates']['npu_cycles']:.3f} "
              f"(below 1: ptec's stream is estimated faster); ExecuTorch's command stream "
              f"is the one its Vela summary describes: {e.get('same_cmd')}")
    elif "error" in e:
        print("ExecuTorch's flow failed; its traceback is in", out / "executorch.json")
    return 0 if all("error" not in r for r in results.values()) and len(results) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
