"""Run `.pte` programs through ptec's C runtime from Python.

`load(path_or_bytes)` returns a `LoadedProgram`; calling it with torch tensors
runs the method ("forward" by default) in the C runtime and returns its
outputs as torch tensors. The binding goes through ctypes to
`libptec_shared`, the same library and code paths a device build uses; the
memory the runtime needs is allocated here, in the sizes the program states.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .devtools import etdump

MAX_RANK = 16
ALIGNMENT = 16

# ptec_dtype numbers are ExecuTorch's ScalarType numbers.
_TORCH_TO_PTEC = {
    torch.uint8: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.int64: 4,
    torch.float16: 5, torch.float32: 6, torch.float64: 7, torch.bool: 11, torch.bfloat16: 15,
    torch.complex32: 8, torch.complex64: 9, torch.complex128: 10,
}
_PTEC_TO_TORCH = {v: k for k, v in _TORCH_TO_PTEC.items()}


class TensorView(ctypes.Structure):
    """Mirror of `ptec_tensor_view` (runtime/include/ptec/ptec.h)."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("nbytes", ctypes.c_size_t),
        ("dtype", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("sizes", ctypes.c_int32 * MAX_RANK),
        ("dim_order", ctypes.c_uint8 * MAX_RANK),
    ]

    @property
    def shape(self) -> list[int]:
        return [self.sizes[d] for d in range(self.rank)]

    @property
    def order(self) -> list[int]:
        return [self.dim_order[d] for d in range(self.rank)]


class Scalar(ctypes.Structure):
    """Mirror of `ptec_scalar`: a scalar input's kind and value."""

    _fields_ = [("kind", ctypes.c_int32), ("i", ctypes.c_int64), ("d", ctypes.c_double)]


#: ptec_input_kind: the Python types a scalar input takes.
_SCALAR_KINDS = {1: int, 2: float, 3: bool}


class Requirements(ctypes.Structure):
    """Mirror of `ptec_method_requirements`."""

    _fields_ = [
        ("method_memory_bytes", ctypes.c_size_t),
        ("num_planned_buffers", ctypes.c_size_t),
        ("planned_buffer_sizes_raw", ctypes.c_void_p),
        ("num_inputs", ctypes.c_size_t),
        ("num_outputs", ctypes.c_size_t),
        ("num_values", ctypes.c_size_t),
        ("num_instructions", ctypes.c_size_t),
        ("num_operators", ctypes.c_size_t),
        ("num_delegates", ctypes.c_size_t),
    ]


class PtecError(RuntimeError):
    """A status returned by the C runtime, with its name and message. After a
    failed run on the simulated Ethos-U, `npu_status` is the simulator's status
    name (e.g. "not simulated") and the message ends with the simulator's."""

    def __init__(self, status: str, message: str, call: str, npu_status: str | None = None):
        super().__init__(f"{call}: {status}: {message}")
        self.status = status
        self.message = message
        self.npu_status = npu_status


def _library_candidates() -> list[Path]:
    env = os.environ.get("PTEC_LIB")
    here = Path(__file__).resolve().parent
    names = ["libptec_shared.so", "libptec_shared.dylib"]
    found = [Path(env)] if env else []
    for folder in (here / "lib", here.parents[1] / "build" / "host"):
        found += [folder / n for n in names]
    return found


