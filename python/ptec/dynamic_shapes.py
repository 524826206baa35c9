"""Bounded dynamic shapes: tensors whose size depends on the data.

torch.export gives the result of nonzero and masked_select (and everything
computed from it) an unbacked size symbol `u0`, with a value range that
PyTorch derives from the input: nonzero of a [3, 4] tensor has [u0, 2] with
0 <= u0 <= 12. ptec plans such a tensor at its upper bound (memory planning
and the `.pte`'s sizes) and writes it as `shape_dynamism = DYNAMIC_BOUND`, as
ExecuTorch does; at run time the kernel that produces it sets its actual
shape, and the kernels that read it follow (docs/runtime.md).

Only the operators in `FOLLOWS_DYNAMIC` take such a tensor as an input: their
kernels size their out from their inputs' current sizes (the checks of
kernels/portable/common.c resize a dynamic out). Any other operator is refused
here, at compile time, with its name.
"""
from __future__ import annotations

import operator
from typing import Any

import torch
from torch._ops import OpOverload

from .errors import CompileError
from .passes.fake import recompute_val, fake_mode_of

aten = torch.ops.aten

#: ATen operators (packet names) whose kernels follow a dynamic input: their
#: out is sized from the inputs' current shapes, within its own bound.
FOLLOWS_DYNAMIC = frozenset({
    # producers (their inputs may be dynamic too)
    "nonzero", "masked_select",
    # elementwise, unary
    "abs", "neg", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
    "reciprocal", "floor", "ceil", "round", "sign", "logical_not", "bitwise_not", "clamp",
    "hardtanh", "gelu", "silu", "leaky_relu", "expm1", "log1p", "erf", "trunc", "square",
    # elementwise, binary and ternary
    "add", "sub", "rsub", "mul", "div", "pow", "remainder", "fmod", "maximum", "minimum",
    "eq", "ne", "lt", "le", "gt", "ge", "where", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "atan2",
    # copies and conversions
    "_to_copy", "clone", "copy", "alias_copy", "detach_copy", "lift_fresh_copy",
    "_to_dim_order_copy", "_clone_dim_order",
    # column selection on nonzero's result (x[nonzero(m, as_tuple=True)])
    "select", "select_copy", "unsqueeze", "unsqueeze_copy",
    # reductions over every element (static out)
    "sum", "mean",
    # gathers by a dynamic index, or of a dynamic tensor
    "index", "index_select",
})


def is_dynamic(val: Any) -> bool:
    """True for a tensor with a size that is a symbol, not an int."""
    return isinstance(val, torch.Tensor) and any(not isinstance(s, int) for s in val.shape)


#: Why a TOSA partitioner leaves a node on the CPU (tosa/partition.py).
DYNAMIC_REASON = ("reads or makes a tensor of data-dependent shape (nonzero / masked_select): "
                  "TOSA shapes are static, the CPU kernels resize it")


def touches_dynamic(node: torch.fx.Node) -> bool:
    """True if a call makes or reads a tensor of data-dependent shape."""
    vals = [node.meta.get("val")] + [a.meta.get("val") for a in node.all_input_nodes]
    flat = []
    for v in vals:
        flat.extend(v if isinstance(v, (list, tuple)) else [v])
    return any(is_dynamic(v) for v in flat)


def upper_bound(size: Any, what: str = "tensor") -> int:
    """An int size, or the upper bound of a symbolic one (its value range)."""
    if isinstance(size, int):
        return size
    node = size.node
    bound = node.shape_env.bound_sympy(node.expr).upper
    if not bound.is_finite or int(bound) > 2**31 - 1:
        raise CompileError(f"{what}: size {node.expr} has no finite upper bound; ptec plans "
                           "a data-dependent size at its bound (nonzero, masked_select)")
    return int(bound)


def bound_shape(val: torch.Tensor, what: str = "tensor") -> list[int]:
    """The sizes a tensor is planned with: its shape, symbols at their bound."""
    return [upper_bound(s, what) for s in val.shape]


def bound_numel(val: torch.Tensor, what: str = "tensor") -> int:
    n = 1
    for s in bound_shape(val, what):
        n *= s
    return n


#: The operators whose result size is the data's, and the bound of that size.
_PRODUCERS = ("nonzero", "masked_select")


def _broadcast_numel(*vals: torch.Tensor) -> int:
    shapes = [bound_shape(v) for v in vals]
    rank = max(len(s) for s in shapes)
    n = 1
    for d in range(rank):
        sizes = [s[d - rank + len(s)] for s in shapes if d - rank + len(s) >= 0]
        n *= 0 if 0 in sizes else max(sizes)
    return n


def bound_dynamic_sizes(gm: torch.fx.GraphModule) -> None:
    """Sets the range of each nonzero / masked_select result size to [0, its bound]:
    the input's numel, the broadcast numel of self and mask. PyTorch's own range is
    missing for masked_select of 2 elements or fewer and too small when the mask
    broadcasts self to more elements (its fake kernel uses self's numel). Run after
    the last pass that recomputes FakeTensors (each run makes new symbols)."""
    from torch.utils._sympy.value_ranges import ValueRanges
    for node in gm.graph.nodes:
        if node.op != "call_function" or _op_name(node) not in _PRODUCERS:
            continue
        val = node.meta.get("val")
        size = val.shape[0] if is_dynamic(val) else None
        if size is None or not size.node.expr.is_Symbol:
            continue
        ins = [a.meta["val"] for a in node.args[:2] if isinstance(a, torch.fx.Node)]
        bound = _broadcast_numel(*ins)
        size.node.shape_env.var_to_range[size.node.expr] = ValueRanges(0, bound)


