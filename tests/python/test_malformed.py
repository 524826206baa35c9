"""Malformed programs: each gives its named status, never a crash.

A small valid program (out = x + w, w a constant) is built by hand, then
broken in one way per case, at the byte level (truncation, identifier,
header sizes that lie) or in its tables (indices, sizes, tags, memory plan).
Every case runs through `ptec-run` built with AddressSanitizer and
UndefinedBehaviorSanitizer (PTEC_RUN_ASAN), which aborts on any invalid
memory access or undefined behaviour, so "no crash" is checked, not assumed.
"""
from __future__ import annotations

import copy
import ctypes
import os
import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from ptec.pte import schema as s
from ptec.pte.file import serialize_program

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(os.environ.get("PTEC_RUN_ASAN", REPO / "build" / "asan" / "ptec-run"))

X_BYTES = 2 * 3 * 4


def tensor(sizes, *, planned_offset=None, constant=0, dtype=s.ScalarType.FLOAT, **kw):
    alloc = None if planned_offset is None else s.AllocationDetails(1, planned_offset, 0)
    return s.Tensor(scalar_type=dtype, sizes=list(sizes), dim_order=list(range(len(sizes))),
                    data_buffer_idx=constant, allocation_info=alloc, **kw)


def base_program() -> tuple[s.Program, list[bytes]]:
    """forward(x) = x + w, with x and out planned in one 64-byte buffer."""
    w = np.arange(6, dtype=np.float32).tobytes()
    values = [
        s.EValue(tensor([2, 3], planned_offset=0)),          # 0: x
        s.EValue(tensor([2, 3], constant=1)),                # 1: w
        s.EValue(s.Int(1)),                                  # 2: alpha
        s.EValue(tensor([2, 3], planned_offset=32)),         # 3: out
        s.EValue(s.IntList([2, 2])),                         # 4: spare list, for list cases
        s.EValue(s.TensorList([0, 3])),                      # 5: spare tensor list
    ]
    call = s.KernelCall(op_index=0, args=[0, 1, 2, 3, 3])
    plan = s.ExecutionPlan(
        name="forward", values=values, inputs=[0], outputs=[3],
        chains=[s.Chain(inputs=[0], outputs=[3], instructions=[s.Instruction(call)])],
        operators=[s.Operator("aten::add", "out")], delegates=[],
        non_const_buffer_sizes=[0, 64])
    program = s.Program(version=0, execution_plan=[plan],
                        constant_segment=s.SubsegmentOffsets(segment_index=0, offsets=[0, 0]))
    return program, [w + bytes(8)]


def plan_of(p: s.Program) -> s.ExecutionPlan:
    return p.execution_plan[0]


def encode(program: s.Program, segments: list[bytes]) -> bytes:
    return serialize_program(program, segments)


def run(data: bytes, tmp_path: Path, x: np.ndarray | None = None) -> subprocess.CompletedProcess:
    model = tmp_path / "case.pte"
    model.write_bytes(data)
    x = np.ones((2, 3), np.float32) if x is None else x
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run([str(RUNNER), str(model), "--input", str(tmp_path / "x.npy"),
                           "--output-dir", str(tmp_path)],
                          capture_output=True, text=True, errors="replace", timeout=60,
                          env=env)


def assert_status(result: subprocess.CompletedProcess, status: str) -> None:
    # A sanitizer report or a signal is a crash, whatever the status says.
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), f"crashed with {result.returncode}: {result.stderr}"
    if status == "PTEC_STATUS_OK":
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2 and status in result.stderr, result.stderr


@pytest.fixture(scope="module", autouse=True)
def _runner_exists():
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")


def test_base_program_runs(tmp_path):
    program, segments = base_program()
    result = run(encode(program, segments), tmp_path)
    assert_status(result, "PTEC_STATUS_OK")
    out = np.load(tmp_path / "output0.npy")
    np.testing.assert_array_equal(out, 1 + np.arange(6, dtype=np.float32).reshape(2, 3))


