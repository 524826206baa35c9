"""Emission: the scheduled, planned graph as an ExecuTorch program.

This follows ExecuTorch's emitter (exir/emit/_emitter.py), because the value
conventions are the contract with any runtime that reads the file
(docs/compiler.md, "Emission"):

* one ExecutionPlan "forward"; inputs are the user inputs, all memory-planned;
  constants live in the constant segment (data_buffer_idx >= 1, index 0 being
  ExecuTorch's reserved placeholder);
* a KernelCall passes every argument of the out variant's schema in order,
  defaults filled in, out arguments included, then one return slot: the `out`
  value itself for a single Tensor out, else one extra TensorList of the outs;
* IntList is boxed (items are indices of Int values), Double/BoolList are
  inline, TensorList holds value indices, OptionalTensorList uses -1 for None;
  ScalarType, MemoryFormat and Layout are Ints; None is Null, except a None
  passed where the schema says (non-optional) Tensor, which is an empty BYTE
  tensor.

Int, Bool, Double, String, list and Null values are immutable here, so equal
ones are emitted once and shared.
"""
from __future__ import annotations

import numbers
import operator
import struct
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch.utils import _pytree as pytree

from .dtypes import LAYOUTS, MEMORY_FORMATS, dim_order_from_strides, scalar_type
from .dynamic_shapes import bound_shape, is_dynamic
from .errors import CompileError
from .memory import MemoryPlan
from .passes.control_flow import CPU_REASON, WhileCall, is_cond
from .passes.out_variants import META_KEY, OutVariant
from .pte import pack_constant_segment
from .pte.file import layout_segments
from .pte import schema as pte
from .schedule import Schedule, TensorKey, results, tensor_key
from .state import STATE_KEY, STATE_MEMORY_ID, StateLayout, is_state, write_target
from .tosa.delegate import DelegateCall, is_delegate

METHOD_NAME = "forward"
#: allocation_info.memory_id of the one planned buffer (1-based, as the runtime counts).
ACTIVATION_MEMORY_ID = 1


@dataclass(frozen=True)
class InstructionInfo:
    """What the report says about one kernel call."""
    node: str
    operator: str
    outputs: tuple[tuple[tuple[int, ...], torch.dtype], ...]
    #: The lowering's decision: "integer", or why the op stayed float (None:
    #: the graph was not quantized, or the op is a quantize/dequantize).
    lowering: str | None = None
    #: On a delegating target: "delegated", or why the op stays on the CPU.
    delegation: str | None = None
    #: For a delegate call: the TOSA operators it runs and the FX nodes it replaced.
    delegate_operators: int = 0
    delegated_nodes: tuple[str, ...] = ()
    delegate_bytes: int = 0
    #: What the delegate's backend compiler reported (Ethos-U: Vela's VelaOutput).
    delegate_details: Any = None
    #: For debuggers: the value indices of the outputs, the PyTorch module the
    #: node came from ("blocks.3", from torch.export's nn_module_stack) and, for
    #: an integer kernel, its output's (scale, zero_point).
    output_values: tuple[int, ...] = ()
    module: str | None = None
    output_qparams: tuple[float, int] | None = None
    #: For a delegate call: its index in the delegate table and, per replaced node,
    #: (TOSA tensor, its layout, module, qparams) (ptec.tosa.delegate.DelegateCall).
    delegate_index: int | None = None
    delegate_tensors: dict[str, tuple] | None = None


def module_of(node: torch.fx.Node) -> str | None:
    """The innermost PyTorch module the node was traced in ("" is the model itself)."""
    stack = node.meta.get("nn_module_stack")
    return list(stack.values())[-1][0] if stack else None


@dataclass
class EmittedProgram:
    program: pte.Program
    segments: list[bytes]
    instructions: list[InstructionInfo]
    constant_bytes: int


def encode_container(spec: pytree.TreeSpec | None) -> str:
    """A pytree spec as ExecuTorch stores it in container_meta_type (treespec_dumps)."""
    if spec is None:
        return ""
    tree = pytree.tree_unflatten([0] * spec.num_leaves, spec)
    return pytree.treespec_dumps(pytree.tree_flatten(tree)[1])


