"""ptec vs ExecuTorch's Arm flow on Ethos-U NPUs: delegates, Vela's cycle estimates, .pte size.

For each model and NPU, the same seeded weights and calibration data are compiled twice:

  ptec        ptec.compile(model, (x,), target=npu, quantize=ptec.Int8(calibration=...))
  ExecuTorch  its Arm flow (1.4.1): EthosUQuantizer(EthosUCompileSpec(npu)) with
              get_symmetric_quantization_config(), prepare_pt2e / calibrate / convert_pt2e,
              to_edge_transform_and_lower(partitioner=[EthosUPartitioner(spec)]),
              .to_executorch() (default config: delegate blobs in 128-byte-aligned segments)

Both use Vela 5.2.0 from the venv with ExecuTorch's default system config and memory
mode (ptec's defaults are the same). Both sides' estimates come from one source:
ExecuTorch's TOSA graphs (captured as its EthosUBackend hands them to Vela; the flow
is tests/python/executorch_arm.py, which also puts build/tosa-tools on sys.path for
ExecuTorch's TOSA serializer) are compiled again with ptec.ethosu.vela.compile_tosa,
which reads Vela's summary CSV, as ptec does for its own delegates. The re-run's
command stream is checked against the one in ExecuTorch's .pte ("same cmd" column).

Cycles are summed over each program's NPU delegates; "CPU ops" counts the kernel
calls the .pte leaves to the Cortex-M (quantize/dequantize at the edges and
whatever was not delegated). Vela's figures are estimates, not measurements.

ptec's Ethos-U targets check that the program fits the Cortex-M55 board's 8 MiB
flash, which ResNet-18 int8 (a 10.7 MB .pte at 224x224) does not; the bench compiles ptec's side with
the same target without memories (ptec.compiler.get_target patched here) so every
model compiles; the generated program is the same, only the placement check is skipped.

    .venv/bin/python bench/ethos_u_vs_executorch.py \
        [--small] [--model mobilenet_v2 --model ds_cnn] [--npu ethos-u55-128] \
        [--calibration 4] [--seed 0] [--out build/bench-ethos-u] [--json results.json]

The ExecuTorch .pte files (and ptec's) are written to --out, named
<model>_<npu>_{executorch,ptec}.pte, with each delegate's TOSA graph as
<model>_<npu>_<side>_<k>.tosa; --json also keeps Vela's summed estimates (memory
traffic, MACs, encoded weights) of each side.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))
sys.path.insert(0, str(REPO / "tests" / "python"))  # executorch_arm: ExecuTorch's Arm flow

import torch  # noqa: E402

from executorch_arm import executorch_ethosu_lowered  # noqa: E402
from models import ds_cnn, mobilenet_v2, resnet18  # noqa: E402

import ptec  # noqa: E402
import ptec.compiler  # noqa: E402
from ptec.ethosu import parse_blob  # noqa: E402
from ptec.ethosu.npu import npu_config  # noqa: E402
from ptec.ethosu.report import npu_delegates  # noqa: E402
from ptec.ethosu.vela import _captured_output as quiet  # noqa: E402
from ptec.ethosu.vela import compile_tosa  # noqa: E402
from ptec.pte.file import delegate_bytes, deserialize_program  # noqa: E402

NPUS = ("ethos-u55-128", "ethos-u85-256")
MODELS = ("mobilenet_v2", "resnet18", "ds_cnn")


def make_model(name: str, small: bool, seed: int):
    if name == "mobilenet_v2":
        return mobilenet_v2(96, 0.5, seed=seed) if small else mobilenet_v2(224, 1.0, seed=seed)
    if name == "resnet18":
        return resnet18(96 if small else 224, seed=seed)
    if name == "ds_cnn":
        return ds_cnn(seed=seed)
    raise SystemExit(f"unknown model {name!r}; known: {', '.join(MODELS)}")


def model_label(name: str, small: bool) -> str:
    return {"mobilenet_v2": "MobileNetV2 96 x0.5" if small else "MobileNetV2 224 x1.0",
            "resnet18": "ResNet-18 96" if small else "ResNet-18 224",
            "ds_cnn": "DS-CNN 49x10"}[name]


@contextlib.contextmanager
def without_memory_check():
    """ptec's Ethos-U target with memories=None (no flash/RAM placement check)."""
    original = ptec.compiler.get_target

    def get_target(name, **kwargs):
        return dataclasses.replace(original(name, **kwargs), memories=None)

    ptec.compiler.get_target = get_target
    try:
        yield
    finally:
        ptec.compiler.get_target = original


