"""Footprint of ptec on Cortex-M55: the runtime core's code and a model's RAM.

    python bench/footprint.py                        # core size + MobileNetV2-int8 RAM
    python bench/footprint.py --no-model             # core size only
    python bench/footprint.py --resolution 96 --width 0.35 --json

Code: TensorFlow Lite Micro's method. Two firmware images for the emulated
Cortex-M55 (mps3-an547), built with arm-none-eabi-gcc at -Os
(MinSizeRel) from targets/common/footprint.c: `footprint-core` loads a
program, initialises its method, sets inputs, executes and reads an output
through the public API; `footprint-bare` does the same file I/O and printing
without the runtime. Both link the same startup, semihosting and newlib. The
runtime core is the difference of their .text/.rodata/.data/.bss. The kernel
table is generated from an empty operator list (selective build) and the
image links an empty delegate-backend table (targets/common/no_backends.c)
and no control flow (runtime/src/executor/without/no_control_flow.c), so no
kernel, no TOSA executor and no jumps/moves are linked: this is the core alone. Measured
twice: plain -Os, and -Os with link-time optimisation (-flto). A per-object
breakdown comes from the linker map. Goal (issue 5): at most 10 KB of code at
plain -Os.

RAM: a model (MobileNetV2-int8 by default) is compiled for cortex-m55 and
run once by the board's runner firmware (build/m55, `make build-m55`), which
reports the exact 32-bit figures: planned arena, method memory, scratch, the
program/method structures and the runtime's stack peak in init and execute.
Goal (issue 5): at most 8 KB beyond the arena for MobileNetV2.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples"))

BUILD = ROOT / "build" / "footprint"
SECTIONS = (".text", ".rodata", ".data", ".bss")
CMAKE = ROOT / ".venv" / "bin" / "cmake"


BUILD_LTO = ROOT / "build" / "footprint-lto"
CODE_GOAL = 10 * 1024  # bytes of .text at plain -Os
RAM_GOAL = 8 * 1024    # bytes beyond the arena for MobileNetV2


def build(build_dir: Path = BUILD, lto: bool = False) -> None:
    """Configures and builds the two footprint images at -Os with no kernels."""
    build_dir.mkdir(parents=True, exist_ok=True)
    empty_ops = build_dir / "no_kernels.def"
    empty_ops.write_text("/* No kernels: the runtime core alone (bench/footprint.py). */\n")
    cmake = str(CMAKE) if CMAKE.is_file() else "cmake"
    options = [f"-DCMAKE_TOOLCHAIN_FILE={ROOT}/cmake/toolchains/cortex-m55.cmake",
               "-DCMAKE_BUILD_TYPE=MinSizeRel", f"-DPTEC_OPS_DEF={empty_ops}",
               "-DPTEC_WITH_KERNEL_TESTS=OFF", "-DCMAKE_C_FLAGS="]
    if lto:  # link-time optimisation needs the gcc-ar wrappers for its archives
        options += ["-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON",
                    "-DCMAKE_AR=" + _tool("arm-none-eabi-gcc-ar"),
                    "-DCMAKE_RANLIB=" + _tool("arm-none-eabi-gcc-ranlib")]
    subprocess.run([cmake, "-S", str(ROOT / "targets"), "-B", str(build_dir), *options],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([cmake, "--build", str(build_dir), "-j", "2", "--target", "footprint-core",
                    "footprint-bare"], check=True, stdout=subprocess.DEVNULL)


def _tool(name: str) -> str:
    import shutil
    return shutil.which(name) or name


def section_sizes(elf: Path) -> dict[str, int]:
    """Sizes of the output sections, from `arm-none-eabi-size -A`."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], check=True,
                         capture_output=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("."):
            sizes[parts[0]] = int(parts[1])
    return {s: sizes.get(s, 0) for s in SECTIONS}