def tensor_bytes(tensor: torch.Tensor, dim_order: list[int]) -> bytes:
    """The elements of `tensor` laid out in `dim_order` (outermost first)."""
    laid_out = tensor.detach().permute(dim_order).contiguous().reshape(-1)
    return laid_out.view(torch.uint8).numpy().tobytes()


class _Emitter:
    """Builds the value table, operator table and instructions of one method."""

    def __init__(self, gm: torch.fx.GraphModule, schedule: Schedule, plan: MemoryPlan,
                 pool: "_ConstantPool | None" = None, state: StateLayout | None = None):
        self.gm = gm
        self.offsets = {key: off for p, off in zip(schedule.planned, plan.offsets)
                        for key in (p.key, *p.aliases)}
        self.values: list[pte.EValue] = []
        self.shared: dict[tuple, int] = {}
        self.tensors: dict[TensorKey, int] = {}
        # Methods of one program share constants and delegate data.
        pool = pool or _ConstantPool()
        self.constants, self.constant_ids = pool.constants, pool.constant_ids
        self.state = state
        self.operators: list[pte.Operator] = []
        self.operator_ids: dict[tuple[str, str], int] = {}
        self.instructions: list[pte.Instruction] = []
        self.infos: list[InstructionInfo] = []
        self.delegates: list[pte.BackendDelegate] = []
        self.delegate_data: list[pte.BackendDelegateInlineData] = pool.delegate_data

    # ---------------------------------------------------------------- values

    def _add(self, val: Any) -> int:
        self.values.append(pte.EValue(val))
        return len(self.values) - 1

    def _shared(self, key: tuple, make: Callable[[], Any]) -> int:
        if key not in self.shared:
            self.shared[key] = self._add(make())
        return self.shared[key]

    def null(self) -> int:
        return self._shared(("Null",), pte.Null)

    def int_(self, v: int) -> int:
        return self._shared(("Int", int(v)), lambda: pte.Int(int(v)))

    def bool_(self, v: bool) -> int:
        return self._shared(("Bool", bool(v)), lambda: pte.Bool(bool(v)))

    def double(self, v: float) -> int:
        return self._shared(("Double", struct.pack("<d", v)), lambda: pte.Double(float(v)))

    def string(self, v: str) -> int:
        return self._shared(("String", v), lambda: pte.String(v))

    def int_list(self, items: list[int]) -> int:
        boxed = [self.int_(v) for v in items]
        return self._shared(("IntList", tuple(boxed)), lambda: pte.IntList(boxed))

    def double_list(self, items: list[float]) -> int:
        key = ("DoubleList", struct.pack(f"<{len(items)}d", *items))
        return self._shared(key, lambda: pte.DoubleList([float(v) for v in items]))

    def bool_list(self, items: list[bool]) -> int:
        return self._shared(("BoolList", tuple(map(bool, items))),
                            lambda: pte.BoolList([bool(v) for v in items]))

    def empty_tensor(self) -> int:
        """ExecuTorch's stand-in for None passed as a non-optional Tensor."""
        return self._shared(("EmptyTensor",), lambda: pte.Tensor(
            scalar_type=pte.ScalarType.BYTE, sizes=[0], dim_order=[0]))

    def input_value(self, node: torch.fx.Node) -> int:
        """A user input: a planned tensor, or an Int/Double/Bool of its own
        (never shared: it is an input) holding the value torch.export
        specialised the program on."""
        val = node.meta["val"]
        if isinstance(val, torch.Tensor):
            return self.planned_tensor((node, None), val)
        if isinstance(val, bool):
            return self._add(pte.Bool(val))
        if isinstance(val, int):
            return self._add(pte.Int(val))
        return self._add(pte.Double(float(val)))

    def _tensor(self, val: torch.Tensor, **fields: Any) -> pte.Tensor:
        if is_dynamic(val):  # sized by the data: its bound, resized at run time, contiguous
            return pte.Tensor(scalar_type=scalar_type(val.dtype), sizes=bound_shape(val),
                              dim_order=list(range(val.dim())),
                              shape_dynamism=pte.TensorShapeDynamism.DYNAMIC_BOUND, **fields)
        return pte.Tensor(scalar_type=scalar_type(val.dtype), sizes=list(val.shape),
                          dim_order=dim_order_from_strides(val.stride()), **fields)

    def planned_tensor(self, key: TensorKey, val: torch.Tensor) -> int:
        offset = self.offsets[key]
        alloc = pte.AllocationDetails(memory_id=ACTIVATION_MEMORY_ID,
                                      memory_offset_low=offset & 0xFFFFFFFF,
                                      memory_offset_high=offset >> 32)
        self.tensors[key] = self._add(self._tensor(val, allocation_info=alloc))
        return self.tensors[key]

    def constant_data(self, real: torch.Tensor, desc: pte.Tensor) -> int:
        """The constant segment index of `real`'s bytes (stored once)."""
        data = tensor_bytes(real, desc.dim_order)
        if data not in self.constant_ids:
            self.constants.append(data)
            self.constant_ids[data] = len(self.constants)  # 1-based: 0 is the placeholder
        return self.constant_ids[data]

    def constant_tensor(self, node: torch.fx.Node) -> int:
        # A cond's branch holds its own constants (passes/control_flow.py).
        owner = self.gm if node.graph is self.gm.graph else node.graph.owning_module
        real = getattr(owner, node.target)
        desc = self._tensor(node.meta["val"])
        desc.data_buffer_idx = self.constant_data(real, desc)
        self.tensors[(node, None)] = self._add(desc)
        return self.tensors[(node, None)]

    def state_tensor(self, node: torch.fx.Node) -> int:
        """A mutable buffer: planned in the state memory at its layout offset,
        with its initial value as data unless that is all zeros (state.py)."""
        buffer = node.meta[STATE_KEY]
        offset = self.state.offsets[buffer.name]
        alloc = pte.AllocationDetails(memory_id=STATE_MEMORY_ID,
                                      memory_offset_low=offset & 0xFFFFFFFF,
                                      memory_offset_high=offset >> 32)
        desc = self._tensor(node.meta["val"], allocation_info=alloc)
        if buffer.has_initial_data:
            desc.data_buffer_idx = self.constant_data(buffer.initial, desc)
        self.tensors[(node, None)] = self._add(desc)
        return self.tensors[(node, None)]

    def tensor_of(self, node: torch.fx.Node, where: str) -> int:
        key = tensor_key(node)
        if key not in self.tensors:
            raise CompileError(f"{where}: {node.name} is not a tensor the program holds")
        return self.tensors[key]

    # ------------------------------------------------------------- arguments

    def argument(self, value: Any, jit_type: Any, where: str) -> int:
        """The value index of one schema argument, typed by the schema."""
        if isinstance(jit_type, torch.OptionalType):
            if value is None:
                return self.null()
            jit_type = jit_type.getElementType()
        if isinstance(jit_type, torch.TensorType):
            if value is None:
                return self.empty_tensor()
            if not isinstance(value, torch.fx.Node):
                raise CompileError(f"{where}: expected a tensor, got {value!r}")
            return self.tensor_of(value, where)
        if isinstance(jit_type, torch.ListType):
            return self.list_argument(list(value), jit_type.getElementType(), where)
        if isinstance(value, torch.fx.Node):
            raise CompileError(f"{where}: {value.name} is computed at run time; "
                               "ptec supports static shapes and constant scalars only")
        return self.scalar_argument(value, jit_type, where)

    def list_argument(self, items: list, elem: Any, where: str) -> int:
        if isinstance(elem, (torch.IntType, torch.SymIntType)):
            return self.int_list(items)
        if isinstance(elem, torch.FloatType):
            return self.double_list(items)
        if isinstance(elem, torch.BoolType):
            return self.bool_list(items)
        if isinstance(elem, torch.TensorType):
            return self._add(pte.TensorList([self.tensor_of(n, where) for n in items]))
        if isinstance(elem, torch.OptionalType) and isinstance(elem.getElementType(),
                                                               torch.TensorType):
            return self._add(pte.OptionalTensorList(
                [-1 if n is None else self.tensor_of(n, where) for n in items]))
        raise CompileError(f"{where}: lists of {elem} are not supported")

    def scalar_argument(self, value: Any, jit_type: Any, where: str) -> int:
        if isinstance(value, torch.dtype):
            return self.int_(scalar_type(value))
        if isinstance(value, torch.memory_format):
            return self.int_(MEMORY_FORMATS[value])
        if isinstance(value, torch.layout):
            return self.int_(LAYOUTS[value])
        if isinstance(jit_type, torch.StringType):
            return self.string(value)
        if isinstance(jit_type, torch.NumberType):
            return self.number(value, where)
        if isinstance(jit_type, torch.BoolType):
            return self.bool_(value)
        if isinstance(jit_type, (torch.IntType, torch.SymIntType)):
            return self.int_(value)
        if isinstance(jit_type, torch.FloatType):
            return self.double(value)
        raise CompileError(f"{where}: arguments of type {jit_type} are not supported")

    def number(self, value: Any, where: str) -> int:
        """A Scalar: Bool, Int or Double by its Python type."""
        if isinstance(value, bool):
            return self.bool_(value)
        if isinstance(value, numbers.Integral):
            return self.int_(value)
        if isinstance(value, numbers.Real):
            return self.double(value)
        raise CompileError(f"{where}: {value!r} is not a number")

    # ---------------------------------------------------------- instructions

    def operator(self, variant: OutVariant) -> int:
        key = (variant.name, variant.overload)
        if key not in self.operator_ids:
            self.operator_ids[key] = len(self.operators)
            self.operators.append(pte.Operator(name=variant.name, overload=variant.overload))
        return self.operator_ids[key]

    def kernel_call(self, node: torch.fx.Node) -> None:
        variant: OutVariant | None = node.meta.get(META_KEY)
        if variant is None:
            raise CompileError(f"{node.name} ({node.target}) has no out variant chosen: "
                               "the target's passes must end with select_out_variants")
        where = f"{node.name} ({variant.name}.{variant.overload})"
        given = dict(zip((a.name for a in node.target._schema.arguments), node.args))
        given.update(node.kwargs)
        outs = results(node)
        out_tensors: list[int] = []
        target = write_target(node)
        if target is not None:  # writes state: its out is the buffer (state.py)
            self.tensors[outs[0][0]] = self.tensors[(target, None)]
        args: list[int] = []
        for arg in variant.schema.arguments:
            if arg.is_out:
                args.append(self.out_argument(arg, outs, out_tensors, where))
            elif arg.name in given:
                args.append(self.argument(given[arg.name], arg.type, f"{where}.{arg.name}"))
            elif arg.has_default_value():
                args.append(self.argument(arg.default_value, arg.type, f"{where}.{arg.name}"))
            else:
                raise CompileError(f"{where}: argument {arg.name!r} missing and has no default")
        out_types = [a.type for a in variant.schema.arguments if a.is_out]
        if len(out_types) == 1 and isinstance(out_types[0], torch.TensorType):
            args.append(out_tensors[0])  # the return is the out tensor itself
        else:
            args.append(self._add(pte.TensorList(out_tensors)))
        op_index = self.operator(variant)
        self.instructions.append(pte.Instruction(pte.KernelCall(op_index, args)))
        self.infos.append(InstructionInfo(node.name, self.operators[op_index].qualified_name,
                                          tuple((tuple(v.shape), v.dtype) for _, v in outs),
                                          node.meta.get("ptec_lowering"),
                                          node.meta.get("ptec_tosa"),
                                          output_values=tuple(out_tensors),
                                          module=module_of(node),
                                          output_qparams=node.meta.get("ptec_output_qparams")))

    def delegate_call(self, node: torch.fx.Node) -> None:
        """A DelegateCall: arguments are the inputs then the outputs; the processed
        bytes go inline in the program (backend_delegate_data)."""
        call: DelegateCall = node.target
        where = f"{node.name} ({call.backend_id})"
        args = [self.tensor_of(a, where) for a in node.args]
        outs = results(node)
        args += [self.planned_tensor(key, val) for key, val in outs]
        index = len(self.delegates)
        self.delegate_data.append(pte.BackendDelegateInlineData(data=call.processed))
        self.delegates.append(pte.BackendDelegate(
            id=call.backend_id,
            processed=pte.BackendDelegateDataReference(location=pte.DataLocation.INLINE,
                                                       index=index),
            compile_specs=[pte.CompileSpec(key, value) for key, value in call.compile_specs]))
        self.instructions.append(pte.Instruction(pte.DelegateCall(delegate_index=index,
                                                                  args=args)))
        self.infos.append(InstructionInfo(node.name, f"delegate {call.backend_id}",
                                          tuple((tuple(v.shape), v.dtype) for _, v in outs),
                                          None, node.meta.get("ptec_tosa"), call.operators,
                                          tuple(call.source_nodes), len(call.processed),
                                          call.details, output_values=tuple(args[-len(outs):])
                                          if outs else (), module=module_of(node),
                                          delegate_index=index,
                                          delegate_tensors=call.node_tensors))

    def out_argument(self, arg: Any, outs: list, out_tensors: list[int], where: str) -> int:
        """Out tensor(s) for one out argument: the next result, or all for Tensor[]."""
        if isinstance(arg.type, torch.ListType):
            ids = [self.planned_tensor(key, val) for key, val in outs[len(out_tensors):]]
            out_tensors.extend(ids)
            return self._add(pte.TensorList(ids))
        if len(out_tensors) >= len(outs):
            raise CompileError(f"{where}: more out arguments than results")
        key, val = outs[len(out_tensors)]
        if key in self.tensors:  # the state buffer a write-back writes (kernel_call)
            out_tensors.append(self.tensors[key])
            return out_tensors[-1]
        out_tensors.append(self.planned_tensor(key, val))
        return out_tensors[-1]

    # ---------------------------------------------------------- control flow

    def control(self, args: Any, node: torch.fx.Node, name: str) -> int:
        """Appends a jump or move (of cond `node`); returns its index."""
        self.instructions.append(pte.Instruction(args))
        # On a delegating target (the partitioner gave the cond a reason), say why it stays.
        why = CPU_REASON if node.meta.get("ptec_tosa") else None
        self.infos.append(InstructionInfo(node.name, name, (), delegation=why))
        return len(self.instructions) - 1

    def cond(self, node: torch.fx.Node) -> None:
        """torch.cond inline, as ExecuTorch emits it (passes/control_flow.py):
        JumpFalse(pred) true MoveCalls JumpFalse(False) false MoveCalls."""
        if isinstance(node.target, WhileCall):  # a loop: while_emit.py
            from .while_emit import emit_while
            return emit_while(self, node)
        where = f"{node.name} (torch.cond)"
        result_ids = [self.planned_tensor(key, val) for key, val in results(node)]
        pred = self.tensor_of(node.args[0], where)
        jumps = [self.control(pte.JumpFalseCall(pred, 0), node, "jump_false")]
        for side, branch in enumerate(node.target.branches):
            if side == 1:
                jumps.append(self.control(pte.JumpFalseCall(self.bool_(False), 0), node, "jump"))
                self.instructions[jumps[0]].instr_args.destination_instruction = \
                    len(self.instructions)
            placeholders = [n for n in branch.graph.nodes if n.op == "placeholder"]
            for ph, operand in zip(placeholders, node.args[1:]):
                self.tensors[(ph, None)] = self.tensor_of(operand, where)
            self.graph(branch)
            for i, out in enumerate(node.target.outputs(side)):
                self.control(pte.MoveCall(self.tensor_of(out, where), result_ids[i]), node, "move")
        self.instructions[jumps[1]].instr_args.destination_instruction = len(self.instructions)

    def graph(self, branch: torch.fx.GraphModule) -> None:
        """A branch's constants and calls, in order (its inputs are bound by cond)."""
        for n in branch.graph.nodes:
            if n.op == "get_attr":
                self.constant_tensor(n)
            elif is_cond(n):
                self.cond(n)
            elif n.op == "call_function" and n.target is not operator.getitem:
                self.kernel_call(n)

    def output(self, value: Any) -> int:
        if isinstance(value, torch.fx.Node):
            return self.tensor_of(value, "output")
        if value is None:
            return self.null()
        if isinstance(value, numbers.Number):
            return self.number(value, "output")
        raise CompileError(f"output {value!r} is not supported")


