"""Targets as data: what a name like "host" means to the compiler.

Adding a target is adding a Target here (and kernels if it needs them), not
control flow in the compiler: the compiler runs `passes` in order and plans
memory against `memories`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import CompileError
from .passes import (
    avg_pool3d_as_2d,
    GraphPass,
    fold_batch_norm,
    fold_constants,
    remove_graph_asserts,
    remove_noop_copies,
    replace_views_with_copies,
    select_out_variants,
    use_scalar_overloads,
)
from .passes.control_flow import compile_branches
from .passes.masked_gradients import plan_masked_gradients
from .passes.random import use_program_generator
from .cpu import pack_conv_weights, pack_conv_weights_sdot, pack_f32_conv_weights
from .passes.fuse_conv_clamp import fuse_conv_clamp
from .passes.fold_permutes import fold_permutes
from .passes.fold_reshapes import fold_reshapes, fold_reshapes_around_ops
from .passes.safe_softmax import fuse_safe_softmax
from .quant.lower import lower_quantized_ops
from .quant.lower.layout import integer_channels_last

if TYPE_CHECKING:
    from .ethosu.npu import NpuConfig


@dataclass(frozen=True)
class Memory:
    """A memory of a device: name and size in bytes.

    role: "flash" holds the program (weights), "ram" the planned buffers and
    method memory (first fit, in the order listed), "ddr" a program that does
    not fit the flash (Ethos-U targets), "code"/"data" are the firmware's own
    (python/ptec/placement.py).
    """
    name: str
    size: int
    role: str = "ram"
    address: int | None = None


@dataclass(frozen=True)
class Target:
    name: str
    isa_features: tuple[str, ...]
    #: Device memories, None where the program gets whatever the host gives it.
    memories: tuple[Memory, ...] | None
    passes: tuple[GraphPass, ...]
    #: The QEMU board that emulates this target (python/ptec/boards.py), if any.
    board: str | None = None
    #: An Ethos-U target's NPU (accelerator, Vela system config, memory mode).
    npu: "NpuConfig | None" = None


#: The passes every portable-kernel target runs, in order: the last one must
#: be select_out_variants, which the emitter relies on.
PORTABLE_PASSES: tuple[GraphPass, ...] = (
    remove_graph_asserts,
    avg_pool3d_as_2d,
    use_scalar_overloads,
    replace_views_with_copies,
    remove_noop_copies,
    lower_quantized_ops,
    integer_channels_last,
    fold_batch_norm,
    fold_constants,
    compile_branches,
    plan_masked_gradients,
    use_program_generator,
    select_out_variants,
)


TARGETS: dict[str, Target] = {
    "host": Target(name="host", isa_features=(), memories=None, passes=PORTABLE_PASSES),
}

# x86-64 with AVX-512 VNNI (Ice Lake, Sapphire Rapids, Zen 4): the host's passes with
# int8 convolution weights packed at compile time for the VNNI kernel
# (ptec.cpu.pack_weights); float32 convolutions fused with the relu / hardtanh after
# them and their filters packed (ptec.passes.fuse_conv_clamp, ptec.cpu.pack_f32).
# Its programs run on any CPU: elsewhere the packed calls
# run on the original weights, with the same results; they are larger (two copies).
TARGETS["x86-64-avx512"] = Target(
    name="x86-64-avx512",
    isa_features=("x86-64", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512vnni"),
    memories=None, passes=PORTABLE_PASSES[:-1] + (pack_conv_weights, fuse_conv_clamp,
                                                  pack_f32_conv_weights, fuse_safe_softmax,
                                                  fold_permutes, fold_reshapes,
                                                  fold_reshapes_around_ops,
                                                  PORTABLE_PASSES[-1]))


def _tosa_passes(profile: str, delegate_target=None) -> tuple[GraphPass, ...]:
    """The host's passes with TOSA partitioning after the int8 lowering: supported
    subgraphs become delegate calls (TOSABackend, or the NPU's through
    `delegate_target`), the rest runs on portable kernels."""
    from .tosa.partition import partition_for_tosa

    at = PORTABLE_PASSES.index(lower_quantized_ops) + 1
    before, after = PORTABLE_PASSES[:at], PORTABLE_PASSES[at:]
    assert before[-1] is lower_quantized_ops
    return before + (fold_constants, partition_for_tosa(profile, delegate_target)) + after


# TOSA delegates run by ptec's C TOSA executor (any CPU): PRO-INT for int8
# models, PRO-FP for fp32 ones. How an Ethos-U is checked without the NPU.
TARGETS["tosa-int"] = Target(name="tosa-int", isa_features=(), memories=None,
                             passes=_tosa_passes("INT"))
TARGETS["tosa-fp"] = Target(name="tosa-fp", isa_features=(), memories=None,
                            passes=_tosa_passes("FP"))


def _cortex_m(name: str, isa_features: tuple[str, ...]) -> Target:
    """A Cortex-M CPU: the host's passes, the memories of the board that emulates it."""
    from .boards import board_for_cpu, get_board

    board = get_board(board_for_cpu(name))
    # Not the DDR: a CPU-only program must fit the flash (python/ptec/boards.py).
    memories = tuple(Memory(r.name, r.size, r.role, r.base) for r in board.regions
                     if r.role != "ddr")
    return Target(name=name, isa_features=isa_features, memories=memories,
                  passes=TARGETS["host"].passes, board=board.name)


