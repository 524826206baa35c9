"""Memory planning: offsets for every planned tensor in one arena.

Input: each tensor's lifetime [start, end] in instruction steps (inclusive)
and its size. Two tensors may share bytes only if their lifetimes do not
overlap. Sizes are rounded up to `alignment` (16, ExecuTorch's planner
alignment), so every tensor starts aligned.

The heuristic is "greedy by size": largest tensor first, each at the lowest
offset that does not collide with an already placed tensor whose lifetime
overlaps. Its result is compared with the liveness lower bound, the largest
total of bytes alive at any one step, which no plan can beat.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

ALIGNMENT = 16


@dataclass(frozen=True)
class Lifetime:
    """A tensor to place: alive from step `start` to step `end`, inclusive."""
    start: int
    end: int
    nbytes: int

    def overlaps(self, other: "Lifetime") -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class MemoryPlan:
    offsets: tuple[int, ...]  # one per lifetime, in the order given
    arena_bytes: int
    lower_bound_bytes: int
    alignment: int

    @property
    def ratio(self) -> float:
        """arena / lower bound (1.0 is optimal)."""
        return self.arena_bytes / self.lower_bound_bytes if self.lower_bound_bytes else 1.0


def aligned(nbytes: int, alignment: int = ALIGNMENT) -> int:
    return (nbytes + alignment - 1) // alignment * alignment


def liveness_lower_bound(lifetimes: Sequence[Lifetime], alignment: int = ALIGNMENT) -> int:
    """max over steps of the aligned bytes of the tensors alive at that step."""
    events: dict[int, int] = {}
    for t in lifetimes:
        size = aligned(t.nbytes, alignment)
        events[t.start] = events.get(t.start, 0) + size
        events[t.end + 1] = events.get(t.end + 1, 0) - size
    best = live = 0
    for step in sorted(events):
        live += events[step]
        best = max(best, live)
    return best


def plan_memory_by_lifetimes(lifetimes: Sequence[Lifetime],
                             alignment: int = ALIGNMENT) -> MemoryPlan:
    """Greedy-by-size placement (see the module docstring)."""
    order = sorted(range(len(lifetimes)),
                   key=lambda i: (-aligned(lifetimes[i].nbytes, alignment), lifetimes[i].start, i))
    offsets = [0] * len(lifetimes)
    placed: list[int] = []
    arena = 0
    for i in order:
        size = aligned(lifetimes[i].nbytes, alignment)
        if size == 0:
            continue  # no bytes: offset 0 is valid and collides with nothing
        busy = sorted((offsets[j], offsets[j] + aligned(lifetimes[j].nbytes, alignment))
                      for j in placed if lifetimes[j].overlaps(lifetimes[i]))
        offsets[i] = _lowest_gap(busy, size)
        placed.append(i)
        arena = max(arena, offsets[i] + size)
    return MemoryPlan(tuple(offsets), arena, liveness_lower_bound(lifetimes, alignment), alignment)


def _lowest_gap(busy: list[tuple[int, int]], size: int) -> int:
    """The lowest offset where `size` bytes fit between the sorted busy ranges."""
    candidate = 0
    for start, end in busy:
        if start - candidate >= size:
            return candidate
        candidate = max(candidate, end)
    return candidate