def _open_library() -> ctypes.CDLL:
    for path in _library_candidates():
        if path.is_file():
            return _declare(ctypes.CDLL(str(path)))
    tried = ", ".join(str(p) for p in _library_candidates())
    raise FileNotFoundError(
        f"ptec's C runtime library was not found (tried {tried}); build it with `make build` "
        "or point PTEC_LIB at libptec_shared")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, sz, i, s = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p
    signatures = {
        "ptec_status_to_string": (s, [i]),
        "ptec_program_struct_size": (sz, []),
        "ptec_method_struct_size": (sz, []),
        "ptec_program_load": (i, [p, p, sz]),
        "ptec_program_message": (s, [p]),
        "ptec_program_num_methods": (sz, [p]),
        "ptec_program_method_name": (i, [p, sz, ctypes.c_char_p, sz]),
        "ptec_program_find_method": (i, [p, s, ctypes.POINTER(sz)]),
        "ptec_program_method_requirements": (i, [p, sz, ctypes.POINTER(Requirements)]),
        "ptec_method_planned_buffer_size": (sz, [ctypes.POINTER(Requirements), sz]),
        "ptec_method_init": (i, [p, p, sz, p, sz, ctypes.POINTER(p), ctypes.POINTER(sz), sz]),
        "ptec_method_message": (s, [p]),
        "ptec_method_num_inputs": (sz, [p]),
        "ptec_method_num_outputs": (sz, [p]),
        "ptec_method_input_info": (i, [p, sz, ctypes.POINTER(TensorView)]),
        "ptec_method_set_input": (i, [p, sz, ctypes.POINTER(TensorView)]),
        "ptec_method_input_kind": (i, [p, sz, ctypes.POINTER(ctypes.c_int32),
                                       ctypes.POINTER(Scalar)]),
        "ptec_method_set_input_scalar": (i, [p, sz, ctypes.POINTER(Scalar)]),
        "ptec_method_execute": (i, [p]),
        "ptec_method_reset_state": (i, [p]),
        "ptec_method_get_output": (i, [p, sz, ctypes.POINTER(TensorView)]),
        "ptec_operator_count": (sz, []),
        "ptec_operator_name": (s, [sz]),
        "ptec_method_set_parallel": (i, [p, p]),
        "ptec_method_call_cache_size": (i, [p, ctypes.POINTER(sz)]),
        "ptec_method_set_call_cache": (i, [p, p, sz]),
        "ptec_posix_parallel_create": (p, [i]),
        "ptec_posix_parallel_destroy": (None, [p]),
        "ptec_method_set_cpu_features": (i, [p, ctypes.c_uint32]),
        "ptec_posix_cpu_features": (ctypes.c_uint32, []),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    # The simulated Ethos-U (src/platform/ethosu_sim_host.c), in builds that link it.
    npu = {
        "ptec_host_npu_init": (i, [s, sz, sz, ctypes.c_char_p, sz]),
        "ptec_host_npu_release": (None, []),
        "ptec_host_npu_last_status": (i, []),
        "ptec_host_npu_status_name": (s, [i]),
        "ptec_host_npu_last_error": (s, []),
        "ptec_host_npu_stats": (sz, [ctypes.POINTER(ctypes.c_uint64), sz]),
        "ptec_host_npu_reset_stats": (None, []),
    }
    for name, (restype, argtypes) in npu.items():
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype, fn.argtypes = restype, argtypes
    etdump.declare(lib)
    return lib


_LIB: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """The loaded C runtime (opened on first use)."""
    global _LIB
    if _LIB is None:
        _LIB = _open_library()
    return _LIB


def runtime_operators() -> list[str]:
    """Operators the C runtime has kernels for, as the program names them."""
    lib = library()
    return [lib.ptec_operator_name(k).decode() for k in range(lib.ptec_operator_count())]


def _host_memory() -> int:
    """The machine's physical memory in bytes (1 TiB when the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def _aligned(nbytes: int) -> np.ndarray:
    """A zeroed uint8 array of `nbytes` whose data is ALIGNMENT-aligned."""
    raw = np.zeros(nbytes + ALIGNMENT, dtype=np.uint8)
    shift = (-raw.ctypes.data) % ALIGNMENT
    return raw[shift:shift + nbytes]


def _status_name(code: int) -> str:
    return library().ptec_status_to_string(code).decode()


def _check(code: int, call: str, message: bytes) -> None:
    if code != 0:
        raise PtecError(_status_name(code), message.decode(errors="replace"), call)


#: The simulated NPU's configuration now in the driver: (npu, work, fast memory).
_NPU_CONFIGURED: tuple | None = None
NPU_STATS = 5 + 2 * 8


def _configure_npu(npu: tuple) -> None:
    """Configures the library's one simulated Ethos-U as `npu` = (name, work bytes, fast
    bytes) unless it already is."""
    global _NPU_CONFIGURED
    lib = library()
    if not hasattr(lib, "ptec_host_npu_init"):
        raise PtecError("PTEC_STATUS_DEVICE_ERROR", "this libptec_shared links no Ethos-U "
                        "simulator (PTEC_ETHOSU_DRIVER)", "load")
    if _NPU_CONFIGURED == npu:
        return
    name, work, fast = npu
    msg = ctypes.create_string_buffer(256)
    code = lib.ptec_host_npu_init(name.encode(), work, fast, msg, 256)
    if code != 0:
        _NPU_CONFIGURED = None
        raise PtecError("PTEC_STATUS_DEVICE_ERROR", msg.value.decode(errors="replace"), "load",
                        npu_status=lib.ptec_host_npu_status_name(code).decode())
    _NPU_CONFIGURED = npu


def _release_npu() -> None:
    """Releases the simulated Ethos-U if an earlier program configured it: a program
    loaded for the host then has no Ethos-U driver, as on a host without an NPU."""
    global _NPU_CONFIGURED
    if _NPU_CONFIGURED is not None:
        library().ptec_host_npu_release()
        _NPU_CONFIGURED = None


def _npu_stats() -> dict:
    lib = library()
    raw = (ctypes.c_uint64 * NPU_STATS)()
    lib.ptec_host_npu_stats(raw, NPU_STATS)
    v = list(raw)
    return {"invokes": v[0], "failed": v[1], "commands": v[2], "ops": v[3], "macs": v[4],
            "bytes_read": v[5:13], "bytes_written": v[13:21]}


class _Method:
    """One initialised method: its memory lives as long as this object."""

    def __init__(self, program: "LoadedProgram", index: int):
        lib = library()
        self._program = program
        req = Requirements()
        _check(lib.ptec_program_method_requirements(program._handle, index, ctypes.byref(req)),
               "requirements", lib.ptec_program_message(program._handle))
        self.requirements = req
        self.planned_sizes = [lib.ptec_method_planned_buffer_size(ctypes.byref(req), k)
                              for k in range(req.num_planned_buffers)]
        # A program may state any size: what the machine cannot have is refused before
        # anything is allocated (as ptec-run does).
        need, have = req.method_memory_bytes + sum(self.planned_sizes), _host_memory()
        if need > have:
            raise PtecError("PTEC_STATUS_OUT_OF_MEMORY", f"the program asks for {need} bytes of "
                            f"method memory and planned buffers, more than this machine's "
                            f"{have}", "requirements")
        self._method_memory = _aligned(req.method_memory_bytes)
        # Planned buffers past the first hold mutable state (ptec.h, "Mutable
        # state"): one per program and size, shared by its methods.
        self._planned = [_aligned(n) if k == 0 else program._state_buffer(k, n)
                         for k, n in enumerate(self.planned_sizes)]
        self._handle = _aligned(lib.ptec_method_struct_size())
        count = len(self._planned)
        pointers = (ctypes.c_void_p * max(count, 1))(*[b.ctypes.data for b in self._planned])
        sizes = (ctypes.c_size_t * max(count, 1))(*self.planned_sizes)
        h = self._handle.ctypes.data
        _check(lib.ptec_method_init(h, program._handle, index, self._method_memory.ctypes.data,
                                    req.method_memory_bytes, pointers, sizes, count),
               "init", lib.ptec_method_message(h))
        if program._parallel:
            _check(lib.ptec_method_set_parallel(h, program._parallel), "set_parallel",
                   lib.ptec_method_message(h))
        # The CPU's features the OS reports (AArch64 Linux: SDOT, SMMLA; 0 elsewhere).
        _check(lib.ptec_method_set_cpu_features(h, lib.ptec_posix_cpu_features()),
               "set_cpu_features", lib.ptec_method_message(h))
        # The call cache (ptec.h): each call decoded once; skipped where the
        # machine cannot give its bytes (a program may claim any).
        self._call_cache = None
        self.call_cache_bytes = ctypes.c_size_t()
        _check(lib.ptec_method_call_cache_size(h, ctypes.byref(self.call_cache_bytes)),
               "call_cache_size", lib.ptec_method_message(h))
        if program.call_cache and self.call_cache_bytes.value <= have - need:
            self._call_cache = _aligned(self.call_cache_bytes.value)
            _check(lib.ptec_method_set_call_cache(h, self._call_cache.ctypes.data,
                                                  self.call_cache_bytes.value),
                   "call_cache", lib.ptec_method_message(h))

    @property
    def _h(self) -> int:
        return self._handle.ctypes.data

    def reset_state(self) -> None:
        """Zeroes the method's planned memory and writes mutable buffers' initial data."""
        _check(library().ptec_method_reset_state(self._h), "reset_state",
               library().ptec_method_message(self._h))

    def input_views(self) -> list[TensorView | Scalar]:
        """Each input's TensorView, or for a scalar input its Scalar (kind and
        the value the program was compiled for)."""
        lib = library()
        views = []
        for k in range(lib.ptec_method_num_inputs(self._h)):
            kind, scalar = ctypes.c_int32(), Scalar()
            _check(lib.ptec_method_input_kind(self._h, k, ctypes.byref(kind),
                                              ctypes.byref(scalar)),
                   "input_kind", lib.ptec_method_message(self._h))
            if kind.value != 0:
                views.append(scalar)
                continue
            view = TensorView()
            _check(lib.ptec_method_input_info(self._h, k, ctypes.byref(view)), "input_info",
                   lib.ptec_method_message(self._h))
            views.append(view)
        return views

    def _set_scalar(self, k: int, value, want: Scalar) -> None:
        """Scalar input k: checked by the runtime against the program's value."""
        kind = _SCALAR_KINDS[want.kind]
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            value = value.item()
        ok = isinstance(value, (bool, int, float)) and (
            kind is float or (kind is int and not isinstance(value, float)) or
            (kind is bool and isinstance(value, bool)))
        if not ok:
            raise PtecError("PTEC_STATUS_TYPE_MISMATCH", f"input {k} is a {kind.__name__}, "
                            f"not {type(value).__name__}", "set_input")
        given = Scalar(want.kind, 0, 0.0)
        if kind is float:
            given.d = float(value)
        else:
            given.i = int(value)
        _check(library().ptec_method_set_input_scalar(self._h, k, ctypes.byref(given)),
               "set_input", library().ptec_method_message(self._h))

    def run(self, inputs: Sequence[torch.Tensor], profile: bool = False) -> list[torch.Tensor]:
        lib = library()
        n = lib.ptec_method_num_inputs(self._h)
        if len(inputs) != n:
            raise PtecError("PTEC_STATUS_INVALID_ARGUMENT",
                            f"the method takes {n} inputs, {len(inputs)} given", "run")
        expected = self.input_views()
        keep = []
        for k, (tensor, want) in enumerate(zip(inputs, expected)):
            if isinstance(want, Scalar):
                self._set_scalar(k, tensor, want)
                continue
            view, memory = _to_view(tensor, want.order if tensor.dim() == want.rank else None)
            keep.append(memory)
            _check(lib.ptec_method_set_input(self._h, k, ctypes.byref(view)), "set_input",
                   lib.ptec_method_message(self._h))
        npu = self._program.npu
        if npu is not None:
            _configure_npu(npu)
            lib.ptec_host_npu_reset_stats()
        else:
            _release_npu()  # a host program sees no NPU, whatever ran before it
        recorder = None
        if profile:
            recorder = etdump.Recorder(lib, self.requirements.num_instructions)
            recorder.attach(self._h)
        code = lib.ptec_method_execute(self._h)
        if recorder is not None:
            self._program.last_profile = recorder.detach(self._h)
        if npu is not None:
            self._program.npu_stats = _npu_stats()
            npu_code = lib.ptec_host_npu_last_status()
            if code != 0 and npu_code != 0:
                raise PtecError(_status_name(code), (
                    lib.ptec_method_message(self._h).decode(errors="replace") + "; Ethos-U "
                    "simulator: " + lib.ptec_host_npu_last_error().decode(errors="replace")),
                    "execute", npu_status=lib.ptec_host_npu_status_name(npu_code).decode())
        _check(code, "execute", lib.ptec_method_message(self._h))
        outputs = []
        for k in range(lib.ptec_method_num_outputs(self._h)):
            view = TensorView()
            _check(lib.ptec_method_get_output(self._h, k, ctypes.byref(view)), "get_output",
                   lib.ptec_method_message(self._h))
            outputs.append(_from_view(view))
        return outputs