TARGETS["cortex-m55"] = _cortex_m("cortex-m55", ("armv8.1-m", "mve", "mve.fp", "dsp", "fp64"))
TARGETS["cortex-m7"] = _cortex_m("cortex-m7", ("armv7e-m", "dsp", "fp64"))
TARGETS["cortex-m4"] = _cortex_m("cortex-m4", ("armv7e-m", "dsp", "fp32"))


# Cortex-A, AArch64 Linux: the host's passes, memory from the OS. The runtime's NEON
# kernels (SMLAL; SDOT with dotprod) are picked when it is built for the CPU
# (make build-aarch64: build/aarch64, build/cortex-a76); ptec.load runs them under
# qemu-aarch64 (python/ptec/device.py).
TARGETS["cortex-a76"] = Target(name="cortex-a76", isa_features=("armv8.2-a", "neon", "dotprod",
                                                                "fp16"),
                               memories=None,  # int8 conv weights packed for SDOT (ptec.cpu.pack_sdot)
                               passes=PORTABLE_PASSES[:-1] + (pack_conv_weights_sdot,
                                                              PORTABLE_PASSES[-1]))
TARGETS["aarch64"] = Target(name="aarch64", isa_features=("armv8-a", "neon"), memories=None,
                            passes=PORTABLE_PASSES)


def ethos_u_target(accelerator: str, system_config: str | None = None,
                   memory_mode: str | None = None) -> Target:
    """An Ethos-U NPU beside a Cortex-M55: TOSA INT partitions compiled by Vela
    for the NPU (EthosUBackend delegates), the rest on the M55's kernels, in the
    M55 board's memories. System config and memory mode default to ExecuTorch's."""
    from .boards import get_board
    from .ethosu.npu import npu_config
    from .ethosu.target import EthosUTarget

    npu = npu_config(accelerator, system_config, memory_mode)
    m55 = TARGETS["cortex-m55"]
    # The M55's memories and the board's DDR, for a program larger than the flash.
    ddr = tuple(Memory(r.name, r.size, r.role, r.base) for r in get_board(m55.board).regions
                if r.role == "ddr")
    return Target(name=accelerator, isa_features=m55.isa_features, memories=m55.memories + ddr,
                  passes=_tosa_passes("INT", EthosUTarget(npu)), board=m55.board, npu=npu)


#: Vela's accelerator names (python/ptec/ethosu/npu.py); built on first use, since
#: checking the names reads Vela's configuration.
ETHOS_U_NAMES = (
    "ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256",
    "ethos-u65-256", "ethos-u65-512",
    "ethos-u85-128", "ethos-u85-256", "ethos-u85-512", "ethos-u85-1024", "ethos-u85-2048",
)


def get_target(name: str, *, system_config: str | None = None,
               memory_mode: str | None = None) -> Target:
    """The target named `name`. For an Ethos-U, `system_config` and `memory_mode`
    choose Vela's system and memory configuration (ExecuTorch's defaults otherwise)."""
    if name in ETHOS_U_NAMES:
        return ethos_u_target(name, system_config, memory_mode)
    if system_config is not None or memory_mode is not None:
        raise CompileError(f"system_config and memory_mode are for Ethos-U targets, not {name!r}")
    try:
        return TARGETS[name]
    except KeyError:
        known = sorted(TARGETS) + list(ETHOS_U_NAMES)
        raise CompileError(f"unknown target {name!r}; known: {', '.join(known)}") from None
