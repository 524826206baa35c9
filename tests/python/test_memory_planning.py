"""Memory planning: lifetimes, greedy-by-size placement, and the liveness bound."""
import random
import sys
from pathlib import Path

import pytest
import torch

import ptec
from ptec.dtypes import SCALAR_TYPES, element_size
from ptec.export import export_core_aten
from ptec.memory import Lifetime, aligned, liveness_lower_bound, plan_memory_by_lifetimes
from ptec.pte import schema as s
from ptec.schedule import build_schedule
from ptec.targets import get_target

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

SLACK = 1.10  # arena <= 1.10 x liveness lower bound


def assert_valid(lifetimes, plan):
    """Tensors alive at the same time never share a byte; all fit in the arena."""
    assert len(plan.offsets) == len(lifetimes)
    for t, off in zip(lifetimes, plan.offsets):
        assert off % plan.alignment == 0
        assert off + aligned(t.nbytes) <= plan.arena_bytes or t.nbytes == 0
    for i, (a, oa) in enumerate(zip(lifetimes, plan.offsets)):
        for b, ob in zip(lifetimes[i + 1:], plan.offsets[i + 1:]):
            if a.nbytes and b.nbytes and a.overlaps(b):
                assert oa + a.nbytes <= ob or ob + b.nbytes <= oa, (a, oa, b, ob)
    assert plan.lower_bound_bytes <= plan.arena_bytes


def test_lower_bound_is_peak_of_live_bytes():
    lifetimes = [Lifetime(0, 1, 100), Lifetime(1, 2, 30), Lifetime(2, 3, 64), Lifetime(3, 3, 0)]
    # step 1: 112 + 32; step 2: 32 + 64.
    assert liveness_lower_bound(lifetimes) == 144
    assert liveness_lower_bound([]) == 0


def test_chain_reuses_memory_exactly():
    sizes = [4096, 8192, 2048, 16384, 1024, 4096]
    lifetimes = [Lifetime(i, i + 1, n) for i, n in enumerate(sizes)]
    plan = plan_memory_by_lifetimes(lifetimes)
    assert_valid(lifetimes, plan)
    assert plan.arena_bytes == plan.lower_bound_bytes == max(
        a + b for a, b in zip(sizes, sizes[1:]))


def test_zero_byte_tensors_take_no_space():
    lifetimes = [Lifetime(0, 2, 0), Lifetime(0, 2, 48), Lifetime(1, 1, 0)]
    plan = plan_memory_by_lifetimes(lifetimes)
    assert plan.arena_bytes == 48 and plan.offsets[0] == plan.offsets[2] == 0


def test_sizes_are_rounded_to_16():
    lifetimes = [Lifetime(0, 0, 1), Lifetime(0, 0, 17), Lifetime(0, 0, 16)]
    plan = plan_memory_by_lifetimes(lifetimes)
    assert_valid(lifetimes, plan)
    assert plan.arena_bytes == plan.lower_bound_bytes == 16 + 32 + 16


def test_random_lifetimes_are_placed_validly(seed):
    rng = random.Random(seed)
    for _ in range(20):
        lifetimes = []
        for _ in range(rng.randint(1, 60)):
            start = rng.randint(0, 40)
            lifetimes.append(Lifetime(start, start + rng.randint(0, 10),
                                      rng.choice([0, 1, 16, 100, 4096, rng.randint(1, 50000)])))
        assert_valid(lifetimes, plan_memory_by_lifetimes(lifetimes))


def test_network_shaped_lifetimes_stay_near_the_bound(seed):
    """A feed-forward chain with residual skips, like the CNNs ptec targets."""
    rng = random.Random(seed)
    for _ in range(20):
        lifetimes, step = [], 0
        for _block in range(rng.randint(3, 12)):
            size = rng.choice([1, 2, 4, 6]) * 1024 * rng.choice([1, 4, 16])
            block_in = Lifetime(step, step + 3, size)  # skip connection, read by the add
            lifetimes += [block_in, Lifetime(step + 1, step + 2, size * 6),
                          Lifetime(step + 2, step + 3, size * 6), Lifetime(step + 3, step + 4, size)]
            step += 4
        plan = plan_memory_by_lifetimes(lifetimes)
        assert_valid(lifetimes, plan)
        assert plan.arena_bytes <= SLACK * plan.lower_bound_bytes


