"""What the compile report says about Ethos-U delegates.

For each NPU delegate, Vela's own estimates (its summary CSV) and its per-layer
table; for the program, how the work splits between the NPU and the Cortex-M
that runs the rest, with an estimate of the CPU part's latency from the
instruction counts measured for ptec's Cortex-M55 kernels
(docs/kernels-cortex-m.md). Vela warns that its figures are estimates; so
are these.
"""
from __future__ import annotations

import math
from typing import Sequence

from .vela import VelaOutput

#: Cortex-M55 instructions per unit of work of ptec's Helium kernels, measured
#: under QEMU -icount (docs/kernels-cortex-m.md, bench/cortex_m_kernels.py):
#: per MAC for convolutions, per output element for the rest. Operators not
#: measured use ELEMENTWISE_DEFAULT, an assumption the report names.
M55_INSTRUCTIONS_PER_MAC = {"conv2d": 0.48, "depthwise_conv2d": 2.0, "linear": 0.41,
                            "matmul": 0.41}
M55_INSTRUCTIONS_PER_ELEMENT = {"add": 9.3}
ELEMENTWISE_DEFAULT = 10.0


def npu_delegates(instructions) -> list:
    return [i for i in instructions if isinstance(i.delegate_details, VelaOutput)]


def _cpu_instructions(info) -> tuple[float, bool]:
    """(estimated M55 instructions, measured?) for one CPU instruction of the program."""
    elements = sum(math.prod(shape) for shape, _ in info.outputs)
    op = info.operator.split("::")[-1].split(".")[0].removeprefix("quantized_")
    if op in M55_INSTRUCTIONS_PER_ELEMENT:
        return elements * M55_INSTRUCTIONS_PER_ELEMENT[op], True
    return elements * ELEMENTWISE_DEFAULT, False


def npu_report_data(instructions, npu) -> dict:
    """The Ethos-U part of the report, as data (CompiledProgram.report_data())."""
    from ..report import DELEGATE, runs_on

    delegates = []
    for info in npu_delegates(instructions):
        vela: VelaOutput = info.delegate_details
        delegates.append({
            "node": info.node, "tosa_operators": info.delegate_operators,
            "graph_nodes": list(info.delegated_nodes), "blob_bytes": info.delegate_bytes,
            "command_stream_bytes": len(vela.cmd_data), "weight_bytes": len(vela.weight_data),
            "scratch_bytes": vela.scratch_size, "fast_scratch_bytes": vela.fast_scratch_size,
            "estimates": vela.estimates(), "mac_utilisation": vela.utilisation(),
            "layers": vela.layers,
        })
    clock = max((d["estimates"]["core_clock_hz"] for d in delegates), default=0.0)
    cpu = [i for i in instructions if runs_on(i) != DELEGATE]
    cpu_work = [(i.node, i.operator, *_cpu_instructions(i)) for i in cpu]
    cpu_total = sum(w[2] for w in cpu_work)
    npu_seconds = sum(d["estimates"]["inference_time_s"] for d in delegates)
    return {
        "accelerator": npu.accelerator, "system_config": npu.system_config,
        "memory_mode": npu.memory_mode, "delegates": delegates,
        "npu_instructions": len(delegates), "cpu_instructions": len(cpu),
        "npu_time_s": npu_seconds,
        "cpu": {"instructions_estimate": cpu_total, "clock_hz": clock,
                "time_s": cpu_total / clock if clock else 0.0,
                "operators": [{"node": n, "operator": o, "instructions": c, "measured": m}
                              for n, o, c, m in cpu_work]},
    }


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def format_npu_section(data: dict, layers: int = 12) -> list[str]:
    """Report lines; the `layers` costliest rows of each per-layer table."""
    if not data["delegates"]:
        return [f"{data['accelerator']}: no NPU delegate (every operator is on the CPU)", ""]
    lines = [f"{data['accelerator']} ({data['system_config']}, {data['memory_mode']}): "
             f"{data['npu_instructions']} NPU delegate calls, {data['cpu_instructions']} "
             "instructions on the Cortex-M55"]
    for d in data["delegates"]:
        e = d["estimates"]
        lines += [
            f"  {d['node']}: {d['tosa_operators']} TOSA operators for {len(d['graph_nodes'])} "
            f"graph nodes; command stream {d['command_stream_bytes']:,} B, weights "
            f"{d['weight_bytes']:,} B, scratch {d['scratch_bytes']:,} B"
            + (f" + fast scratch {d['fast_scratch_bytes']:,} B" if d["fast_scratch_bytes"] else ""),
            f"    Vela estimates: {e['npu_cycles']:,.0f} NPU cycles, {e['total_cycles']:,.0f} "
            f"total cycles, {e['inference_time_s'] * 1e3:.3f} ms at "
            f"{e['core_clock_hz'] / 1e6:,.0f} MHz; {e['macs']:,.0f} MACs, MAC utilisation "
            f"{d['mac_utilisation']:.1%}",
            f"    memory: SRAM {_kib(e['sram_bytes'])}, DRAM {_kib(e['dram_bytes'])}, "
            f"on-chip flash {_kib(e['on_chip_flash_bytes'])}, off-chip flash "
            f"{_kib(e['off_chip_flash_bytes'])}; weights {e['original_weight_bytes']:,.0f} B "
            f"-> {e['encoded_weight_bytes']:,.0f} B encoded",
        ]
        rows = sorted(d["layers"], key=lambda r: -float(r.get("Op Cycles") or 0))[:layers]
        if rows:
            lines.append(f"    {'layer (Vela)':<34} {'NPU op':<14} {'cycles':>10} {'MACs':>12} "
                         f"{'util':>6}")
            for r in rows:
                lines.append(f"    {r.get('Name', '')[:34]:<34} {r.get('NNG Operator', '')[:14]:<14} "
                             f"{float(r.get('Op Cycles') or 0):>10,.0f} "
                             f"{float(r.get('MAC Count') or 0):>12,.0f} "
                             f"{float(r.get('Util% (MAC)') or 0):>5.1f}%")
            if len(d["layers"]) > layers:
                lines.append(f"    ... {len(d['layers']) - layers} more layers "
                             "(CompiledProgram.report_data())")
    cpu = data["cpu"]
    assumed = sum(1 for o in cpu["operators"] if not o["measured"])
    lines += [
        f"  NPU/CPU split: NPU {data['npu_time_s'] * 1e3:.3f} ms (Vela), Cortex-M55 "
        f"~{cpu['time_s'] * 1e3:.3f} ms ({cpu['instructions_estimate']:,.0f} instructions"
        + (f" at {cpu['clock_hz'] / 1e6:,.0f} MHz" if cpu["clock_hz"] else "") + ", one per cycle"
        + (f"; {assumed} operators at an assumed {ELEMENTWISE_DEFAULT:g} instructions/element"
           if assumed else "") + ")",
        "",
    ]
    return lines
