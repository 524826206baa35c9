"""The compiler: each pass alone, the out-variant table, emission, report and kernel check."""
import importlib.util
import math
import operator

import pytest
import torch
import torch.nn.functional as F

import ptec
from ptec import kernels
from ptec.dtypes import dim_order_from_strides
from ptec.emit import _Emitter
from ptec.export import export_core_aten
from ptec.passes import (
    fold_constants,
    remove_graph_asserts,
    remove_noop_copies,
    replace_views_with_copies,
    select_out_variants,
    use_scalar_overloads,
)
from ptec.passes.out_variants import META_KEY, find_out_variant
from ptec.pte import constant_bytes, deserialize_program
from ptec.pte import schema as s
from ptec.targets import get_target

aten = torch.ops.aten
requires_executorch = pytest.mark.skipif(importlib.util.find_spec("executorch") is None,
                                         reason="executorch is not installed")


def graph_of(fn, *inputs, passes=()):
    """The core-ATen graph module of `fn` (a function or module) after `passes`."""
    module = fn if isinstance(fn, torch.nn.Module) else _Wrap(fn)
    gm = export_core_aten(module, inputs).graph_module
    for graph_pass in passes:
        graph_pass(gm)
    return gm


class _Wrap(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def targets(gm):
    return [n.target for n in gm.graph.nodes if n.op == "call_function"]


# ------------------------------------------------------------------ out variants

@pytest.mark.parametrize("op, name, overload, outs", [
    (aten.add.Tensor, "aten::add", "out", ("out",)),
    (aten.add.Scalar, "aten::add", "Scalar_out", ("out",)),
    (aten.mean.dim, "aten::mean", "out", ("out",)),
    (aten.sum.dim_IntList, "aten::sum", "IntList_out", ("out",)),
    (aten.max_pool2d_with_indices.default, "aten::max_pool2d_with_indices", "out",
     ("out", "indices")),
    (aten._native_batch_norm_legit_no_training.default,
     "aten::_native_batch_norm_legit_no_training", "out", ("out0", "out1", "out2")),
    (aten.native_layer_norm.default, "aten::native_layer_norm", "out", ("out0", "out1", "out2")),
    (aten.convolution.default, "aten::convolution", "out", ("out",)),
    (aten.split_with_sizes_copy.default, "aten::split_with_sizes_copy", "out", ("out",)),
    (aten._to_copy.default, "aten::_to_copy", "out", ("out",)),  # dtype goes with the out tensor
    (aten.full.default, "aten::full", "out", ("out",)),
    (aten.view_copy.default, "aten::view_copy", "out", ("out",)),
    (aten.add.out, "aten::add", "out", ("out",)),  # already an out variant
])
def test_find_out_variant(op, name, overload, outs):
    variant = find_out_variant(op)
    assert (variant.name, variant.overload, variant.out_args) == (name, overload, outs)


@torch.library.custom_op("ptec_test::twice", mutates_args=())
def _twice(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@_twice.register_fake
def _(x):
    return torch.empty_like(x)


def test_select_out_variants_annotates_and_lists_missing_operators():
    gm = graph_of(lambda x: (x + 1).relu(), torch.randn(3))
    select_out_variants(gm)
    calls = [n for n in gm.graph.nodes if n.op == "call_function"]
    assert [n.meta[META_KEY].op for n in calls] == [aten.add.out, aten.relu.out]
    gm = graph_of(lambda x: torch.ops.ptec_test.twice(x).relu(), torch.randn(3))
    with pytest.raises(ptec.CompileError, match="ptec_test.twice"):
        select_out_variants(gm)


# ------------------------------------------------------------------ passes

def test_remove_graph_asserts():
    gm = graph_of(lambda x: x.to(torch.float16).relu(), torch.randn(3))
    assert aten._assert_tensor_metadata.default in targets(gm)
    remove_graph_asserts(gm)
    assert targets(gm) == [aten._to_copy.default, aten.relu.default]


def test_numbers_move_to_scalar_overloads():
    gm = graph_of(lambda x: (x * 2) / 3.0 - 1, torch.randn(3))
    assert targets(gm) == [aten.mul.Tensor, aten.div.Tensor, aten.sub.Tensor]
    use_scalar_overloads(gm)
    assert targets(gm) == [aten.mul.Scalar, aten.div.Scalar, aten.sub.Scalar]


def test_numbers_without_a_scalar_overload_become_constants():
    gm = graph_of(lambda x: x.relu(), torch.randn(3))
    relu = next(n for n in gm.graph.nodes if n.target == aten.relu.default)
    with gm.graph.inserting_after(relu):
        top = gm.graph.call_function(aten.maximum.default, (relu, 2.5))
    relu.replace_all_uses_with(top, delete_user_cb=lambda user: user is not top)
    use_scalar_overloads(gm)
    wrapped = top.args[1]
    assert wrapped.target == aten.scalar_tensor.default and wrapped.kwargs["dtype"] == torch.float32
    assert top.meta["val"].shape == (3,)
    fold_constants(gm)
    constant = top.args[1]
    assert constant.op == "get_attr" and getattr(gm, constant.target).item() == 2.5


def test_views_become_copies_with_fresh_metadata():
    def views(x):
        y = x.view(2, 12).t().unsqueeze(0).expand(3, 12, 2)
        a, b = torch.split(x.permute(2, 0, 1)[:, 1:], [1, 3])
        return y.select(0, 1), a.squeeze(0) * 2, b.transpose(1, 2)

    gm = graph_of(views, torch.randn(2, 3, 4))
    replace_views_with_copies(gm)
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target is not operator.getitem:
            assert not node.target.is_view
            vals = node.meta["val"] if isinstance(node.meta["val"], list) else [node.meta["val"]]
            assert all(v.is_contiguous() for v in vals), node
    assert {aten.view_copy.default, aten.permute_copy.default, aten.unsqueeze_copy.default,
            aten.expand_copy.default, aten.slice_copy.Tensor, aten.select_copy.int,
            aten.split_with_sizes_copy.default} <= set(targets(gm))


def test_layout_keeping_copies_stay_channels_last():
    x = torch.randn(1, 4, 5, 6).to(memory_format=torch.channels_last)
    gm = graph_of(lambda t: torch.split(t + 1, 2, dim=1)[0] * 2, x)
    replace_views_with_copies(gm)
    split = next(n for n in gm.graph.nodes if n.target == aten.split_with_sizes_copy.default)
    for piece in split.meta["val"]:
        assert dim_order_from_strides(piece.stride()) == [0, 2, 3, 1]


def test_noop_copies_are_removed_except_at_outputs():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = torch.nn.Dropout(0.5)

        def forward(self, x):
            y = self.drop(x.relu())              # eval dropout: a clone
            z = y.transpose(0, 1).contiguous()   # a real copy, then a no-op clone
            return z.reshape(6).relu(), z.reshape(3, 2).clone()

    gm = graph_of(Net(), torch.randn(2, 3), passes=[replace_views_with_copies])
    assert targets(gm).count(aten.clone.default) == 3
    remove_noop_copies(gm)
    # relu, permute_copy, view_copy to 6 (a real reshape), relu, and the clone that is an
    # output; dropout's clone, .contiguous() and reshape to the same shape are gone.
    assert targets(gm) == [aten.relu.default, aten.permute_copy.default, aten.view_copy.default,
                           aten.relu.default, aten.clone.default]


def test_constants_are_folded_unless_they_grow():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(8, 4)
            self.register_buffer("row", torch.randn(1, 64))

        def forward(self, x, y):
            return self.fc(x), y + self.row.expand(64, 64)

    net = Net().eval()
    gm = graph_of(net, torch.randn(2, 8), torch.randn(64, 64), passes=[replace_views_with_copies])
    assert targets(gm).count(aten.permute_copy.default) == 1
    fold_constants(gm)
    assert aten.permute_copy.default not in targets(gm)
    assert aten.expand_copy.default in targets(gm)  # 16 KiB from 256 B: left to run
    addmm = next(n for n in gm.graph.nodes if n.target == aten.addmm.default)
    assert torch.equal(getattr(gm, addmm.args[2].target), net.fc.weight.t())
    attrs = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    assert len(attrs) == 3  # bias, transposed weight, row: the original weight is gone
    assert {name for name, _ in gm.named_buffers()} == attrs


def test_host_target_is_data():
    host = get_target("host")
    assert host.memories is None and host.passes[-1] is select_out_variants
    with pytest.raises(ptec.CompileError, match="unknown target"):
        get_target("no-such-board")


# ------------------------------------------------------------------ emission

def compile_plan(model, *inputs):
    program = ptec.compile(model, inputs, check_kernels=False)
    return program, program.program.execution_plan[0]


def describe_arg(plan, index):
    """One argument slot as (kind, content), reading the values table."""
    v = plan.values[index].val
    if isinstance(v, s.Tensor):
        return ("Tensor", v.sizes)
    if isinstance(v, s.IntList):
        return ("IntList", [plan.values[i].val.int_val for i in v.items])
    if isinstance(v, (s.TensorList, s.OptionalTensorList)):
        return (type(v).__name__, [plan.values[i].val.sizes if i >= 0 else None for i in v.items])
    if isinstance(v, s.Null):
        return ("Null", None)
    return (type(v).__name__, next(iter(vars(v).values())))


def calls(plan):
    """(operator, described args, raw args) of every kernel call."""
    out = []
    for ins in plan.chains[0].instructions:
        call = ins.instr_args
        out.append((plan.operators[call.op_index].qualified_name,
                    [describe_arg(plan, a) for a in call.args], call.args))
    return out


class ArgNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
        self.norm = torch.nn.LayerNorm(5)

    def forward(self, x, y):
        a = F.max_pool2d(self.conv(x), 2)
        p, q = torch.split(torch.cat([a, a], 1), [3, 5], 1)
        return self.norm(y + y).mean(dim=-1), p, q


def test_exact_argument_lists():
    program, plan = compile_plan(ArgNet().eval(), torch.randn(1, 3, 9, 9), torch.randn(2, 5))
    got = {op: (args, raw) for op, args, raw in calls(plan)}
    T = "Tensor"
    conv, raw = got["aten::convolution.out"]
    assert conv == [(T, [1, 3, 9, 9]), (T, [4, 3, 3, 3]), ("Null", None), ("IntList", [2, 2]),
                    ("IntList", [1, 1]), ("IntList", [1, 1]), ("Bool", False), ("IntList", [0, 0]),
                    ("Int", 1), (T, [1, 4, 5, 5]), (T, [1, 4, 5, 5])]
    assert raw[-1] == raw[-2]  # the return slot is `out` itself
    pool, raw = got["aten::max_pool2d_with_indices.out"]
    assert pool == [(T, [1, 4, 5, 5]), ("IntList", [2, 2]), ("IntList", []), ("IntList", [0, 0]),
                    ("IntList", [1, 1]), ("Bool", False), (T, [1, 4, 2, 2]), (T, [1, 4, 2, 2]),
                    ("TensorList", [[1, 4, 2, 2], [1, 4, 2, 2]])]
    assert plan.values[raw[7]].val.scalar_type == s.ScalarType.LONG  # indices
    assert plan.values[raw[-1]].val.items == raw[6:8]
    cat, raw = got["aten::cat.out"]
    assert cat == [("TensorList", [[1, 4, 2, 2], [1, 4, 2, 2]]), ("Int", 1),
                   (T, [1, 8, 2, 2]), (T, [1, 8, 2, 2])]
    split, raw = got["aten::split_with_sizes_copy.out"]
    assert split == [(T, [1, 8, 2, 2]), ("IntList", [3, 5]), ("Int", 1),
                     ("TensorList", [[1, 3, 2, 2], [1, 5, 2, 2]]),
                     ("TensorList", [[1, 3, 2, 2], [1, 5, 2, 2]])]
    assert plan.values[raw[3]].val.items == plan.values[raw[4]].val.items
    assert got["aten::add.out"][0] == [(T, [2, 5]), (T, [2, 5]), ("Int", 1), (T, [2, 5]),
                                       (T, [2, 5])]
    norm, raw = got["aten::native_layer_norm.out"]
    assert norm == [(T, [2, 5]), ("IntList", [5]), (T, [5]), (T, [5]), ("Double", 1e-05),
                    (T, [2, 5]), (T, [2, 1]), (T, [2, 1]),
                    ("TensorList", [[2, 5], [2, 1], [2, 1]])]
    mean, _ = got["aten::mean.out"]
    assert mean == [(T, [2, 5]), ("IntList", [-1]), ("Bool", False), ("Null", None), (T, [2]),
                    (T, [2])]


def test_scalars_enums_and_defaults_are_typed_by_schema():
    def fn(x):
        return (x + 1, x * 0.5, x.eq(True), F.hardtanh(x, 0.0, 6.0),
                torch.mean(x, 0, dtype=torch.float64), F.gelu(x, approximate="tanh"))

    _, plan = compile_plan(_Wrap(fn), torch.randn(2, 3))
    got = {op: args for op, args, _ in calls(plan)}
    assert got["aten::add.Scalar_out"][1:3] == [("Int", 1), ("Int", 1)]
    assert got["aten::mul.Scalar_out"][1] == ("Double", 0.5)
    assert got["aten::eq.Scalar_out"][1] == ("Bool", True)
    assert got["aten::hardtanh.out"][1:3] == [("Double", 0.0), ("Double", 6.0)]
    assert got["aten::mean.out"][3] == ("Int", int(s.ScalarType.DOUBLE))
    assert got["aten::gelu.out"][1] == ("String", "tanh")


def test_inputs_constants_and_planned_tensors():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))
            self.b = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))  # same bytes as a
            self.c = torch.nn.Parameter(torch.full((5,), 7.0))

        def forward(self, x):
            return x * self.a + self.b, self.c + 1

    program, plan = compile_plan(Net().eval(), torch.randn(2, 3))
    decoded, segment = deserialize_program(program.buffer)
    assert decoded == program.program
    offsets = decoded.constant_segment.offsets
    assert offsets[0] == 0 and len(offsets) == 3  # placeholder + two distinct constants
    constants = [v.val for v in plan.values if isinstance(v.val, s.Tensor) and v.val.data_buffer_idx]
    assert sorted(t.data_buffer_idx for t in constants) == [1, 1, 2]
    for t in constants:
        assert t.allocation_info is None
        data = constant_bytes(decoded, segment, t.data_buffer_idx, 4 * math.prod(t.sizes))
        expected = torch.arange(6.0) if t.sizes == [2, 3] else torch.full((5,), 7.0)
        assert data == expected.numpy().tobytes()
    (x,) = plan.inputs
    assert plan.values[x].val.allocation_info.memory_id == 1
    for out in plan.outputs:  # self.c + 1 is computed, not folded: outputs are planned
        assert plan.values[out].val.allocation_info is not None
    assert plan.name == "forward" and len(plan.chains) == 1
    assert plan.non_const_buffer_sizes == [0, program.memory.arena_bytes]