def test_output_dir_is_created(tmp_path):
    """--output-dir makes DIR and its missing parents; a file in the way is a usage error."""
    model = tmp_path / "case.pte"
    model.write_bytes(_valid_bytes())
    np.save(tmp_path / "x.npy", np.ones((2, 3), np.float32))
    out_dir = tmp_path / "new" / "nested" / "dir"
    args = [str(RUNNER), str(model), "--input", str(tmp_path / "x.npy"), "--output-dir"]
    result = subprocess.run(args + [str(out_dir) + "/"], capture_output=True, text=True,
                            errors="replace", timeout=60)
    assert_status(result, "PTEC_STATUS_OK")
    np.testing.assert_array_equal(np.load(out_dir / "output0.npy"),
                                  1 + np.arange(6, dtype=np.float32).reshape(2, 3))
    # An existing directory is reused.
    assert_status(subprocess.run(args + [str(out_dir)], capture_output=True, text=True,
                                 errors="replace", timeout=60), "PTEC_STATUS_OK")
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    result = subprocess.run(args + [str(blocker / "sub")], capture_output=True, text=True,
                            errors="replace", timeout=60)
    assert result.returncode == 1 and "is not a directory" in result.stderr, result.stderr
    assert "Sanitizer" not in result.stderr


@pytest.mark.parametrize("planned", [[0, 2**39], [0, 2**42], [0, 2**62, 2**62, 2**62]])
def test_absurd_memory_is_refused_before_allocating(planned, tmp_path):
    """Terabytes of planned memory (or a sum past SIZE_MAX): ptec-run refuses by name, under
    ASan too (whose allocator would abort on the attempt)."""
    program, segments = base_program()
    plan_of(program).non_const_buffer_sizes = planned
    result = run(encode(program, segments), tmp_path)
    if _runner_size_t_bits() == 32:  # the -m32 build: no size_t holds 2^39, said by name
        assert_status(result, "PTEC_STATUS_BAD_SIZE")
        assert "has size" in result.stderr
        return
    assert_status(result, "PTEC_STATUS_OUT_OF_MEMORY")
    assert "method memory and planned buffers" in result.stderr
    assert "more than this machine's" in result.stderr


def _runner_size_t_bits() -> int:
    """32 for a 32-bit ptec-run (`make test-x86-32`), else 64: the ELF class byte."""
    return 32 if RUNNER.read_bytes()[4] == 1 else 64


# ------------------------------------------------------------ byte level

def _header_field(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def _valid_bytes() -> bytes:
    return encode(*base_program())


BYTE_CASES = {
    "empty file": (lambda d: b"", "PTEC_STATUS_TRUNCATED"),
    "seven bytes": (lambda d: d[:7], "PTEC_STATUS_TRUNCATED"),
    "wrong identifier": (lambda d: d[:4] + b"XXXX" + d[8:], "PTEC_STATUS_BAD_IDENTIFIER"),
    "older format version": (lambda d: d[:4] + b"ET11" + d[8:], "PTEC_STATUS_BAD_IDENTIFIER"),
    "header length below minimum": (lambda d: _header_field(d, 12, "<I", 16), "PTEC_STATUS_BAD_HEADER"),
    "header length past file": (lambda d: _header_field(d, 12, "<I", 1 << 30), "PTEC_STATUS_TRUNCATED"),
    "program_size past file": (lambda d: _header_field(d, 16, "<Q", len(d) + 1), "PTEC_STATUS_TRUNCATED"),
    "program_size inside header": (lambda d: _header_field(d, 16, "<Q", 12), "PTEC_STATUS_BAD_HEADER"),
    "program_size overflows": (lambda d: _header_field(d, 16, "<Q", 2**64 - 1), "PTEC_STATUS_TRUNCATED"),
    "segment base inside program": (lambda d: _header_field(d, 24, "<Q", 40), "PTEC_STATUS_BAD_HEADER"),
    "segment data past file": (lambda d: _header_field(d, 32, "<Q", 2**63), "PTEC_STATUS_TRUNCATED"),
    "root offset past end": (lambda d: _header_field(d, 0, "<I", 0xFFFFFFF0), "PTEC_STATUS_TRUNCATED"),
    "root offset misaligned": (lambda d: _header_field(d, 0, "<I", struct.unpack_from("<I", d)[0] + 2),
                               "PTEC_STATUS_MALFORMED"),
}


@pytest.mark.parametrize("case", sorted(BYTE_CASES))
def test_byte_level_corruption(case, tmp_path):
    mutate, status = BYTE_CASES[case]
    assert_status(run(mutate(_valid_bytes()), tmp_path), status)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99])
def test_truncated_at_many_offsets(fraction, tmp_path):
    data = _valid_bytes()
    cut = max(8, int(len(data) * fraction))
    assert_status(run(data[:cut], tmp_path), "PTEC_STATUS_TRUNCATED")


# ---------------------------------------------------------- table level

