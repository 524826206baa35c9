"""`make demo`, Cortex-M55 part: MobileNetV2 on the emulated Cortex-M55.

    python targets/demo_m55.py [--resolution 224] [--width 1.0] [--fp32-pte build/examples/mobilenet_v2.pte]

Checks the float MobileNetV2 of the host demo against the M55's memories
(it does not fit: the reason is printed), then quantizes MobileNetV2 to int8,
compiles it for cortex-m55, runs it on the host and in the runner firmware on
QEMU's mps3-an547 (build/m55, `make build-m55`), and prints agreement with the
host, the flash and RAM it needs, and the instruction ticks per operator.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples"))

import torch  # noqa: E402

import ptec  # noqa: E402
from ptec.describe import describe_pte  # noqa: E402
from ptec.placement import format_placement, place  # noqa: E402
from ptec.targets import get_target  # noqa: E402

TARGET = "cortex-m55"


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.2f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"


def check_fp32(path: Path) -> None:
    if not path.is_file():
        print(f"(no {path}: skipping the float model's fit check)")
        return
    data = path.read_bytes()
    planned = describe_pte(data)["methods"][0]["planned_buffers"]
    try:
        place(TARGET, get_target(TARGET).memories, len(data), planned)
        print(f"float {path.name} fits {TARGET}")
    except ptec.CompileError as e:
        print(f"float {path.name} ({_mib(len(data))}, arena {_mib(sum(planned))}) on {TARGET}: "
              f"{e}")


def macs(data: bytes) -> int:
    """Multiply-accumulates of the program's integer convolutions and linear layers: each
    output element takes one weight row (a conv's [I/groups, KH, KW], a linear's K)."""
    method = describe_pte(data)["methods"][0]
    values, total = method["values"], 0
    for ins in method["instructions"]:
        if ins.get("operator") not in ("ptec::quantized_conv2d.out", "ptec::quantized_linear.out"):
            continue
        tensors = [values[a] for a in ins["args"] if values[a].get("type") == "Tensor"]
        weight, out = tensors[1]["sizes"], tensors[-1]["sizes"]
        total += math.prod(out) * math.prod(weight[1:])
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--fp32-pte", type=Path, default=ROOT / "build" / "examples" / "mobilenet_v2.pte")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from models import mobilenet_v2

    print(f"== MobileNetV2 on the emulated {TARGET} (QEMU mps3-an547, -icount shift=0)")
    check_fp32(args.fp32_pte)

    model, (x,) = mobilenet_v2(resolution=args.resolution, width_mult=args.width)
    g = torch.Generator().manual_seed(1)
    calibration = [(torch.randn(x.shape, generator=g),) for _ in range(2)]
    t0 = time.perf_counter()
    program = ptec.compile(model, (x,), target=TARGET, quantize=ptec.Int8(calibration=calibration))
    print(f"\nint8 MobileNetV2 {args.resolution}x{args.resolution} width {args.width}: compiled "
          f"for {TARGET} in {time.perf_counter() - t0:.1f} s")
    print(format_placement(TARGET, get_target(TARGET).memories, program.placement), end="")

    (host,) = ptec.load(program.buffer)(x)
    device = ptec.load(program.buffer, target=TARGET)
    t0 = time.perf_counter()
    (dev,) = device(x)
    wall = time.perf_counter() - t0
    run = device.last_run
    same = int((dev == host).sum())
    print(f"\nagreement with the host build: {same}/{host.numel()} outputs identical"
          f" ({'bit-exact' if torch.equal(dev, host) else 'DIFFERENT'}), top-1 "
          f"{'equal' if int(dev.argmax()) == int(host.argmax()) else 'DIFFERENT'}")
    stack = max(run.stack_init, run.stack_execute)
    beyond = run.method_memory + run.scratch + sum(run.structs) + stack
    print(f"flash: {len(program.buffer):,} B program ({program.constant_bytes:,} B weights)")
    print(f"RAM:   {sum(run.planned):,} B arena + {beyond:,} B beyond it (method memory "
          f"{run.method_memory:,}, scratch {run.scratch:,}, structs {sum(run.structs)}, stack "
          f"peak {stack:,})")
    per_op: dict[str, int] = defaultdict(int)
    for o in run.ops:
        per_op[o.name] += o.ticks
    print(f"ticks: {run.ticks:,} SysTick ticks = {run.instructions / 1e6:,.1f} M instructions "
          f"({run.instructions_per_tick:g} per tick; QEMU took {wall:.1f} s)")
    n = macs(program.buffer)
    print(f"       {n / 1e6:,.1f} M MACs in convolutions and linear layers: "
          f"{run.instructions / n:.3f} instructions per MAC")
    for name, ticks in sorted(per_op.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {name:<48} {ticks:>12,} ticks  {100 * ticks / run.ticks:5.1f}%")
    return 0 if torch.equal(dev, host) else 1


if __name__ == "__main__":
    sys.exit(main())