def pte_facts(buffer: bytes) -> dict:
    """Delegates, their blobs and the CPU kernel calls of a .pte (ptec's or ExecuTorch's)."""
    program, segments = deserialize_program(buffer)
    plan = program.execution_plan[0]
    delegates = plan.delegates or []
    cpu_ops = []
    calls = 0
    for chain in plan.chains:
        for ins in chain.instructions:
            args = ins.instr_args
            kind = type(args).__name__
            if kind == "KernelCall":
                op = plan.operators[args.op_index]
                cpu_ops.append(f"{op.name}.{op.overload}" if op.overload else op.name)
            elif kind == "DelegateCall":
                calls += 1
    blobs = [delegate_bytes(program, segments, d) for d in delegates if d.id == "EthosUBackend"]
    return {"delegates": len(blobs), "delegate_calls": calls, "blobs": blobs,
            "cpu_ops": cpu_ops, "pte_bytes": len(buffer)}


def compile_ptec(model, x, npu: str, calibration, log: Path) -> dict:
    t0 = time.perf_counter()
    with without_memory_check(), quiet(log):
        program = ptec.compile(model, (x,), target=npu,
                               quantize=ptec.Int8(calibration=calibration))
    seconds = time.perf_counter() - t0
    buffer = bytes(program.buffer)
    facts = pte_facts(buffer)
    estimates = [d["estimates"] for d in program.report_data()["npu"]["delegates"]]
    tosa = [i.delegate_details.tosa for i in npu_delegates(program.instructions)]
    estimates = summed(estimates)
    facts.update(seconds=seconds, buffer=buffer, tosa=tosa, estimates=estimates,
                 npu_cycles=estimates.get("npu_cycles", 0.0),
                 total_cycles=estimates.get("total_cycles", 0.0), same_cmd=None)
    return facts


def compile_executorch(model, x, npu: str, calibration, log: Path) -> dict:
    t0 = time.perf_counter()
    with quiet(log):
        edge, tosa_graphs, _ = executorch_ethosu_lowered(model, (x,), calibration, npu)
        buffer = bytes(edge.to_executorch().buffer)
    seconds = time.perf_counter() - t0
    facts = pte_facts(buffer)
    npu = npu_config(npu)
    with quiet(log.with_suffix(".rerun.log")):
        rerun = [compile_tosa(t, npu) for t in tosa_graphs]
    estimates = summed([vela.estimates() for vela in rerun])
    same = len(tosa_graphs) == len(facts["blobs"]) and all(
        parse_blob(blob).cmd_data == vela.cmd_data for vela, blob in zip(rerun, facts["blobs"]))
    facts.update(seconds=seconds, buffer=buffer, tosa=tosa_graphs, estimates=estimates,
                 npu_cycles=estimates.get("npu_cycles", 0.0),
                 total_cycles=estimates.get("total_cycles", 0.0), same_cmd=same)
    return facts


def summed(estimates: list[dict]) -> dict:
    """Vela's estimates added up over delegates (clock: the first one's)."""
    out = {key: sum(e[key] for e in estimates) for key in (estimates[0] if estimates else {})}
    if estimates:
        out["core_clock_hz"] = estimates[0]["core_clock_hz"]
    return out