def _value(p, i):
    return plan_of(p).values[i].val


def _call(p):
    return plan_of(p).chains[0].instructions[0].instr_args


def _set(path_fn):
    """Builds a mutation from a function that edits the program in place."""
    def mutate(p, segs):
        path_fn(p)
        return p, segs
    return mutate


TABLE_CASES = {
    "kernel arg index past values": (_set(lambda p: _call(p).args.__setitem__(0, 99)),
                                     "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "negative kernel arg index": (_set(lambda p: _call(p).args.__setitem__(1, -1)),
                                  "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "operator index past operators": (_set(lambda p: setattr(_call(p), "op_index", 5)),
                                      "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "negative operator index": (_set(lambda p: setattr(_call(p), "op_index", -1)),
                                "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "input index past values": (_set(lambda p: setattr(plan_of(p), "inputs", [77])),
                                "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "output index past values": (_set(lambda p: setattr(plan_of(p), "outputs", [-3])),
                                 "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "unknown operator": (_set(lambda p: setattr(plan_of(p).operators[0], "name", "aten::nope")),
                         "PTEC_STATUS_OPERATOR_MISSING"),
    "too few kernel args": (_set(lambda p: setattr(_call(p), "args", [0, 1, 2, 3])),
                            "PTEC_STATUS_TYPE_MISMATCH"),
    "kernel arg of wrong type": (_set(lambda p: _call(p).args.__setitem__(2, 1)),
                                 "PTEC_STATUS_TYPE_MISMATCH"),
    "tensor arg given an int": (_set(lambda p: _call(p).args.__setitem__(0, 2)),
                                "PTEC_STATUS_TYPE_MISMATCH"),
    "output is a constant": (_set(lambda p: _call(p).args.__setitem__(4, 1)),
                             "PTEC_STATUS_TYPE_MISMATCH"),
    "out argument is a constant": (_set(lambda p: _call(p).args.__setitem__(3, 1)),
                                   "PTEC_STATUS_TYPE_MISMATCH"),
    # set_input would have copied the caller's data into the program's constant (fuzz_pte_edit).
    "input is a constant": (_set(lambda p: setattr(plan_of(p), "inputs", [1])),
                            "PTEC_STATUS_TYPE_MISMATCH"),
    "negative size": (_set(lambda p: setattr(_value(p, 3), "sizes", [2, -3])),
                      "PTEC_STATUS_BAD_SIZE"),
    "element count overflows": (_set(lambda p: (setattr(_value(p, 3), "sizes", [2**31 - 1] * 4),
                                                setattr(_value(p, 3), "dim_order", [0, 1, 2, 3]))),
                                "PTEC_STATUS_BAD_SIZE"),
    "rank above 16": (_set(lambda p: (setattr(_value(p, 3), "sizes", [1] * 17),
                                      setattr(_value(p, 3), "dim_order", list(range(17))))),
                      "PTEC_STATUS_BAD_SIZE"),
    "dim_order shorter than rank": (_set(lambda p: setattr(_value(p, 0), "dim_order", [0])),
                                    "PTEC_STATUS_MALFORMED"),
    "dim_order not a permutation": (_set(lambda p: setattr(_value(p, 0), "dim_order", [1, 1])),
                                    "PTEC_STATUS_MALFORMED"),
    "unknown dtype": (_set(lambda p: setattr(_value(p, 0), "scalar_type", 99)),
                      "PTEC_STATUS_BAD_ENUM"),
    "unknown shape dynamism": (_set(lambda p: setattr(_value(p, 0), "shape_dynamism", 7)),
                               "PTEC_STATUS_BAD_ENUM"),
    "unbounded dynamic shape": (_set(lambda p: setattr(_value(p, 0), "shape_dynamism", 2)),
                                "PTEC_STATUS_NOT_SUPPORTED"),
    "storage offset": (_set(lambda p: setattr(_value(p, 0), "storage_offset", 4)),
                       "PTEC_STATUS_NOT_SUPPORTED"),
    "planned tensor past its buffer": (_set(lambda p: setattr(_value(p, 3).allocation_info,
                                                              "memory_offset_low", 48)),
                                       "PTEC_STATUS_BAD_MEMORY_PLAN"),
    "planned offset high word": (_set(lambda p: setattr(_value(p, 3).allocation_info,
                                                        "memory_offset_high", 1)),
                                 "PTEC_STATUS_BAD_MEMORY_PLAN"),
    "misaligned planned offset": (_set(lambda p: setattr(_value(p, 3).allocation_info,
                                                         "memory_offset_low", 33)),
                                  "PTEC_STATUS_BAD_MEMORY_PLAN"),
    "memory_id zero (1-based)": (_set(lambda p: setattr(_value(p, 3).allocation_info, "memory_id", 0)),
                                 "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "memory_id past buffers": (_set(lambda p: setattr(_value(p, 3).allocation_info, "memory_id", 2)),
                               "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "negative planned buffer size": (_set(lambda p: setattr(plan_of(p), "non_const_buffer_sizes", [0, -64])),
                                     "PTEC_STATUS_BAD_SIZE"),
    "missing buffer sizes": (_set(lambda p: setattr(plan_of(p), "non_const_buffer_sizes", None)),
                             "PTEC_STATUS_MALFORMED"),
    "buffer sizes without reserved entry": (_set(lambda p: setattr(plan_of(p), "non_const_buffer_sizes", [])),
                                            "PTEC_STATUS_MALFORMED"),
    "constant index past constants": (_set(lambda p: setattr(_value(p, 1), "data_buffer_idx", 9)),
                                      "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "constant offset past segment": (_set(lambda p: setattr(p.constant_segment, "offsets", [0, 4096])),
                                     "PTEC_STATUS_TRUNCATED"),
    "constant runs past segment": (_set(lambda p: setattr(p.constant_segment, "offsets", [0, 16])),
                                   "PTEC_STATUS_TRUNCATED"),
    "constant segment index past segments": (_set(lambda p: setattr(p.constant_segment, "segment_index", 3)),
                                             "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "int list item not an int": (_set(lambda p: setattr(_value(p, 4), "items", [2, 0])),
                                 "PTEC_STATUS_TYPE_MISMATCH"),
    "int list item past values": (_set(lambda p: setattr(_value(p, 4), "items", [2, 1000])),
                                  "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "tensor list item not a tensor": (_set(lambda p: setattr(_value(p, 5), "items", [0, 2])),
                                      "PTEC_STATUS_TYPE_MISMATCH"),
    "tensor list item negative": (_set(lambda p: setattr(_value(p, 5), "items", [-1])),
                                  "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "value without payload (tag 0)": (_set(lambda p: setattr(plan_of(p).values[2], "val", None)),
                                      "PTEC_STATUS_BAD_ENUM"),
    "instruction without arguments (tag 0)": (
        _set(lambda p: setattr(plan_of(p).chains[0].instructions[0], "instr_args", None)),
        "PTEC_STATUS_BAD_ENUM"),
    "unknown delegate backend": (_set(lambda p: (
        setattr(plan_of(p), "delegates", [s.BackendDelegate(
            "NoSuchBackend", s.BackendDelegateDataReference(s.DataLocation.INLINE, 0), [])]),
        setattr(p, "backend_delegate_data", [s.BackendDelegateInlineData(b"\0" * 16)]))),
        "PTEC_STATUS_BACKEND_MISSING"),
    "delegate data index past data": (_set(lambda p: setattr(plan_of(p), "delegates", [s.BackendDelegate(
        "TOSABackend", s.BackendDelegateDataReference(s.DataLocation.INLINE, 4), [])])),
        "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "delegate segment past segments": (_set(lambda p: setattr(plan_of(p), "delegates", [s.BackendDelegate(
        "TOSABackend", s.BackendDelegateDataReference(s.DataLocation.SEGMENT, 7), [])])),
        "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "unknown delegate data location": (_set(lambda p: setattr(plan_of(p), "delegates", [s.BackendDelegate(
        "TOSABackend", s.BackendDelegateDataReference(9, 0), [])])),
        "PTEC_STATUS_BAD_ENUM"),
    "delegate call index past delegates": (_set(lambda p: plan_of(p).chains[0].instructions.append(
        s.Instruction(s.DelegateCall(delegate_index=3, args=[0])))),
        "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    "jump past the last instruction": (_set(lambda p: plan_of(p).chains[0].instructions.append(
        s.Instruction(s.JumpFalseCall(cond_value_index=2, destination_instruction=50)))),
        "PTEC_STATUS_INDEX_OUT_OF_RANGE"),
    # A jump to itself ends at the executor's bound on executed instructions, by name.
    "jump back forever": (_set(lambda p: (plan_of(p).values.append(s.EValue(s.Bool(False))),
                                          plan_of(p).chains[0].instructions.append(s.Instruction(
                                              s.JumpFalseCall(cond_value_index=6,
                                                              destination_instruction=1))))),
                          "PTEC_STATUS_OUT_OF_RANGE"),
    "jump on a non-bool": (_set(lambda p: plan_of(p).chains[0].instructions.append(
        s.Instruction(s.JumpFalseCall(cond_value_index=2, destination_instruction=0)))),
        "PTEC_STATUS_TYPE_MISMATCH"),
    "move between types": (_set(lambda p: plan_of(p).chains[0].instructions.append(
        s.Instruction(s.MoveCall(move_from=2, move_to=3)))),
        "PTEC_STATUS_TYPE_MISMATCH"),
    "two chains": (_set(lambda p: plan_of(p).chains.append(copy.deepcopy(plan_of(p).chains[0]))),
                   "PTEC_STATUS_NOT_SUPPORTED"),
    "missing execution plan": (_set(lambda p: setattr(p, "execution_plan", None)),
                               "PTEC_STATUS_MALFORMED"),
    "external tensor data": (_set(lambda p: setattr(_value(p, 1), "extra_tensor_info",
                                                    s.ExtraTensorInfo(location=s.TensorDataLocation.EXTERNAL))),
                             "PTEC_STATUS_NOT_SUPPORTED"),
}


