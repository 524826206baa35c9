"""MobileNetV2-int8 on Arm Ethos-U NPUs: what runs where, the memory, Vela's estimates.

The model is quantized with ptec.Int8 and compiled for each NPU named: its
TOSA INT subgraphs go through Vela (Arm's NPU compiler) into EthosUBackend
delegates, ExecuTorch's format, and the rest stays on the Cortex-M55 beside
the NPU. The report shows each delegate's command stream, weights and scratch,
Vela's cycle estimates and costliest layers, and the NPU/CPU split.

The NPU's expected output is checked on this machine: the program's TOSA twin
(the same program with each NPU delegate run from its TOSA graph by ptec's C
TOSA executor) must equal the host int8 build bit for bit.

    .venv/bin/python examples/ethos_u.py [--npu ethos-u55-128 --npu ethos-u85-256]
        [--resolution 224] [--width 1.0] [--json report.json] [--save DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from models import mobilenet_v2  # noqa: E402

import ptec  # noqa: E402
from ptec.ethosu import tosa_twin  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npu", action="append", help="Vela accelerator (repeat)")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write every NPU report as JSON here")
    parser.add_argument("--save", help="write the .pte files into this folder")
    args = parser.parse_args(argv)
    npus = args.npu or ["ethos-u55-128", "ethos-u85-256"]

    model, (x,) = mobilenet_v2(args.resolution, args.width)
    g = torch.Generator().manual_seed(args.seed)
    config = ptec.Int8(calibration=[(torch.randn(x.shape, generator=g),) for _ in range(4)])
    test = torch.randn(x.shape, generator=g)
    print(f"MobileNetV2 {args.resolution}x{args.resolution} x{args.width}, int8; "
          f"seed {args.seed}")
    host = ptec.compile(model, (x,), quantize=config)
    want = np.asarray(ptec.load(host.buffer)(test)[0])
    reports = {}
    for npu in npus:
        program = ptec.compile(model, (x,), target=npu, quantize=config)
        print(f"\n===== {npu} =====")
        print(program.report())
        got = np.asarray(ptec.load(tosa_twin(program))(test)[0])
        same = bool(np.array_equal(got, want))
        print(f"NPU graphs on the TOSA executor vs the host int8 build: "
              f"{'bit-exact' if same else 'DIFFERENT'} ({got.size} outputs)")
        print(f".pte: {len(program.buffer):,} bytes")
        reports[npu] = program.report_data()
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            program.save(Path(args.save) / f"mobilenet_v2_int8_{npu}.pte")
        if not same:
            return 1
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