def test_channels_last_tensors_have_nhwc_dim_order():
    conv = torch.nn.Conv2d(3, 4, 3).eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, 3, 6, 6).to(memory_format=torch.channels_last)
    _, plan = compile_plan(conv, x)
    orders = [v.val.dim_order for v in plan.values if isinstance(v.val, s.Tensor)
              and len(v.val.sizes) == 4]
    assert orders and all(o == [0, 2, 3, 1] for o in orders)


def test_none_for_a_tensor_is_an_empty_byte_tensor():
    gm = graph_of(lambda x: x.relu(), torch.randn(2))
    emitter = _Emitter(gm, ptec.schedule.build_schedule(gm), ptec.memory.MemoryPlan((), 0, 0, 16))
    empty = emitter.values[emitter.argument(None, torch.TensorType.get(), "test")].val
    assert empty == s.Tensor(scalar_type=s.ScalarType.BYTE, sizes=[0], dim_order=[0])
    none = emitter.argument(None, torch.OptionalType(torch.TensorType.get()), "test")
    assert isinstance(emitter.values[none].val, s.Null)


@requires_executorch
def test_container_metadata_matches_executorch():
    from executorch.exir import to_edge
    model = ArgNet().eval()
    inputs = (torch.randn(1, 3, 9, 9), torch.randn(2, 5))
    theirs, _ = deserialize_program(to_edge(torch.export.export(model, inputs))
                                    .to_executorch().buffer)
    _, ours = compile_plan(model, *inputs)
    assert ours.container_meta_type == theirs.execution_plan[0].container_meta_type


