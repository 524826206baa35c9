"""The Ethos-U NPUs Vela compiles for, and the system they sit in.

An `NpuConfig` is what Vela needs to know: the accelerator (Vela's name, e.g.
"ethos-u55-128"), the system config (clocks, AXI ports and bandwidths) and the
memory mode (which memory holds the weights, the tensor arena and the cache),
both sections of Vela's bundled `Arm/vela.ini`. The defaults are ExecuTorch's
(`backends/arm/ethosu/compile_spec.py`), so a ptec program and an ExecuTorch
program for the same target are compiled alike.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import CompileError

#: Every accelerator configuration Vela 5.2 accepts (`vela --help`).
ACCELERATORS = (
    "ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256",
    "ethos-u65-256", "ethos-u65-512",
    "ethos-u85-128", "ethos-u85-256", "ethos-u85-512", "ethos-u85-1024", "ethos-u85-2048",
)

#: family -> (system config, memory mode): ExecuTorch's defaults.
DEFAULT_SYSTEM = {
    "u55": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "u65": ("Ethos_U65_High_End", "Dedicated_Sram_384KB"),
    "u85": ("Ethos_U85_SYS_DRAM_Mid", "Sram_Only"),
}

#: The config file Vela ships, named as ExecuTorch names it (--config=Arm/vela.ini).
VELA_CONFIG = "Arm/vela.ini"

#: NPU product codes in the COP1 configuration word (bits 28..31).
PRODUCT = {"u55": 0, "u65": 1, "u85": 2}


@dataclass(frozen=True)
class NpuConfig:
    accelerator: str
    system_config: str
    memory_mode: str

    @property
    def family(self) -> str:
        """"u55", "u65" or "u85"."""
        return self.accelerator.split("-")[1]

    @property
    def macs(self) -> int:
        """MACs per cycle: the number after the family."""
        return int(self.accelerator.split("-")[2])

    @property
    def tosa_spec(self) -> str:
        """The TOSA specification string ExecuTorch writes for this NPU."""
        return "TOSA-1.0+INT+int16+int4" + ("+cf" if self.family == "u85" else "+u55")

    def vela_flags(self) -> list[str]:
        """Vela's command-line flags, in ExecuTorch's order (without the output dir
        and the input file)."""
        return [f"--accelerator-config={self.accelerator}", f"--config={VELA_CONFIG}",
                "--output-format=raw", f"--system-config={self.system_config}",
                f"--memory-mode={self.memory_mode}"]


@lru_cache(maxsize=1)
def _vela_ini_sections() -> tuple[set[str], set[str]]:
    """(system configs, memory modes) of Vela's bundled Arm/vela.ini."""
    import ethosu.vela  # a namespace package: the config files sit beside vela/

    ini = Path(ethosu.vela.__file__).parent.parent / "config_files" / VELA_CONFIG
    parser = configparser.ConfigParser()
    parser.read(ini)
    systems = {s.split(".", 1)[1] for s in parser.sections() if s.startswith("System_Config.")}
    modes = {s.split(".", 1)[1] for s in parser.sections() if s.startswith("Memory_Mode.")}
    return systems, modes


def npu_config(accelerator: str, system_config: str | None = None,
               memory_mode: str | None = None) -> NpuConfig:
    """The configuration for `accelerator`, ExecuTorch's defaults unless given.
    Names are checked against Vela's own lists, so a typo fails here, clearly."""
    if accelerator not in ACCELERATORS:
        raise CompileError(f"unknown Ethos-U accelerator {accelerator!r}; Vela knows "
                           + ", ".join(ACCELERATORS))
    family = accelerator.split("-")[1]
    default_system, default_mode = DEFAULT_SYSTEM[family]
    config = NpuConfig(accelerator, system_config or default_system, memory_mode or default_mode)
    systems, modes = _vela_ini_sections()
    if config.system_config not in systems:
        raise CompileError(f"unknown Vela system config {config.system_config!r}; "
                           f"{VELA_CONFIG} has " + ", ".join(sorted(systems)))
    if config.memory_mode not in modes:
        raise CompileError(f"unknown Vela memory mode {config.memory_mode!r}; "
                           f"{VELA_CONFIG} has " + ", ".join(sorted(modes)))
    if family not in config.system_config.lower():
        raise CompileError(f"system config {config.system_config!r} is not for an Ethos-"
                           f"{family.upper()}")
    return config