def _to_view(tensor: torch.Tensor, dim_order: list[int] | None) -> tuple[TensorView, np.ndarray]:
    """Lays `tensor` out in `dim_order` (outer to inner) in aligned memory."""
    if not isinstance(tensor, torch.Tensor):
        tensor = torch.as_tensor(tensor)
    if tensor.dtype not in _TORCH_TO_PTEC:
        raise PtecError("PTEC_STATUS_TYPE_MISMATCH", f"dtype {tensor.dtype} is not supported",
                        "set_input")
    rank = tensor.dim()
    if rank > MAX_RANK:
        raise PtecError("PTEC_STATUS_SHAPE_MISMATCH", f"rank {rank} exceeds {MAX_RANK}",
                        "set_input")
    order = dim_order if dim_order is not None else list(range(rank))
    tensor = tensor.detach().cpu().resolve_conj()  # a conjugate view's values, not its bits
    laid_out = tensor.permute(*order).contiguous() if rank else tensor
    flat = laid_out.reshape(-1).view(torch.uint8).numpy() if laid_out.numel() else np.zeros(0, np.uint8)
    memory = _aligned(max(flat.nbytes, 1))
    memory[:flat.nbytes] = flat
    view = TensorView()
    view.data = memory.ctypes.data
    view.nbytes = flat.nbytes
    view.dtype = _TORCH_TO_PTEC[tensor.dtype]
    view.rank = rank
    for d in range(rank):
        view.sizes[d] = tensor.shape[d]
        view.dim_order[d] = order[d]
    return view, memory


