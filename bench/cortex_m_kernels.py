#!/usr/bin/env python3
"""Helium (MVE) kernels vs the reference C kernels on the emulated Cortex-M55, layer by layer.

    .venv/bin/python bench/cortex_m_kernels.py [--models ds_cnn mobilenet_v2] [--resolution 224]
                                               [--cpu cortex-m55] [--no-anchors]

Builds tests/cortex_m's kernel-tests firmware for the CPU (build/kernel-tests-m55) and runs it
under QEMU (`-icount shift=0`: SysTick ticks count instructions, 31.25 per tick on the
mps3-an547). Every int8 layer of DS-CNN and MobileNetV2 (shapes from examples/models.py) runs
with random data and realistic quantization through the reference kernel and through the
runtime's kernel (the Helium variant on the M55; the SMLAD variant with --cpu cortex-m4/m7);
their outputs are compared. It prints per layer and in total: instructions of each, the
ratio, MACs per 1000 instructions, and instructions per MAC. A second table runs the shapes of
the CMSIS-NN anchors in docs/../emulation.md beside CMSIS-NN's measured instructions per MAC.

A benchmark, not a test: nothing is asserted about counts.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests" / "cortex_m"))

import firmware  # noqa: E402

# CMSIS-NN (commit 99f736a6, GCC 12.2 -O2) on the same emulated M55, instructions per MAC
# (per element for add): Helium, DSP-only, pure C.
ANCHORS = [
    ("1x1 conv 28x28x32->64", "conv", (1, 28, 28, 32, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1), (0.615, 2.669, 3.403)),
    ("1x1 conv 14x14x576->96", "conv", (1, 14, 14, 576, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1), (0.196, 1.504, 2.327)),
    ("1x1 conv 25x5x64->64", "conv", (1, 25, 5, 64, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1), (0.396, 2.072, 2.855)),
    ("3x3 conv s1p1 16x16x16->16", "conv", (1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1), (0.400, 2.246, 3.039)),
    ("3x3 dw s1p1 28x28x64", "conv", (1, 28, 28, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 64), (2.328, 7.683, 9.508)),
    ("3x3 dw s1p1 25x5x64", "conv", (1, 25, 5, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 64), (2.343, 7.407, 9.039)),
    ("fully connected 256->128", "fc", (1, 256, 128), (0.522, 2.072, 3.181)),
    ("add 25088 elements", "add", (25088,), (13.75, 74.37, 78.00)),
]


def model_layers(name: str, resolution: int) -> list[tuple[str, str, tuple]]:
    """The int8 layers of an example model as (name, kind, params) for the firmware."""
    import torch
    from torch import nn

    import models

    if name == "ds_cnn":
        model, inputs = models.ds_cnn()
    elif name == "mobilenet_v2":
        model, inputs = models.mobilenet_v2(resolution=resolution)
    else:
        raise SystemExit(f"unknown model {name}")
    layers: list[tuple[str, str, tuple]] = []
    hooks = []

    def conv_hook(mod_name):
        def hook(m, args, out):
            n, c, h, w = args[0].shape
            ph, pw = m.padding if isinstance(m.padding, tuple) else (m.padding, m.padding)
            kh, kw = m.kernel_size
            kind = "dw" if m.groups == c and m.groups > 1 else f"{kh}x{kw}"
            layers.append((f"{mod_name}[{kind}]", "conv",
                           (n, h, w, c, m.out_channels, kh, kw, m.stride[0], m.stride[1],
                            ph, ph, pw, pw, m.groups)))
        return hook

    def linear_hook(mod_name):
        def hook(m, args, out):
            x = args[0]
            layers.append((mod_name, "fc", (x.numel() // x.shape[-1], m.in_features,
                                           m.out_features)))
        return hook

    def pool_hook(mod_name):
        def hook(m, args, out):
            _, c, h, w = (args[0] if isinstance(args, tuple) else args).shape
            layers.append((mod_name, "avgpool", (h, w, c, h, w, 1, 1)))
        return hook

    def residual_hook(mod_name):
        def hook(m, args, out):
            if getattr(m, "use_res", False) or (args[0].shape == out.shape and m.__class__.__name__ == "InvertedResidual"):
                layers.append((f"{mod_name}[add]", "add", (out.numel(),)))
        return hook

    for mod_name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook(mod_name)))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook(mod_name)))
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            hooks.append(m.register_forward_hook(pool_hook(mod_name)))
        elif m.__class__.__name__ == "InvertedResidual":
            hooks.append(m.register_forward_hook(residual_hook(mod_name)))
    if name == "mobilenet_v2":  # the pool is functional: pool what `features` returns
        def features_hook(m, args, out):
            _, c, h, w = out.shape
            layers.append(("avgpool", "avgpool", (h, w, c, h, w, 1, 1)))
        hooks.append(model.features.register_forward_hook(features_hook))
    with torch.no_grad():
        model(*inputs)
    for h in hooks:
        h.remove()
    # Forward hooks fire when a module finishes: a residual block's add comes after its convs,
    # and MobileNetV2's pool after the last feature conv, which is already the order of execution.
    return layers


def run_layers(cpu: str, layers: list[tuple[str, str, tuple]]) -> tuple[float, list[dict]]:
    with tempfile.TemporaryDirectory(prefix="ptec-bench-") as tmp:
        spec = Path(tmp) / "layers.txt"
        spec.write_text("".join(f"{kind} {name.replace(' ', '_')} {' '.join(map(str, p))}\n"
                                for name, kind, p in layers))
        rc, out = firmware.run_kernel_tests(cpu, ["--bench", "layers.txt"], timeout=3600, cwd=tmp)
    per_tick = 0.0
    rows = []
    for line in out.splitlines():
        f = line.split()
        if f[:1] == ["bench-clock"]:
            per_tick = int(f[1]) / 1000.0
        elif f[:1] == ["bench"] and len(f) == 6:
            rows.append({"name": f[1], "macs": int(f[2]), "ref": int(f[3]) * per_tick,
                         "var": int(f[4]) * per_tick, "same": f[5] == "1"})
    if rc != 0 or len(rows) != len(layers):
        print(out)
        raise SystemExit(f"firmware failed (exit {rc}, {len(rows)} of {len(layers)} layers)")
    return per_tick, rows


def print_table(title: str, rows: list[dict], variant: str, anchors=None) -> None:
    print(f"\n{title}")
    head = (f"{'layer':34} {'MACs':>11} {'ref instr':>13} {variant + ' instr':>13} {'ratio':>6} "
            f"{'MAC/ki ref':>10} {'MAC/ki ' + variant:>11} {'instr/MAC':>9}")
    if anchors:
        head += f" {'CMSIS-NN':>9}"
    print(head)
    tot_m = tot_r = tot_v = 0
    for i, r in enumerate(rows):
        m, ref, var = r["macs"], r["ref"], r["var"]
        tot_m, tot_r, tot_v = tot_m + m, tot_r + ref, tot_v + var
        line = (f"{r['name'][:34]:34} {m:>11,} {ref:>13,.0f} {var:>13,.0f} {ref / var:>6.2f} "
                f"{1000 * m / ref:>10.1f} {1000 * m / var:>11.1f} {var / m:>9.3f}")
        if anchors:
            line += f" {anchors[i]:>9.3f}"
        if not r["same"]:
            line += "  OUTPUTS DIFFER"
        print(line)
    if not anchors:
        print(f"{'total':34} {tot_m:>11,} {tot_r:>13,.0f} {tot_v:>13,.0f} {tot_r / tot_v:>6.2f} "
              f"{1000 * tot_m / tot_r:>10.1f} {1000 * tot_m / tot_v:>11.1f} {tot_v / tot_m:>9.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["ds_cnn", "mobilenet_v2"])
    ap.add_argument("--resolution", type=int, default=224, help="MobileNetV2 input size")
    ap.add_argument("--cpu", default="cortex-m55", choices=sorted(firmware.BOARDS))
    ap.add_argument("--no-anchors", action="store_true")
    args = ap.parse_args()
    variant = "helium" if args.cpu == "cortex-m55" else "dsp"
    per_tick = 0.0
    if not args.no_anchors:
        per_tick, rows = run_layers(args.cpu, [(n, k, p) for n, k, p, _ in ANCHORS])
        col = 0 if args.cpu == "cortex-m55" else 1
        print_table(f"CMSIS-NN anchor shapes on {args.cpu} (add: per element)", rows, variant,
                    [a[col] for *_, a in ANCHORS])
    for name in args.models:
        layers = model_layers(name, args.resolution)
        per_tick, rows = run_layers(args.cpu, layers)
        res = f", {args.resolution}x{args.resolution}" if name == "mobilenet_v2" else ""
        print_table(f"{name}{res} int8 on {args.cpu}: {len(rows)} layers", rows, variant)
    print(f"\ninstructions = SysTick ticks x {per_tick:g} (QEMU -icount shift=0); MAC/ki = MACs "
          "per 1000 instructions; add rows count elements as MACs; every layer's outputs were "
          "compared (reference vs variant) in the firmware.")


if __name__ == "__main__":
    main()