def _kernel_with_ints(op: str, overload: str, lists: list[list[int]], args) -> callable:
    """The one call becomes `op` with, after the base values, each of `lists` as Int values
    and then an IntList of them; `args(ints, list_indices)` gives its arguments (ints: the
    value index of each Int, flattened)."""
    def mutate(p):
        plan = plan_of(p)
        ints, list_indices = [], []
        for items in lists:
            first = len(plan.values)
            plan.values += [s.EValue(s.Int(v)) for v in items]
            ints += range(first, first + len(items))
            plan.values.append(s.EValue(s.IntList(list(range(first, first + len(items))))))
            list_indices.append(len(plan.values) - 1)
        plan.operators[0] = s.Operator(op, overload)
        _call(p).args = args(ints, list_indices)
    return _set(mutate)


def _arange(bounds: list, dtype: int, length: int) -> callable:
    """The one call becomes arange.start_out(start, end, step) of these Int or Double bounds
    into a new planned 1-d out of `length` elements of `dtype`."""
    def mutate(p):
        plan = plan_of(p)
        first = len(plan.values)
        plan.values += [s.EValue(s.Int(b) if isinstance(b, int) else s.Double(b)) for b in bounds]
        plan.values.append(s.EValue(tensor([length], planned_offset=64, dtype=dtype)))
        plan.non_const_buffer_sizes = [0, 64 + 8 * length]
        plan.operators[0] = s.Operator("aten::arange", "start_out")
        _call(p).args = [first, first + 1, first + 2, first + 3, first + 3]
    return _set(mutate)