class _Pools(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.bn = torch.nn.BatchNorm2d(8)

    def forward(self, x, unused):
        # A relu between conv and batch norm keeps the batch norm (with its extra
        # outputs) from being folded into the conv.
        y = torch.nn.functional.max_pool2d(self.bn(self.conv(x).relu()), 2)
        return y.relu(), y


def test_schedule_plans_every_tensor_with_its_lifetime():
    exported = export_core_aten(_Pools(), (torch.randn(1, 3, 10, 10), torch.randn(2)))
    gm = exported.graph_module
    for graph_pass in get_target("host").passes:
        graph_pass(gm)
    schedule = build_schedule(gm)
    last = len(schedule.instructions) - 1
    by_name = {(p.key[0].name, p.key[1]): p.lifetime for p in schedule.planned}
    assert by_name[("x", None)].start == 0 and by_name[("unused", None)] == Lifetime(0, 0, 8)
    conv, first_relu, bn, pool, relu = schedule.instructions
    # batch norm's save_mean/save_invstd: zero bytes, still planned; pool indices unused.
    assert by_name[(bn.name, 1)] == by_name[(bn.name, 2)] == Lifetime(2, 2, 0)
    assert by_name[(pool.name, 1)] == Lifetime(3, 3, 8 * 4 * 4 * 8)
    assert by_name[(pool.name, 0)] == Lifetime(3, last, 8 * 4 * 4 * 4)  # a graph output
    assert by_name[(relu.name, None)].end == last


def planned_lifetimes(plan: s.ExecutionPlan) -> dict[int, tuple[int, int, int, int]]:
    """value index -> (first step, last step, offset, bytes), read from the program alone."""
    values = plan.values
    steps = plan.chains[0].instructions
    last = max(len(steps) - 1, 0)
    seen: dict[int, list[int]] = {}

    def touch(v: int, step: int) -> None:
        seen.setdefault(v, []).append(step)
        val = values[v].val
        if isinstance(val, (s.TensorList, s.OptionalTensorList)):
            for item in val.items:
                if item >= 0:
                    touch(item, step)

    for step, ins in enumerate(steps):
        for arg in ins.instr_args.args:
            touch(arg, step)
    for v in plan.inputs:
        touch(v, 0)
    for v in plan.outputs:
        touch(v, last)
    out = {}
    for v, used in seen.items():
        t = values[v].val
        if isinstance(t, s.Tensor) and t.allocation_info is not None:
            numel = 1
            for n in t.sizes:
                numel *= n
            dtype = next(d for d, st in SCALAR_TYPES.items() if st == t.scalar_type)
            out[v] = (min(used), max(used), t.allocation_info.offset, numel * element_size(dtype))
    return out


SMALL = {"ds_cnn": {}, "transformer": {}, "mobilenet_v2": dict(resolution=96),
         "resnet18": dict(resolution=64)}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_real_models_plan_near_the_bound(name):
    model, inputs = EXAMPLES[name](**SMALL[name])
    program = ptec.compile(model, inputs, check_kernels=False)
    memory = program.memory
    print(f"{name}: arena {memory.arena_bytes} B, bound {memory.lower_bound_bytes} B, "
          f"ratio {memory.ratio:.4f}")
    assert memory.lower_bound_bytes <= memory.arena_bytes <= SLACK * memory.lower_bound_bytes
    plan = program.program.execution_plan[0]
    assert plan.non_const_buffer_sizes == [0, memory.arena_bytes]
    # Checked again from the emitted program, as a runtime sees it.
    tensors = sorted(planned_lifetimes(plan).items())
    for v, (_, _, off, nbytes) in tensors:
        assert plan.values[v].val.allocation_info.memory_id == 1
        assert off % 16 == 0 and off + nbytes <= memory.arena_bytes
    for i, (va, (sa, ea, oa, na)) in enumerate(tensors):
        for vb, (sb, eb, ob, nb) in tensors[i + 1:]:
            if na and nb and sa <= eb and sb <= ea:
                assert oa + na <= ob or ob + nb <= oa, f"values {va} and {vb} collide"