def ptec_revision() -> str:
    """Which ptec compiled: this checkout's HEAD (and whether python/ptec has uncommitted
    changes: others work in the tree), or the folder ptec was imported from."""
    package = Path(ptec.__file__).resolve().parent
    if package != REPO / "python" / "ptec":
        return f"from {package}"

    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                              text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--", "python/ptec")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted python/ptec changes"
                                                   if dirty else "")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="MobileNetV2 96x96 x0.5 and ResNet-18 at 96x96")
    parser.add_argument("--model", action="append", choices=MODELS, help="(repeat)")
    parser.add_argument("--npu", action="append", help="Vela accelerator (repeat)")
    parser.add_argument("--calibration", type=int, default=4, help="calibration inputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "build" / "bench-ethos-u"))
    parser.add_argument("--json", help="write the table as JSON here")
    args = parser.parse_args(argv)
    models = args.model or list(MODELS)
    npus = args.npu or list(NPUS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    print(f"ptec {ptec_revision()} vs ExecuTorch {version('executorch')} Arm flow, Vela "
          f"{version('ethos-u-vela')}; seed {args.seed}, {args.calibration} calibration "
          f"inputs; Vela's output in {logs}",
          flush=True)

    rows = []
    for name in models:
        for npu in npus:
            model, (x,) = make_model(name, args.small, args.seed)
            g = torch.Generator().manual_seed(args.seed + 1)
            calibration = [(torch.randn(x.shape, generator=g),) for _ in range(args.calibration)]
            row = {"model": model_label(name, args.small), "npu": npu}
            for side, fn in (("ptec", compile_ptec), ("executorch", compile_executorch)):
                try:
                    facts = fn(copy.deepcopy(model), x, npu, calibration,
                               logs / f"{name}_{npu}_{side}.log")
                except Exception as e:  # noqa: BLE001 - a failed compile is a table entry
                    print(f"{row['model']} {npu} {side}: FAILED: {type(e).__name__}: {e}",
                          flush=True)
                    row[side] = {"error": f"{type(e).__name__}: {e}"}
                    continue
                (out / f"{name}_{npu}_{side}.pte").write_bytes(facts.pop("buffer"))
                for k, graph in enumerate(facts.pop("tosa")):
                    (out / f"{name}_{npu}_{side}_{k}.tosa").write_bytes(graph)
                facts.pop("blobs")
                row[side] = facts
                print(f"{row['model']} {npu} {side}: {facts['delegates']} delegates, "
                      f"{facts['npu_cycles']:,.0f} NPU cycles, {facts['total_cycles']:,.0f} "
                      f"total cycles, CPU ops {len(facts['cpu_ops'])} "
                      f"({', '.join(sorted(set(facts['cpu_ops'])))}), "
                      f"{facts['pte_bytes']:,} B .pte, compiled in {facts['seconds']:.1f} s",
                      flush=True)
            rows.append(row)

    print()
    head = (f"{'model':<21} {'NPU':<14} {'deleg':>9} {'NPU cycles ptec':>16} {'ExecuTorch':>12} "
            f"{'ratio':>6} {'total cycles ptec':>18} {'ExecuTorch':>12} {'ratio':>6} "
            f"{'CPU ops':>8} {'.pte B ptec':>12} {'ExecuTorch':>12} {'same cmd':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        p, e = r.get("ptec", {}), r.get("executorch", {})
        if "error" in p or "error" in e:
            print(f"{r['model']:<21} {r['npu']:<14} FAILED: "
                  f"{p.get('error') or e.get('error')}"[:200])
            continue
        print(f"{r['model']:<21} {r['npu']:<14} {p['delegates']:>4}/{e['delegates']:<4} "
              f"{p['npu_cycles']:>16,.0f} {e['npu_cycles']:>12,.0f} "
              f"{ratio(p['npu_cycles'], e['npu_cycles']):>6} "
              f"{p['total_cycles']:>18,.0f} {e['total_cycles']:>12,.0f} "
              f"{ratio(p['total_cycles'], e['total_cycles']):>6} "
              f"{len(p['cpu_ops']):>3}/{len(e['cpu_ops']):<4} "
              f"{p['pte_bytes']:>12,} {e['pte_bytes']:>12,} {str(e['same_cmd']):>8}")
    print("\ndeleg, CPU ops: ptec/ExecuTorch; ratio: ptec/ExecuTorch (below 1: ptec's "
          "streams are estimated faster); same cmd: Vela re-run on ExecuTorch's TOSA gives "
          "the command stream in its .pte")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all("error" not in r.get(s, {}) for r in rows for s in ("ptec", "executorch")) \
        else 1


if __name__ == "__main__":
    sys.exit(main())