# Size arithmetic on values a program supplies (core/checked.h): each overflowed a signed
# int64 (UBSan) before it was checked; now a named status.
OVERFLOW_CASES = {
    # Counted in double, 2^63 - 1600 .. INT64_MAX has 2048 values: the last ones overflowed.
    "arange past INT64_MAX": (_arange([2**63 - 1600, 2**63 - 1, 1], s.ScalarType.CHAR, 2048),
                              "PTEC_STATUS_OUT_OF_RANGE", "overflows int64"),
    # A Double bound of 1e300 into an int64 out: the cast was undefined, now it saturates.
    "arange of 1e300 into int64": (_arange([1e300, 2e300, 1e300], s.ScalarType.LONG, 1),
                                   "PTEC_STATUS_OK", ""),
    # The known finding: 143552238122434574 * 192 while resolving the view's sizes.
    "view_copy sizes overflow": (_kernel_with_ints(
        "aten::view_copy", "out", [[143552238122434574, 192]],
        lambda i, l: [0, l[0], 3, 3]), "PTEC_STATUS_BAD_SIZE", "overflows the element count"),
    "slice_copy step of INT64_MAX": (_kernel_with_ints(
        "aten::slice_copy", "Tensor_out", [[0, 0, 2, 2**63 - 1]],
        lambda i, l: [0, i[0], i[1], i[2], i[3], 3, 3]), "PTEC_STATUS_SHAPE_MISMATCH",
        "out"),
    "constant_pad_nd pads of INT64_MAX": (_kernel_with_ints(
        "aten::constant_pad_nd", "out", [[2**63 - 1, 2**63 - 1]],
        lambda i, l: [0, l[0], 2, 3, 3]), "PTEC_STATUS_OUT_OF_RANGE", "pad[0]"),
    "as_strided_copy stride overflows": (_kernel_with_ints(
        "aten::as_strided_copy", "out", [[2, 3], [2**62, 2**62], [0]],
        lambda i, l: [0, l[0], l[1], i[4], 3, 3]), "PTEC_STATUS_OUT_OF_RANGE",
        "overflows the reach"),
    "split_with_sizes sizes overflow": (_kernel_with_ints(
        "aten::split_with_sizes_copy", "out", [[2**62, 2**62, 2**62], [0]],
        lambda i, l: [0, l[0], i[3], 5, 5]), "PTEC_STATUS_OUT_OF_RANGE", "split sizes overflow"),
}


