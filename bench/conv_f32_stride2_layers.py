#!/usr/bin/env python3
"""ResNet-18's three stride-2 3x3 layers (each + relu, 1 image), per-op best of N runs of
`ptec-run --repeat 20 --etdump`, alternated between two ptec-run builds (the host is shared:
compare the ratio, not the times), and whether the two outputs are equal bit for bit.

    .venv/bin/python bench/conv_f32_stride2_layers.py BASE/ptec-run NEW/ptec-run [rounds]

Programs are compiled for x86-64-avx512 into a temporary directory.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

import ptec
from ptec.devtools.etdump import Profile

LAYERS = {"56->28 64->128": (64, 128, 56), "28->14 128->256": (128, 256, 28),
          "14->7 256->512": (256, 512, 14)}


def _best_and_output(run: str, pte: Path, x: Path, tmp: Path) -> tuple[float, np.ndarray]:
    out, dump = tmp / "out", tmp / "run.etdp"
    subprocess.run([run, str(pte), "--input", str(x), "--repeat", "20", "--etdump", str(dump),
                    "--output-dir", str(out)], check=True, capture_output=True)
    data = dump.read_bytes()
    best, i = float("inf"), 0
    while True:
        try:
            profile = Profile.from_etdump(data, i)
        except (IndexError, ValueError):
            break
        best = min([best] + [e.duration_ns / 1e6 for e in profile.events if e.instruction >= 0])
        i += 1
    return best, np.load(sorted(out.glob("*.npy"))[0])


def main() -> None:
    runs, rounds = sys.argv[1:3], int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        progs = {}
        for name, (ci, co, hw) in LAYERS.items():
            model = nn.Sequential(nn.Conv2d(ci, co, 3, stride=2, padding=1), nn.ReLU()).eval()
            x = torch.randn(1, ci, hw, hw)
            pte, xp = tmp / f"{ci}.pte", tmp / f"{ci}.npy"
            pte.write_bytes(ptec.compile(model, (x,), target="x86-64-avx512").buffer)
            np.save(xp, x.numpy())
            progs[name] = (pte, xp)
        best = {(n, r): float("inf") for n in LAYERS for r in runs}
        outs = {}
        for _ in range(rounds):
            for n, (pte, xp) in progs.items():
                for r in runs:
                    t, outs[(n, r)] = _best_and_output(r, pte, xp, tmp)
                    best[(n, r)] = min(best[(n, r)], t)
    for n in LAYERS:
        a, b = (best[(n, r)] for r in runs)
        same = np.array_equal(outs[(n, runs[0])].view(np.uint32), outs[(n, runs[1])].view(np.uint32))
        print(f"{n}: {a:.3f} -> {b:.3f} ms ({b / a:.3f}x), bit for bit equal: {same}")


if __name__ == "__main__":
    main()