@dataclass
class _ConstantPool:
    """What the methods of one program share: constants and delegate data."""
    constants: list[bytes] = field(default_factory=list)
    constant_ids: dict[bytes, int] = field(default_factory=dict)
    delegate_data: list = field(default_factory=list)


@dataclass
class MethodToEmit:
    """One method of a program: its scheduled, planned graph and pytree specs."""
    name: str
    gm: torch.fx.GraphModule
    schedule: Schedule
    plan: MemoryPlan
    in_spec: pytree.TreeSpec | None
    out_spec: pytree.TreeSpec | None


def emit_program(gm: torch.fx.GraphModule, schedule: Schedule, plan: MemoryPlan,
                 in_spec: pytree.TreeSpec | None, out_spec: pytree.TreeSpec | None,
                 segment_alignment: int, state: StateLayout | None = None) -> EmittedProgram:
    """The Program, its constant segment and per-instruction facts for the report.

    The Program states where its segment will sit in a file written with
    `segment_alignment`, so it equals what reading that file gives back.
    """
    return emit_methods([MethodToEmit(METHOD_NAME, gm, schedule, plan, in_spec, out_spec)],
                        segment_alignment, state)


def emit_methods(methods: list[MethodToEmit], segment_alignment: int,
                 state: StateLayout | None = None,
                 constant_methods: dict[str, Any] | None = None) -> EmittedProgram:
    """A Program of several methods sharing constants and, through the state
    memory (planned buffer 2, laid out by `state`), mutable buffers; plus
    constant methods (ExecuTorch's metadata methods: no instructions, one
    Int/Double/Bool output)."""
    pool = _ConstantPool()
    plans, infos = [], []
    for m in methods:
        plan, method_infos = _emit_method(m, pool, state)
        plans.append(plan)
        infos.extend(method_infos)
    for name, value in (constant_methods or {}).items():
        plans.append(_constant_method(name, value))
    segment, offsets = pack_constant_segment(pool.constants)
    program = pte.Program(
        version=pte.SCHEMA_VERSION,
        execution_plan=plans,
        constant_buffer=[],
        backend_delegate_data=pool.delegate_data,
        segments=layout_segments([segment], segment_alignment)[0],
        constant_segment=pte.SubsegmentOffsets(segment_index=0, offsets=offsets),
    )
    return EmittedProgram(program, [segment], infos, len(segment))


