"""Arm Ethos-U NPUs: Vela behind the TOSA lowering, ExecuTorch's EthosUBackend blob.

    npu.py      the accelerators, system configs and memory modes (Vela's names)
    support.py  what each NPU family accepts, as rules on TOSA operators
    vela.py     Vela in-process: TOSA bytes -> command stream, weights, estimates
    blob.py     the EthosUBackend delegate blob (ExecuTorch's vela_bin_stream)
    target.py   the partitioner's delegate target for an NPU
    report.py   Vela's estimates in the compile report

The C side is runtime/src/backends/ethosu/ (the backend on Arm's driver API)
and runtime/src/backends/ethosu/sim/ (ptec's simulator of the NPU).
"""
from .blob import BACKEND_ID, pack_blob, parse_blob
from .npu import ACCELERATORS, NpuConfig, npu_config
from .twin import tosa_twin, tosa_twin_of_pte
from .vela import VelaOutput, VelaRefused, compile_tosa

__all__ = ["ACCELERATORS", "BACKEND_ID", "NpuConfig", "VelaOutput", "VelaRefused",
           "compile_tosa", "npu_config", "pack_blob", "parse_blob", "tosa_twin", "tosa_twin_of_pte"]