def _from_view(view: TensorView) -> torch.Tensor:
    """A torch tensor with the output's values, in its dim order's strides."""
    dtype = _PTEC_TO_TORCH[view.dtype]
    shape, order = view.shape, view.order
    raw = (ctypes.c_uint8 * view.nbytes).from_address(view.data) if view.nbytes else b""
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if view.nbytes else torch.zeros(0, dtype=torch.uint8)
    laid_out = data.view(dtype).reshape([shape[d] for d in order])
    inverse = [order.index(d) for d in range(len(order))]
    return laid_out.permute(*inverse) if order else laid_out.reshape(shape)


class LoadedProgram:
    """A `.pte` program bound to the C runtime. Call it like the module.

    With `npu` = (Vela's accelerator name, work bytes, fast-memory bytes), its
    EthosUBackend delegates run on ptec's Ethos-U simulator configured as that
    NPU, and `npu_stats` holds the last run's NPU totals (delegate calls,
    commands, operations, MACs, bytes read and written per region)."""

    def __init__(self, data: bytes, npu: tuple | None = None, threads: int = 1,
                 call_cache: bool | None = None):
        lib = library()
        if call_cache is None:
            call_cache = os.environ.get("PTEC_CALL_CACHE", "1") != "0"
        self.call_cache = call_cache
        self._parallel = None
        if threads > 1:  # the platform's pthread pool (src/platform/posix_threads.c)
            self._parallel = lib.ptec_posix_parallel_create(threads)
            if not self._parallel:
                raise PtecError("PTEC_STATUS_DEVICE_ERROR", f"cannot start {threads} threads",
                                "load")
        self.npu = npu
        self.npu_stats: dict | None = None
        self.last_profile: etdump.Profile | None = None
        if npu is not None:
            _configure_npu(npu)
        self._bytes = _aligned(len(data))
        self._bytes[:] = np.frombuffer(data, dtype=np.uint8)
        self._handle_memory = _aligned(lib.ptec_program_struct_size())
        self._handle = self._handle_memory.ctypes.data
        _check(lib.ptec_program_load(self._handle, self._bytes.ctypes.data, len(data)), "load",
               lib.ptec_program_message(self._handle))
        self._methods: dict[str, _Method] = {}
        self._state: dict[tuple[int, int], np.ndarray] = {}

    def _state_buffer(self, index: int, nbytes: int) -> np.ndarray:
        """Planned buffer `index` (> 0) of `nbytes`: the same array for every method."""
        if (index, nbytes) not in self._state:
            self._state[(index, nbytes)] = _aligned(nbytes)
        return self._state[(index, nbytes)]

    def reset(self) -> None:
        """Puts the program's mutable state (KV caches, counters) back to its start."""
        for m in self._methods.values():
            m.reset_state()

    @property
    def method_names(self) -> list[str]:
        lib = library()
        names = []
        for k in range(lib.ptec_program_num_methods(self._handle)):
            buf = ctypes.create_string_buffer(256)
            _check(lib.ptec_program_method_name(self._handle, k, buf, 256), "method_name",
                   lib.ptec_program_message(self._handle))
            names.append(buf.value.decode())
        return names

    def method(self, name: str = "forward") -> _Method:
        """The initialised method (initialised once, reused by later runs)."""
        if name not in self._methods:
            lib = library()
            index = ctypes.c_size_t()
            _check(lib.ptec_program_find_method(self._handle, name.encode(), ctypes.byref(index)),
                   "find_method", lib.ptec_program_message(self._handle))
            # Init writes initial data into the state; another method may have
            # changed it already (prefill before decode): that state is kept.
            kept = {k: v.copy() for k, v in self._state.items()}
            self._methods[name] = _Method(self, index.value)
            for k, v in kept.items():
                self._state[k][:] = v
        return self._methods[name]

    def run(self, inputs: Sequence[torch.Tensor], method: str = "forward",
            profile: bool = False) -> list[torch.Tensor]:
        """Runs `method`. With `profile`, `last_profile` then holds the run's
        per-instruction profile (a ptec.devtools.Profile, with its ETDump)."""
        return self.method(method).run(list(inputs), profile=profile)

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        return self.run(inputs)

    def __del__(self):
        if getattr(self, "_parallel", None):
            self._methods = {}
            library().ptec_posix_parallel_destroy(self._parallel)
            self._parallel = None