def _emit_method(m: MethodToEmit, pool: _ConstantPool,
                 state: StateLayout | None) -> tuple[pte.ExecutionPlan, list[InstructionInfo]]:
    em = _Emitter(m.gm, m.schedule, m.plan, pool, state)
    inputs: list[int] = []
    outputs: list[int] = []
    calls = set(m.schedule.instructions)
    for node in m.gm.graph.nodes:
        if is_state(node):
            em.state_tensor(node)
        elif node.op == "placeholder":
            inputs.append(em.input_value(node))
        elif node.op == "get_attr":
            em.constant_tensor(node)
        elif is_cond(node):
            em.cond(node)
        elif node in calls and is_delegate(node):
            em.delegate_call(node)
        elif node in calls:
            em.kernel_call(node)
        elif node.op == "output":
            returned = node.args[0]
            items = returned if isinstance(returned, (list, tuple)) else [returned]
            outputs = [em.output(v) for v in items]
    # Planned buffer 2 is the state memory, when the program has state.
    buffer_sizes = [0, m.plan.arena_bytes] + ([state.nbytes] if state and state.nbytes else [])
    method = pte.ExecutionPlan(
        name=m.name,
        container_meta_type=pte.ContainerMetadata(encode_container(m.in_spec),
                                                  encode_container(m.out_spec)),
        values=em.values,
        inputs=inputs,
        outputs=outputs,
        chains=[pte.Chain(inputs=[], outputs=[], instructions=em.instructions)],
        operators=em.operators,
        delegates=em.delegates,
        non_const_buffer_sizes=buffer_sizes,
    )
    return method, em.infos


def _constant_method(name: str, value: Any) -> pte.ExecutionPlan:
    """A method returning one constant, as ExecuTorch emits metadata methods
    (get_max_seq_len, get_vocab_size, use_kv_cache, ...)."""
    if isinstance(value, bool):
        val = pte.Bool(value)
    elif isinstance(value, int):
        val = pte.Int(value)
    elif isinstance(value, float):
        val = pte.Double(value)
    else:
        raise CompileError(f"constant method {name!r}: {value!r} is not an int, float or bool")
    return pte.ExecutionPlan(
        name=name, container_meta_type=pte.ContainerMetadata("", ""),
        values=[pte.EValue(val)], inputs=[], outputs=[0],
        chains=[pte.Chain(inputs=[], outputs=[], instructions=[])],
        operators=[], delegates=[], non_const_buffer_sizes=[0])
