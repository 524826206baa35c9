"""Vela in the loop: one TOSA graph in, the NPU's command stream and weights out.

Vela runs in-process with ExecuTorch's flags (`NpuConfig.vela_flags`) and
`--output-format=raw`; its npz gives the command stream, the encoded weights,
the scratch size and where each input and output sits in the scratch. Its CSV
reports give the estimates the compile report shows. Vela has no CPU fallback
for TOSA: a graph it cannot map is an error, raised here as `VelaRefused` with
Vela's own words so the partitioner can keep that part on the CPU and say why.
"""
from __future__ import annotations

import csv
import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .npu import NpuConfig


class VelaRefused(Exception):
    """Vela could not compile a graph; str() is Vela's reason."""


@dataclass(frozen=True)
class VelaIO:
    """Where one graph input or output lives for the NPU (the npz's input_* / output_*)."""
    shape: tuple[int, ...]   # 6-D, as Vela writes it
    elem_size: int
    offset: int              # byte offset in the region
    region: int              # base-address index (1 = scratch)

    @property
    def nbytes(self) -> int:
        n = self.elem_size
        for d in self.shape:
            n *= d
        return n


@dataclass
class VelaOutput:
    npu: NpuConfig
    cmd_data: bytes
    weight_data: bytes
    scratch_size: int
    fast_scratch_size: int
    inputs: list[VelaIO]
    outputs: list[VelaIO]
    #: Vela's network summary (its summary CSV, one row): cycles, memory, MACs...
    summary: dict[str, str] = field(default_factory=dict)
    #: Vela's per-layer table (its per-layer CSV), one dict a row.
    layers: list[dict[str, str]] = field(default_factory=list)
    #: The TOSA flatbuffer Vela compiled (what the NPU must compute, bit for bit).
    tosa: bytes = b""

    def estimates(self) -> dict[str, float]:
        """The summary figures the report shows, as numbers."""
        def num(key: str) -> float:
            try:
                return float(self.summary.get(key) or 0.0)
            except ValueError:
                return 0.0
        clock = num("core_clock")
        total = num("cycles_total")
        return {
            "npu_cycles": num("cycles_npu"),
            "total_cycles": total,
            "core_clock_hz": clock,
            "inference_time_s": total / clock if clock else num("inference_time"),
            "macs": num("nn_macs"),
            "sram_bytes": num("sram_memory_used") * 1024,
            "dram_bytes": num("dram_memory_used") * 1024,
            "on_chip_flash_bytes": num("on_chip_flash_memory_used") * 1024,
            "off_chip_flash_bytes": num("off_chip_flash_memory_used") * 1024,
            "original_weight_bytes": num("total_original_weights"),
            "encoded_weight_bytes": num("total_npu_encoded_weights"),
            "cpu_operators": num("passes_before_fusing") - num("passes_after_fusing"),
        }

    def utilisation(self) -> float:
        """MAC utilisation: MACs / (NPU cycles * MACs per cycle)."""
        e = self.estimates()
        return e["macs"] / (e["npu_cycles"] * self.npu.macs) if e["npu_cycles"] else 0.0


@contextlib.contextmanager
def _captured_output(path: Path):
    """Sends this process's stdout and stderr (file descriptors, so Vela's C++ core
    is caught too) to `path` for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _io(data, prefix: str) -> list[VelaIO]:
    shapes = data[f"{prefix}_shape"]
    return [VelaIO(tuple(int(d) for d in shapes[i]), int(data[f"{prefix}_elem_size"][i]),
                   int(data[f"{prefix}_offset"][i]), int(data[f"{prefix}_region"][i]))
            for i in range(len(shapes))]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _reason(log: str) -> str:
    """Vela's error line(s) from its log, without the banner."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "unsupported" in ln.lower()
              or "not supported" in ln.lower()]
    return " | ".join((errors or lines)[-3:])[:600] or "Vela failed without a message"


def compile_tosa(tosa: bytes, npu: NpuConfig) -> VelaOutput:
    """Compiles one TOSA 1.0 flatbuffer with Vela for `npu`."""
    from ethosu.vela import vela

    with tempfile.TemporaryDirectory(prefix="ptec-vela-") as tmp:
        work = Path(tmp)
        (work / "out.tosa").write_bytes(tosa)
        out_dir = work / "output"
        args = npu.vela_flags() + ["--verbose-performance", f"--output-dir={out_dir}",
                                   str(work / "out.tosa")]
        log_path = work / "vela.log"
        failure = None
        try:
            with _captured_output(log_path):
                status = vela.main(args)
            if status not in (0, None):
                failure = f"Vela exited with status {status}"
        except SystemExit as e:  # argparse and Vela's own error exits
            failure = f"Vela exited with status {e.code}"
        except Exception as e:  # noqa: BLE001 - any Vela failure is a refusal
            failure = f"{type(e).__name__}: {e}"
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        npz = out_dir / "out_vela.npz"
        if failure is not None or not npz.exists():
            raise VelaRefused(_reason(log + "\n" + (failure or "Vela wrote no out_vela.npz")))
        with np.load(npz, allow_pickle=False) as data:
            cmd = data["cmd_data"].tobytes()
            weights = data["weight_data"].tobytes()
            scratch = int(data["scratch_shape"][0])
            fast = int(data["scratch_fast_shape"][0]) if "scratch_fast_shape" in data else 0
            inputs, outputs = _io(data, "input"), _io(data, "output")
        summaries = sorted(out_dir.glob("out_summary_*.csv"))
        summary = _read_csv(summaries[0])[0] if summaries else {}
        per_layer = out_dir / "out_per-layer.csv"
        layers = _read_csv(per_layer) if per_layer.exists() else []
    return VelaOutput(npu, cmd, weights, scratch, fast, inputs, outputs, summary, layers, tosa)
