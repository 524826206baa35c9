"""Targets as data: what a name like "host" means to the compiler.

Adding a target is adding a Target here (and kernels if it needs them), not
control flow in the compiler: the compiler runs `passes` in order and plans
memory against `memories`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import CompileError
from .passes import (
    GraphPass,
    fold_constants,
    remove_graph_asserts,
    remove_noop_copies,
    replace_views_with_copies,
    select_out_variants,
    use_scalar_overloads,
)


@dataclass(frozen=True)
class Memory:
    """A memory of a device: name and size in bytes."""
    name: str
    size: int


@dataclass(frozen=True)
class Target:
    name: str
    isa_features: tuple[str, ...]
    #: Device memories, None where the program gets whatever the host gives it.
    memories: tuple[Memory, ...] | None
    passes: tuple[GraphPass, ...]


#: The passes every portable-kernel target runs, in order: the last one must
#: be select_out_variants, which the emitter relies on.
PORTABLE_PASSES: tuple[GraphPass, ...] = (
    remove_graph_asserts,
    use_scalar_overloads,
    replace_views_with_copies,
    remove_noop_copies,
    fold_constants,
    select_out_variants,
)

TARGETS: dict[str, Target] = {
    "host": Target(name="host", isa_features=(), memories=None, passes=PORTABLE_PASSES),
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise CompileError(f"unknown target {name!r}; known: {', '.join(sorted(TARGETS))}") from None
