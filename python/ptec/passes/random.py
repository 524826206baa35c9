"""Pass: torch.rand / torch.randn draw from a generator that lives in the program.

The runtime keeps no globals, so the generator's state is program state (the
same memory a KV cache uses, python/ptec/state.py): an int64 tensor
[seed, draws] named `ptec_rng`, added by this pass when the graph draws random
numbers. Each aten.rand / aten.randn becomes ptec::random(state, size, normal),
whose kernel (runtime/src/kernels/portable/op_rand.c) fills its out with
Philox4x32-10 numbers keyed by the seed, on stream `draws`, and counts the draw.
So each execute gives new numbers, resetting the method's state restarts the
sequence, and the same program with the same seed gives the same numbers on
every build.

The seed is PyTorch's: `torch.initial_seed()` when the program is compiled, so
`torch.manual_seed(s)` before `ptec.compile` sets it. The numbers follow the
same distributions as PyTorch's, not its values (PyTorch's CPU generator is
mt19937 with its own float conversions).
"""
from __future__ import annotations

import torch

from ..state import mark_state
from .fake import fake_mode_of

STATE_NAME = "ptec_rng"
SCHEMA = "Tensor(a!) state, SymInt[] size, bool normal"
#: The out variant's schema, as the C kernel implements it (tests/python/test_op_list.py).
OUT_SCHEMA = f"ptec::random.out({SCHEMA}, *, Tensor(b!) out) -> Tensor(b!)"

_lib = torch.library.Library("ptec", "FRAGMENT")
_lib.define(f"random({SCHEMA}, *, ScalarType dtype) -> Tensor")
_lib.define(OUT_SCHEMA.removeprefix("ptec::"))


def _draw(state, size, normal, dtype):
    state[1] += 1
    return (torch.randn if normal else torch.rand)(size, dtype=dtype)


@torch.library.impl(_lib, "random", "CompositeExplicitAutograd")
def _random(state, size, normal, *, dtype):
    return _draw(state, size, normal, dtype)


@torch.library.impl(_lib, "random.out", "CompositeExplicitAutograd")
def _random_out(state, size, normal, *, out):
    return out.copy_(_draw(state, size, normal, out.dtype))


@torch.library.register_fake("ptec::random")
def _random_fake(state, size, normal, *, dtype):
    return torch.empty(size, dtype=dtype)


#: aten's random factories, and whether each draws normal numbers.
RANDOM_FACTORIES = {torch.ops.aten.rand.default: False, torch.ops.aten.randn.default: True}


def _seed() -> int:
    """torch.initial_seed() (a uint64) as the int64 of the same bits."""
    seed = torch.initial_seed()
    return seed - (1 << 64) if seed >= 1 << 63 else seed


def use_program_generator(gm: torch.fx.GraphModule) -> None:
    draws = [n for n in gm.graph.nodes
             if n.op == "call_function" and n.target in RANDOM_FACTORIES]
    if not draws:
        return
    with gm.graph.inserting_before(next(iter(gm.graph.nodes))):
        state = gm.graph.placeholder(STATE_NAME)
    with fake_mode_of(gm):
        state.meta["val"] = torch.empty((2,), dtype=torch.int64)
    mark_state(state, STATE_NAME, torch.tensor([_seed(), 0], dtype=torch.int64))
    for node in draws:
        dtype = node.kwargs.get("dtype") or torch.get_default_dtype()
        with gm.graph.inserting_before(node):
            new = gm.graph.call_function(
                torch.ops.ptec.random.default,
                (state, list(node.args[0]), RANDOM_FACTORIES[node.target]), {"dtype": dtype})
        new.meta.update(node.meta)
        node.replace_all_uses_with(new)
        gm.graph.erase_node(node)
    gm.recompile()
