"""Per-instruction profiles of the C runtime, as ExecuTorch's ETDump.

The recorder and the file writer are C (runtime/include/ptec/etdump.h, in
libptec_shared): `ptec.load(...).run(inputs, profile=True)` installs the
recorder as the method's observer for that run, so Python and `ptec-run
--etdump` write the same bytes, which ExecuTorch's Inspector reads
(`Inspector(etdump_data=profile.etdump)`).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .etdump_schema import read_etdump


@dataclass(frozen=True)
class ProfileEvent:
    """One operator or delegate call (or, with instruction -1, the whole execute)."""
    name: str
    instruction: int
    start_ns: int
    end_ns: int

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True)
class Profile:
    """One execute: its events in order and the ETDump file's bytes."""
    events: list[ProfileEvent]
    etdump: bytes

    @classmethod
    def from_etdump(cls, data: bytes, run: int = -1) -> "Profile":
        """The events of one run (the last by default) of an ETDump file."""
        runs = read_etdump(data).run_data or []
        if not runs:
            raise ValueError("the ETDump has no runs")
        events = [ProfileEvent(p.name or "", p.instruction_id, p.start_time, p.end_time)
                  for p in (e.profile_event for e in runs[run].events or []) if p is not None]
        return cls(events, data)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.etdump)

    def table(self) -> str:
        rows = [f"{'#':>4}  {'operator':<40} {'us':>10}"]
        for e in self.events:
            if e.instruction >= 0:
                rows.append(f"{e.instruction:>4}  {e.name:<40} {e.duration_ns / 1e3:>10.1f}")
        return "\n".join(rows)


def call_with_pointers(lib: ctypes.CDLL, name: str, *args) -> int:
    """Calls `name` with every argument passed as a pointer, through a prototype of
    its own: the shared CDLL's argtypes may have been set differently elsewhere (a
    test installs a typed hook with ptec_method_set_hook)."""
    prototype = ctypes.CFUNCTYPE(ctypes.c_int, *([ctypes.c_void_p] * len(args)))
    return prototype((name, lib))(*args)


def declare(lib: ctypes.CDLL) -> None:
    p, sz = ctypes.c_void_p, ctypes.c_size_t
    signatures = {
        "ptec_etdump_struct_size": (sz, []),
        "ptec_etdump_event_size": (sz, []),
        "ptec_etdump_init": (None, [p, p, sz, p]),
        "ptec_etdump_begin_run": (None, [p]),
        "ptec_etdump_end_run": (None, [p]),
        "ptec_etdump_bound": (sz, [p]),
        "ptec_etdump_write": (ctypes.c_int, [p, p, sz, ctypes.POINTER(p), ctypes.POINTER(sz)]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes


class Recorder:
    """A C recorder with room for one execute of `instructions` instructions."""

    def __init__(self, lib: ctypes.CDLL, instructions: int):
        self._lib = lib
        # One Method::execute event and at most one per instruction.
        capacity = instructions + 1
        self._events = np.zeros(capacity * lib.ptec_etdump_event_size() + 16, dtype=np.uint8)
        self._state = np.zeros(lib.ptec_etdump_struct_size() + 16, dtype=np.uint8)
        clock = ctypes.cast(lib.ptec_platform_ticks, ctypes.c_void_p)
        lib.ptec_etdump_init(self._ptr, _aligned_address(self._events), capacity, clock)

    @property
    def _ptr(self) -> int:
        return _aligned_address(self._state)

    def attach(self, method: int) -> None:
        hook = ctypes.cast(self._lib.ptec_etdump_on_instruction, ctypes.c_void_p)
        call_with_pointers(self._lib, "ptec_method_set_hook", method, hook, self._ptr)
        self._lib.ptec_etdump_begin_run(self._ptr)

    def detach(self, method: int) -> Profile:
        lib = self._lib
        lib.ptec_etdump_end_run(self._ptr)
        call_with_pointers(lib, "ptec_method_set_hook", method, None, None)
        capacity = lib.ptec_etdump_bound(self._ptr)
        buffer = ctypes.create_string_buffer(capacity)
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        status = lib.ptec_etdump_write(self._ptr, buffer, capacity, ctypes.byref(data),
                                       ctypes.byref(size))
        if status != 0:
            raise RuntimeError(f"ptec_etdump_write: {lib.ptec_status_to_string(status).decode()}")
        return Profile.from_etdump(ctypes.string_at(data.value, size.value))


def _aligned_address(memory: np.ndarray) -> int:
    """The first 16-byte-aligned address in `memory` (which has 16 bytes to spare)."""
    return memory.ctypes.data + (-memory.ctypes.data) % 16