@pytest.mark.parametrize("case", sorted(OVERFLOW_CASES))
def test_size_arithmetic_overflow(case, tmp_path):
    mutate, status, message = OVERFLOW_CASES[case]
    program, segments = mutate(*base_program())
    result = run(encode(program, segments), tmp_path)
    assert_status(result, status)
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_table_level_corruption(case, tmp_path):
    mutate, status = TABLE_CASES[case]
    program, segments = mutate(*base_program())
    assert_status(run(encode(program, segments), tmp_path), status)


def test_corpus_size():
    """The issue asks for at least 40 named malformed cases."""
    assert len(BYTE_CASES) + len(TABLE_CASES) + 8 >= 40


# ------------------------------------------------------------- inputs

def test_wrong_input_dtype(tmp_path):
    result = run(_valid_bytes(), tmp_path, np.ones((2, 3), np.int64))
    assert_status(result, "PTEC_STATUS_TYPE_MISMATCH")
    assert "dtype int64, the program expects float32" in result.stderr


def test_wrong_input_shape(tmp_path):
    result = run(_valid_bytes(), tmp_path, np.ones((3, 2), np.float32))
    assert_status(result, "PTEC_STATUS_SHAPE_MISMATCH")
    assert "shape [3,2], the program expects [2,3]" in result.stderr


def test_too_little_memory_is_refused():
    """Method memory and planned buffers one byte short each give OUT_OF_MEMORY."""
    from ptec import runtime as rt

    lib = rt.library()
    loaded = rt.load(_valid_bytes())
    req = rt.Requirements()
    assert lib.ptec_program_method_requirements(loaded._handle, 0, ctypes.byref(req)) == 0
    method = rt._aligned(lib.ptec_method_struct_size())
    memory = rt._aligned(req.method_memory_bytes)
    planned = rt._aligned(64)
    pointers = (ctypes.c_void_p * 1)(planned.ctypes.data)

    def init(memory_bytes, planned_bytes):
        sizes = (ctypes.c_size_t * 1)(planned_bytes)
        code = lib.ptec_method_init(method.ctypes.data, loaded._handle, 0, memory.ctypes.data,
                                    memory_bytes, pointers, sizes, 1)
        return rt._status_name(code), lib.ptec_method_message(method.ctypes.data).decode()

    status, message = init(req.method_memory_bytes - 1, 64)
    assert status == "PTEC_STATUS_OUT_OF_MEMORY" and "too small" in message
    status, message = init(req.method_memory_bytes, 63)
    assert status == "PTEC_STATUS_OUT_OF_MEMORY" and "planned buffer 0" in message
    assert init(req.method_memory_bytes, 64)[0] == "PTEC_STATUS_OK"


# ------------------------------------------------------------- fuzzing

def test_random_byte_flips_never_crash(seed, tmp_path):
    """Random corruption: any status is acceptable, a crash is not."""
    rng = random.Random(seed)
    data = _valid_bytes()
    outcomes = {}
    for _ in range(150):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        result = run(bytes(b), tmp_path)
        assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
        assert result.returncode in (0, 1, 2), result.stderr
        key = result.stderr.split(": ")[2] if result.returncode == 2 else "ok"
        outcomes[key] = outcomes.get(key, 0) + 1
    print("outcomes:", outcomes)
    assert len(outcomes) > 1


# ------------------------------------- structured mutations of real programs

