"""The operations of an Ethos-U command stream, listed (for Model Explorer and reports).

A Vela blob's cmd_data is Arm's driver payload: "COP1", then driver actions,
one of which (COMMAND_STREAM) holds the NPU's commands: 32-bit words whose low
10 bits are the opcode and high 16 bits a parameter; bit 14 marks a command
with a 32-bit payload word after it. Opcodes below 256 are operations
(NPU_OP_*), the rest set registers. This lists the operations with their
mode; the C simulator (runtime/src/backends/ethosu/sim) is what runs them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

OPERATIONS = {0: "STOP", 1: "IRQ", 2: "CONV", 3: "DEPTHWISE", 5: "POOL", 6: "ELEMENTWISE",
              7: "RESIZE", 16: "DMA_START", 17: "DMA_WAIT", 18: "KERNEL_WAIT", 19: "PMU_MASK"}
POOL_MODES = {0: "MAX", 1: "AVERAGE", 2: "REDUCE_SUM", 3: "SUM", 4: "NONE", 5: "MIN",
              6: "ARGMAX_X", 7: "ARGMAX_Y"}
ELEMENTWISE_MODES = {0: "MUL", 1: "ADD", 2: "SUB", 3: "MIN", 4: "MAX", 5: "LRELU", 6: "ABS",
                     7: "CLZ", 8: "SHR", 9: "SHL", 10: "LSR", 11: "DIV", 16: "CMP_EQ",
                     17: "CMP_NE", 18: "CMP_GE", 19: "CMP_GT", 20: "AND", 21: "OR",
                     22: "XOR", 23: "NOT", 24: "AND_NOT"}
_DA_CONFIG, _DA_CMD_STREAM = 1, 2


@dataclass(frozen=True)
class NpuOperation:
    word: int          # its word in the command stream
    name: str          # "CONV", "POOL AVERAGE", "ELEMENTWISE ADD", ...


def npu_operations(cmd_data: bytes) -> list[NpuOperation]:
    """The NPU_OP_* commands of a COP1 payload, in order (DMA waits and STOP left out)."""
    if len(cmd_data) < 4 or cmd_data[:4] != b"COP1" or len(cmd_data) % 4:
        raise ValueError("not a COP1 driver payload")
    words = struct.unpack(f"<{len(cmd_data) // 4}I", cmd_data)
    ops: list[NpuOperation] = []
    i = 1
    while i < len(words):
        tag = words[i]
        action = tag & 0xFF
        if action == _DA_CONFIG:
            i += 3
        elif action == _DA_CMD_STREAM:
            length = (tag >> 16) | ((tag >> 8) & 0xFF) << 16
            ops += _operations(words[i + 1:i + 1 + length])
            i += 1 + length
        else:
            i += 1
    return ops


def _operations(stream) -> list[NpuOperation]:
    ops = []
    pc = 0
    while pc < len(stream):
        w = stream[pc]
        opcode, param = w & 0x3FF, w >> 16
        if w & 0x4000:
            pc += 2
            continue
        pc += 1
        if opcode >= 256 or opcode in (0, 1, 17, 18, 19):
            continue
        name = OPERATIONS.get(opcode, f"OP {opcode}")
        if opcode == 5:
            name += " " + POOL_MODES.get(param & 7, str(param & 7))
        elif opcode == 6:
            name += " " + ELEMENTWISE_MODES.get(param & 63, str(param & 63))
        ops.append(NpuOperation(pc - 1, name))
    return ops