def _op_name(node: torch.fx.Node) -> str:
    target = node.target
    if isinstance(target, OpOverload):
        return target._schema.name.split("::")[-1]
    return getattr(target, "__name__", str(target))


def _is_sym(node: Any) -> bool:
    """A node computing a SymInt or SymBool (sym_size, operator.ge, ...)."""
    return isinstance(node, torch.fx.Node) and isinstance(
        node.meta.get("val"), (torch.SymInt, torch.SymBool))


def _bool_index_as_masked_select(gm: torch.fx.GraphModule, node: torch.fx.Node) -> bool:
    """x[mask] (index.Tensor with one bool mask of x's shape) -> masked_select(x, mask),
    and x[mask] with a mask over x's leading dims -> x[nonzero(mask) columns]:
    ptec's index kernel takes integer indices only."""
    x, indices = node.args[0], node.args[1]
    masks = [i for i in indices if isinstance(i, torch.fx.Node)
             and i.meta["val"].dtype == torch.bool]
    if not masks:
        return False
    mask = indices[0]
    if len(indices) != 1 or not isinstance(mask, torch.fx.Node):
        raise CompileError(f"{node.name}: indexing with a bool mask is supported as x[mask] only "
                           "(one mask over the leading dims)")
    xs, ms = list(x.meta["val"].shape), list(mask.meta["val"].shape)
    if is_dynamic(x.meta["val"]) or xs[:len(ms)] != ms:
        raise CompileError(f"{node.name}: the bool mask's shape {ms} must be the leading dims of "
                           f"the indexed tensor's {xs}")
    mode = fake_mode_of(gm)
    with gm.graph.inserting_before(node):
        if len(ms) == len(xs):
            new = gm.graph.call_function(aten.masked_select.default, (x, mask))
            recompute_val(new, mode)
        else:
            nz = gm.graph.call_function(aten.nonzero.default, (mask,))
            recompute_val(nz, mode)
            cols = []
            for j in range(len(ms)):
                col = gm.graph.call_function(aten.select_copy.int, (nz, 1, j))
                recompute_val(col, mode)
                cols.append(col)
            new = gm.graph.call_function(aten.index.Tensor, (x, cols))
            recompute_val(new, mode)
    node.replace_all_uses_with(new)
    gm.graph.erase_node(node)
    return True


def _column_as_select(gm: torch.fx.GraphModule, node: torch.fx.Node) -> bool:
    """squeeze(slice(t, d, j, j + 1), [d]) of a dynamic t -> select_copy(t, d, j): how
    nonzero(as_tuple=True) decomposes; PyTorch's fake slice guards on t's size."""
    if node.target not in (aten.squeeze.dims, aten.squeeze.dim):
        return False
    src = node.args[0]
    if not (isinstance(src, torch.fx.Node) and src.target is aten.slice.Tensor
            and is_dynamic(src.args[0].meta["val"]) and len(src.users) == 1):
        return False
    t, d, start, end = (list(src.args) + [None] * 4)[:4]
    dims = node.args[1] if isinstance(node.args[1], (list, tuple)) else [node.args[1]]
    step = src.args[4] if len(src.args) > 4 else 1
    rank = t.meta["val"].dim()
    if not (isinstance(d, int) and isinstance(start, int) and end == start + 1 and step == 1
            and [x % rank for x in dims] == [d % rank] and not is_dynamic_dim(t, d)):
        return False
    with gm.graph.inserting_before(node):
        new = gm.graph.call_function(aten.select.int, (t, d, start))
        recompute_val(new, fake_mode_of(gm))
    node.replace_all_uses_with(new)
    gm.graph.erase_node(node)
    gm.graph.erase_node(src)
    return True


def is_dynamic_dim(node: torch.fx.Node, d: int) -> bool:
    return not isinstance(node.meta["val"].shape[d], int)


def prepare_dynamic_shapes(gm: torch.fx.GraphModule) -> None:
    """Drops the run-time checks torch.export puts on unbacked sizes (u0 <= numel:
    the kernels check their bound), rewrites bool-mask indexing, and refuses any
    operator that would read a data-dependent tensor without following its shape."""
    graph = gm.graph
    if not any(is_dynamic(n.meta.get("val")) for n in graph.nodes):
        return
    changed = False
    for node in list(graph.nodes):
        if node.op == "call_function" and node.target is aten.index.Tensor:
            changed |= _bool_index_as_masked_select(gm, node)
        elif node.op == "call_function":
            changed |= _column_as_select(gm, node)
    # The asserts on u0 (and the sym_size / comparisons feeding them).
    for node in reversed(list(graph.nodes)):
        if node.op != "call_function" or node.users:
            continue
        if node.target in (aten._assert_scalar.default, aten.sym_constrain_range_for_size.default) \
                or _is_sym(node) or node.target in (operator.ge, operator.le, operator.eq):
            graph.erase_node(node)
            changed = True
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        if _is_sym(node):
            raise CompileError(f"{node.name}: {_op_name(node)} computes with a data-dependent "
                               "size; ptec programs cannot use a size as a value")
        inputs = [a for a in node.all_input_nodes if is_dynamic(a.meta.get("val"))]
        name = _op_name(node)
        if inputs and name not in FOLLOWS_DYNAMIC and node.target is not operator.getitem \
                and not name.startswith("_assert"):  # asserts: remove_graph_asserts
            raise CompileError(
                f"{node.name}: {name} does not take tensors of data-dependent shape "
                f"({inputs[0].name}, from nonzero / masked_select); ptec's dynamic-bound shapes "
                "reach elementwise ops, copies, sum/mean, index and index_select only")
    if changed:
        graph.eliminate_dead_code()
        gm.recompile()