class _Net(torch.nn.Module):
    """Conv, depthwise conv, pools, linear, softmax: kernels whose sizes, strides, padding
    and dims come from the program's values."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.dw = torch.nn.Conv2d(4, 4, 3, groups=4)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        y = torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
        y = torch.nn.functional.avg_pool2d(self.dw(y), 1).mean(dim=(2, 3))
        return torch.softmax(self.fc(y), dim=-1)


_NET_INPUT = (1, 3, 8, 8)


@pytest.fixture(scope="module")
def real_programs() -> dict[str, bytes]:
    """_Net compiled for the host in fp32 and int8, and for tosa-int (a TOSA delegate)."""
    import ptec

    torch.manual_seed(0)
    model, x = _Net().eval(), torch.randn(*_NET_INPUT)
    calibration = [(torch.randn(*_NET_INPUT),) for _ in range(2)]
    kinds = {"fp32": {}, "int8": {"quantize": ptec.Int8(calibration=calibration)},
             "tosa_int": {"target": "tosa-int", "quantize": ptec.Int8(calibration=calibration)}}
    return {k: bytes(ptec.compile(model, (x,), check_kernels=False, **kw).buffer)
            for k, kw in kinds.items()}


_SPECIAL_INTS = [0, 1, -1, 2, 3, 7, 255, 256, -128, 2**31 - 1, -2**31, 2**31, 2**32,
                 2**62, 2**63 - 1, -2**63]
_SPECIAL_DOUBLES = [0.0, -0.0, 1.0, -1.0, 1e-320, 1e308, -1e308, float("inf"),
                    float("-inf"), float("nan"), 2.0**31, -2.0**63]
_DTYPES = {s.ScalarType.FLOAT: np.float32, s.ScalarType.CHAR: np.int8,
           s.ScalarType.BYTE: np.uint8, s.ScalarType.INT: np.int32,
           s.ScalarType.LONG: np.int64, s.ScalarType.BOOL: np.bool_}


def _mutate_value(v, n_values: int, rng: random.Random) -> None:
    """One change to one value, where the schema puts it."""
    special = lambda: rng.choice(_SPECIAL_INTS) if rng.random() < 0.6 else rng.randint(-9, 9)  # noqa: E731
    if isinstance(v, s.Int):
        v.int_val = special()
    elif isinstance(v, s.Double):
        v.double_val = rng.choice(_SPECIAL_DOUBLES)
    elif isinstance(v, s.Bool):
        v.bool_val = not v.bool_val
    elif isinstance(v, (s.IntList, s.TensorList, s.OptionalTensorList, s.DoubleList,
                        s.BoolList)) and v.items is not None:
        items, k = v.items, rng.randrange(len(v.items) + 1)
        if isinstance(v, s.DoubleList):
            new = rng.choice(_SPECIAL_DOUBLES)
        elif isinstance(v, s.BoolList):
            new = rng.random() < 0.5
        else:  # value indices: mostly another value (a type mix-up), sometimes anything
            new = rng.randrange(n_values) if rng.random() < 0.8 else special()
        choice = rng.randrange(3)
        if choice == 0 and k < len(items):
            items[k] = new
        elif choice == 1:
            items.insert(k, new)
        elif items:
            del items[min(k, len(items) - 1)]
    elif isinstance(v, s.Tensor):
        choice = rng.randrange(6)
        sizes = v.sizes or []
        if choice == 0 and sizes:
            sizes[rng.randrange(len(sizes))] = special()
        elif choice == 1:  # a dimension more or fewer, dim order kept or not
            if sizes and rng.random() < 0.5:
                sizes.pop(rng.randrange(len(sizes)))
            else:
                sizes.insert(rng.randrange(len(sizes) + 1), rng.choice([1, 2, 3, 0]))
            if rng.random() < 0.7:
                v.dim_order = list(range(len(sizes)))
        elif choice == 2 and v.dim_order:
            rng.shuffle(v.dim_order)
            if rng.random() < 0.3:
                v.dim_order[rng.randrange(len(v.dim_order))] = rng.randrange(9)
        elif choice == 3:
            v.scalar_type = rng.choice(list(s.ScalarType))
        elif choice == 4 and v.allocation_info is not None:
            v.allocation_info.memory_offset_low = rng.choice([0, 1, 8, 64, 2**31, 2**32 - 1])
        else:
            v.storage_offset = special() % 2**31
        v.sizes = sizes


def _mutate_structure(program: s.Program, rng: random.Random) -> None:
    """1-3 changes to the first plan: a value's contents, an instruction's argument (which
    value it points at), its operator, or the argument list's length."""
    plan = program.execution_plan[0]
    n = len(plan.values)
    for _ in range(rng.randint(1, 3)):
        calls = [i.instr_args for c in plan.chains for i in c.instructions
                 if isinstance(i.instr_args, (s.KernelCall, s.DelegateCall))]
        if rng.random() < 0.6 or not calls:
            _mutate_value(rng.choice(plan.values).val, n, rng)
            continue
        call = rng.choice(calls)
        choice = rng.randrange(4)
        if choice == 0 and call.args:
            call.args[rng.randrange(len(call.args))] = rng.randrange(n)
        elif choice == 1 and call.args:
            a, b = rng.randrange(len(call.args)), rng.randrange(len(call.args))
            call.args[a], call.args[b] = call.args[b], call.args[a]
        elif choice == 2 and call.args:
            if rng.random() < 0.5:
                call.args.pop(rng.randrange(len(call.args)))
            else:
                call.args.insert(rng.randrange(len(call.args) + 1), rng.randrange(n))
        elif isinstance(call, s.KernelCall):
            call.op_index = rng.randrange(len(plan.operators))