@requires_executorch
def test_executorch_runtime_runs_the_emitted_program():
    """ExecuTorch's portable kernels as an oracle for the argument conventions."""
    from executorch.runtime import Runtime
    model = ArgNet().eval()
    inputs = (torch.randn(1, 3, 9, 9), torch.randn(2, 5))
    program = ptec.compile(model, inputs, check_kernels=False)
    method = Runtime.get().load_program(program.buffer).load_method("forward")
    for got, want in zip(method.execute(list(inputs)), model(*inputs)):
        torch.testing.assert_close(got, want)


# ------------------------------------------------------------------ report and kernels

def test_kernel_check_names_each_problem(tmp_path, monkeypatch):
    program, _ = compile_plan(_Wrap(lambda x: (x + x).relu()), torch.randn(3))
    entries = {"aten::add.out": kernels.KernelEntry("aten::add.out", "f", "TTsTT"),
               "aten::relu.out": kernels.KernelEntry("aten::relu.out", "g", "TTT")}
    assert kernels.check_kernels(program.program, entries) == []
    entries["aten::relu.out"] = kernels.KernelEntry("aten::relu.out", "g", "TT")
    problems = kernels.check_kernels(program.program, entries)
    assert [p.operator for p in problems] == ["aten::relu.out"]
    assert "3 argument slots, the kernel takes 2" in problems[0].reason
    entries["aten::add.out"] = kernels.KernelEntry("aten::add.out", "f", "TTbTT")
    entries.pop("aten::relu.out")
    problems = {p.operator: p.reason for p in kernels.check_kernels(program.program, entries)}
    assert "slot 2 is Int" in problems["aten::add.out"]
    assert "no kernel" in problems["aten::relu.out"]

    ops_def = tmp_path / "ops.def"
    ops_def.write_text('PTEC_OP("aten::add.out", ptec_op_add_out, "TTsTT")\n')
    monkeypatch.setattr(kernels, "OPS_DEF", ops_def)
    with pytest.raises(ptec.CompileError, match=r"aten::relu\.out: no kernel"):
        ptec.compile(_Wrap(lambda x: (x + x).relu()), (torch.randn(3),))
    ops_def.write_text(ops_def.read_text() + 'PTEC_OP("aten::relu.out", ptec_op_relu_out, "TTT")\n')
    assert "every operator has a kernel" in ptec.compile(
        _Wrap(lambda x: (x + x).relu()), (torch.randn(3),)).report()


def test_report_lists_instructions_memory_and_kernels():
    program, plan = compile_plan(ArgNet().eval(), torch.randn(1, 3, 9, 9), torch.randn(2, 5))
    text = program.report()
    for op in ("aten::convolution.out", "aten::max_pool2d_with_indices.out",
               "aten::native_layer_norm.out"):
        assert op in text
    assert "portable kernel" in text and "float32[1, 4, 5, 5]" in text
    assert f"{program.memory.arena_bytes:,} bytes" in text
    assert f"{program.memory.lower_bound_bytes:,} bytes" in text
    assert f"{len(plan.values)} values" in text and f"{len(plan.chains[0].instructions)} instr" in text


def test_c_runtime_runs_the_emitted_program():
    try:
        ptec.runtime.library()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    model = ArgNet().eval()
    inputs = (torch.randn(1, 3, 9, 9), torch.randn(2, 5))
    outputs = ptec.load(ptec.compile(model, inputs).buffer)(*inputs)
    for got, want in zip(outputs, model(*inputs)):
        torch.testing.assert_close(got, want)