def load(path_or_bytes: str | os.PathLike | bytes | bytearray | memoryview,
         target: str | None = None, npu_work: int = 16 << 20, npu_fast_memory: int = 2 << 20,
         threads: int = 1, call_cache: bool | None = None):
    """Loads a `.pte` file (path or bytes) into ptec's C runtime.

    With no target (or "host") the program runs here, through ctypes. With a
    Cortex-M target ("cortex-m55", "cortex-m7", "cortex-m4") it runs on that
    CPU's board under QEMU, in the runner firmware built by `make build-m55`
    (-m7, -m4): same call, same outputs, plus `last_run` with the device's
    instruction ticks per operator (a ptec.device.DeviceProgram).

    With a Cortex-A target ("cortex-a76", "aarch64") it runs the cross-built
    ptec-run of that CPU (`make build-aarch64`) under qemu-aarch64: same call,
    same outputs (a ptec.device.LinuxUserProgram).

    `threads` > 1 lets the heavy kernels (int8 and float convolutions) split their
    outputs over that many threads (here, or ptec-run --threads on a Cortex-A
    target); outputs are the same for any count.

    `call_cache` (default: on unless PTEC_CALL_CACHE=0 in the environment)
    gives a host method the memory of its call cache (ptec_method_set_call_cache):
    calls decoded once at load instead of on every run; outputs are the same.

    PTEC_LOAD_TARGET in the environment is the default target: with
    PTEC_LOAD_TARGET=cortex-m55, test suites written for the host run their
    programs on the emulated device.

    With an Ethos-U target ("ethos-u55-128", "ethos-u65-256", ...) it runs here
    with its EthosUBackend delegates on ptec's simulator of that NPU, through
    Arm's driver API as on a device: `npu_work` bytes of simulator memory and,
    for a U65/U85, `npu_fast_memory` bytes of fast memory (region 2 of
    Dedicated_Sram modes; 0 for none). The program's `npu_stats` has the last
    run's NPU statistics. The U85 is not simulated yet: its runs fail with
    npu_status "not simulated".
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
    else:
        data = Path(path_or_bytes).read_bytes()
    if target is None:
        target = os.environ.get("PTEC_LOAD_TARGET") or None
    if target is None or target == "host":
        return LoadedProgram(data, threads=threads, call_cache=call_cache)
    if target.startswith("ethos-u"):
        return LoadedProgram(data, npu=(target, npu_work, npu_fast_memory or (1 << 64) - 1),
                             threads=threads, call_cache=call_cache)
    from .device import AARCH64_CPUS, DeviceProgram, LinuxUserProgram
    if target in AARCH64_CPUS:
        return LinuxUserProgram(data, target, threads=threads)
    return DeviceProgram(data, target)