def _input_for(program: s.Program, rng: random.Random) -> np.ndarray:
    """An input the (mutated) program takes, when it still declares one that can exist;
    else the original shape (ptec-run then refuses the input by name)."""
    plan = program.execution_plan[0]
    shape, dtype = _NET_INPUT, np.float32
    if plan.inputs and 0 <= plan.inputs[0] < len(plan.values):
        t = plan.values[plan.inputs[0]].val
        if (isinstance(t, s.Tensor) and t.sizes is not None and t.scalar_type in _DTYPES
                and all(0 < d <= 64 for d in t.sizes) and np.prod(t.sizes) <= 4096):
            shape, dtype = tuple(t.sizes), _DTYPES[t.scalar_type]
    x = np.random.default_rng(rng.randrange(2**32)).normal(size=shape) * 3
    return x.astype(dtype)


def test_structured_mutations_of_real_programs_never_crash(real_programs, seed, tmp_path):
    """300 seeded structural mutations of fp32, int8 and TOSA-delegated programs through
    ASan+UBSan ptec-run with LeakSanitizer on: zero crashes, zero leaks, zero hangs. The
    mutations are made on the decoded program and re-serialised (lists may grow, unlike in
    fuzz_pte_edit), so every case is a valid FlatBuffer that reaches init and execute."""
    from concurrent.futures import ThreadPoolExecutor

    from ptec.pte.file import deserialize_program, segment_bytes

    rng = random.Random(seed)
    cases = []
    for k in range(300):
        kind = sorted(real_programs)[k % len(real_programs)]
        program, segment_data = deserialize_program(real_programs[kind])
        segments = [segment_bytes(program, segment_data, i) for i in range(len(program.segments))]
        _mutate_structure(program, rng)
        try:
            data = serialize_program(program, segments)
        except Exception:  # a value the schema cannot hold (an int32 field past 2^31)
            continue
        case = tmp_path / str(k)
        case.mkdir()
        (case / "m.pte").write_bytes(data)
        np.save(case / "x.npy", _input_for(program, rng))
        cases.append((kind, case))

    def one(case: Path) -> subprocess.CompletedProcess | str:
        try:
            return subprocess.run([str(RUNNER), str(case / "m.pte"), "--input",
                                   str(case / "x.npy"), "--output-dir", str(case)],
                                  capture_output=True, text=True, errors="replace",
                                  timeout=60)
        except subprocess.TimeoutExpired:
            return "hang"

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, [c for _, c in cases]))
    outcomes: dict[str, int] = {}
    for (kind, case), result in zip(cases, results):
        assert result != "hang", f"{kind} case {case.name}: no answer in 60 s"
        where = f"{kind} case {case.name} (PTEC_SEED={seed})"
        assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, \
            f"{where}:\n{result.stderr}"
        assert result.returncode in (0, 1, 2), f"{where}: exit {result.returncode}\n{result.stderr}"
        key = "ok" if result.returncode == 0 else " ".join(result.stderr.split(": ")[1:3])
        outcomes[key] = outcomes.get(key, 0) + 1
    print(f"{len(cases)} cases:", dict(sorted(outcomes.items(), key=lambda kv: -kv[1])))
    # The mutations reach every stage: some programs still run, some fail in execute.
    assert len(cases) >= 250 and outcomes.get("ok", 0) > 0
    assert any(k.startswith("execute") for k in outcomes), outcomes