def map_contributions(map_file: Path) -> Counter:
    """Bytes per (output section, input object) from a GNU ld map file."""
    sizes: Counter = Counter()
    output = None
    pending = False
    for line in map_file.read_text().splitlines():
        m = re.match(r"^(\.[\w.]+)\s", line)
        if m:
            output = m.group(1)
            continue
        m = re.match(r"^ (\.[\w.$]+)\s*$", line)  # input section name alone; numbers follow
        if m:
            pending = True
            continue
        m = re.match(r"^ (?:\.[\w.$]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if m and (pending or line.startswith(" .")) and output in SECTIONS:
            obj = m.group(3).strip()
            sizes[(output, obj)] += int(m.group(2), 16)
        pending = False
    return sizes


def _component(obj: str, sources: dict[str, str]) -> str:
    m = re.search(r"libptec\.a\((\w+)\.c\.obj\)", obj)
    if m:
        return "runtime/" + sources.get(m.group(1), "?")
    m = re.search(r"(lib\w+)\.a\(", obj)
    if m:
        return m.group(1)
    return "application"


def core_breakdown(core_map: Path, bare_map: Path) -> dict[str, dict[str, int]]:
    """What the core image has that the bare one has not, by component."""
    sources = {p.stem: str(p.parent.relative_to(ROOT / "runtime" / "src"))
               for p in (ROOT / "runtime" / "src").rglob("*.c")}
    core, bare = map_contributions(core_map), map_contributions(bare_map)
    by: dict[str, dict[str, int]] = {}
    for key in set(core) | set(bare):
        delta = core.get(key, 0) - bare.get(key, 0)
        if delta:
            section, obj = key
            comp = by.setdefault(_component(obj, sources), dict.fromkeys(SECTIONS, 0))
            comp[section] += delta
    return by


def measure_core(build_dir: Path = BUILD, lto: bool = False) -> dict:
    core = section_sizes(build_dir / "footprint-core.elf")
    bare = section_sizes(build_dir / "footprint-bare.elf")
    return {
        "cpu": "cortex-m55",
        "flags": f"-Os{' -flto' if lto else ''} (MinSizeRel), arm-none-eabi-gcc, no kernels, "
                 "no delegate backends, no control flow",
        "bare": bare, "with_runtime": core,
        "core": {s: core[s] - bare[s] for s in SECTIONS},
        # With LTO the map names link-time partitions, not source files.
        "breakdown": {} if lto else core_breakdown(build_dir / "footprint-core.map",
                                                   build_dir / "footprint-bare.map"),
    }


def measure_model(resolution: int, width: float, int8: bool) -> dict:
    """Compiles MobileNetV2 for cortex-m55 and runs it on the emulated board."""
    import numpy as np
    import torch

    import ptec
    from ptec import device
    from ptec.describe import describe_pte
    from models import mobilenet_v2

    torch.set_num_threads(1)
    model, (x,) = mobilenet_v2(resolution=resolution, width_mult=width)
    quantize = None
    if int8:
        g = torch.Generator().manual_seed(1)
        quantize = ptec.Int8(calibration=[(torch.randn(x.shape, generator=g),) for _ in range(2)])
    program = ptec.compile(model, (x,), target="cortex-m55", quantize=quantize)
    with tempfile.TemporaryDirectory() as tmp:
        pte, inp = Path(tmp) / "model.pte", Path(tmp) / "x.npy"
        program.save(pte)
        np.save(inp, x.numpy())
        run = device.run_program(pte, [inp], Path(tmp) / "out", cpu="cortex-m55", profile=False)
    if run.exit_code != 0:
        raise RuntimeError(f"the runner failed:\n{run.output}")
    method = describe_pte(program.buffer)["methods"][0]
    tensors = sum(1 for v in method["values"] if v["type"] == "Tensor")
    beyond = run.method_memory + run.scratch + sum(run.structs) + max(run.stack_init,
                                                                       run.stack_execute)
    return {
        "model": f"mobilenet_v2 {resolution}x{resolution} width {width} "
                 f"{'int8' if int8 else 'fp32'}",
        "program_bytes": len(program.buffer), "weights_bytes": program.constant_bytes,
        "arena": sum(run.planned), "method_memory": run.method_memory, "scratch": run.scratch,
        "structs": {"ptec_program": run.structs[0], "ptec_method": run.structs[1]},
        "stack_init": run.stack_init, "stack_execute": run.stack_execute,
        "ram_beyond_arena": beyond,
        "values": len(method["values"]), "tensors": tensors,
        "instructions": len(method["instructions"]),
        "placement": {k: v[0] for k, v in run.placement.items()},
        "ticks": run.ticks, "instructions_executed": round(run.instructions),
    }


def _kb(n: int) -> str:
    return f"{n / 1024:6.2f} KB"


def print_core(c: dict) -> None:
    print(f"ptec runtime core on {c['cpu']}, {c['flags']}")
    print(f"  {'section':<8} {'bare app':>10} {'+ runtime':>10} {'core':>10}")
    for s in SECTIONS:
        print(f"  {s:<8} {c['bare'][s]:>10,} {c['with_runtime'][s]:>10,} {c['core'][s]:>10,}")
    code = c["core"][".text"]
    print(f"  core code (.text): {_kb(code)}; with read-only data (.text+.rodata): "
          f"{_kb(code + c['core']['.rodata'])}; RAM (.data+.bss): "
          f"{c['core']['.data'] + c['core']['.bss']} B")
    if "-flto" not in c["flags"]:
        print(f"  goal, at most {CODE_GOAL:,} B of code at plain -Os: "
              f"{'met' if code <= CODE_GOAL else 'NOT met'}")
    if not c["breakdown"]:
        return
    print("  by component (bytes: .text .rodata .data .bss):")
    for comp, sizes in sorted(c["breakdown"].items(), key=lambda kv: -kv[1][".text"]):
        print(f"    {comp:<22} " + " ".join(f"{sizes[s]:>7,}" for s in SECTIONS))


def print_model(m: dict) -> None:
    print(f"\nRAM of {m['model']} on cortex-m55 (measured by the runner on mps3-an547)")
    print(f"  program (flash):   {m['program_bytes']:>10,} B  ({m['weights_bytes']:,} B weights)"
          f" in {m['placement'].get('program')}")
    print(f"  arena (planned):   {m['arena']:>10,} B  in {m['placement'].get('planned0')}")
    print(f"  method memory:     {m['method_memory']:>10,} B  ({m['values']} values, "
          f"{m['tensors']} tensors, {m['instructions']} instructions)")
    print(f"  scratch:           {m['scratch']:>10,} B")
    print(f"  program + method structs: {sum(m['structs'].values()):>6,} B")
    print(f"  stack peak:        {max(m['stack_execute'], m['stack_init']):>10,} B "
          f"({m['stack_init']:,} B in init, {m['stack_execute']:,} B in execute)")
    print(f"  RAM beyond the arena: {m['ram_beyond_arena']:,} B = {_kb(m['ram_beyond_arena'])}")
    print(f"  goal for MobileNetV2, at most {RAM_GOAL:,} B beyond the arena: "
          f"{'met' if m['ram_beyond_arena'] <= RAM_GOAL else 'NOT met'}")
    print(f"  executed: {m['ticks']:,} SysTick ticks = {m['instructions_executed']:,} "
          "instructions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="use the existing images")
    parser.add_argument("--no-model", action="store_true", help="skip the model's RAM")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--fp32", action="store_true", help="the float model, not int8")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_build:
        build(BUILD)
        build(BUILD_LTO, lto=True)
    result = {"core": measure_core(BUILD), "core_lto": measure_core(BUILD_LTO, lto=True)}
    if not args.no_model:
        result["model"] = measure_model(args.resolution, args.width, not args.fp32)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print_core(result["core"])
        print()
        print_core(result["core_lto"])
        if "model" in result:
            print_model(result["model"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
