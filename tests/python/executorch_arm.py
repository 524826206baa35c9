"""ExecuTorch's Arm Ethos-U flow (ExecuTorch 1.4.1, requirements-interop.txt) for the tests.

Its TOSA serializer, `tosa_serializer`, ships in the tosa-tools wheel that
`make tosa-tools` unpacks into build/tosa-tools (PTEC_TOSA_TOOLS overrides);
`arm_flow()` puts it on sys.path (after the venv's packages, so the venv's
numpy and flatbuffers win) and imports the flow.

tosa_serializer imports `ml_dtypes` (numpy dtypes for bf16/fp8/fp6/fp4/int4) at
module level. Where the venv has no ml_dtypes, a stand-in module takes its place:
its dtypes are names only, which is enough for int8/int16/int32/int48 graphs
(the only TOSA dtypes these tests serialize); any use of one raises.

    pte = executorch_ethosu_pte(model, (x,), calibration, "ethos-u55-128")
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
TOSA_TOOLS = Path(os.environ.get("PTEC_TOSA_TOOLS", REPO / "build" / "tosa-tools"))

_ML_DTYPES = ("int4", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu",
              "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn")


def _ml_dtypes_stand_in() -> types.ModuleType:
    module = types.ModuleType("ml_dtypes")
    module.__doc__ = "Stand-in for ml_dtypes (tests/python/executorch_arm.py): names only."

    def unavailable(name):
        def fail(*args, **kwargs):
            raise RuntimeError(f"ml_dtypes.{name} is a stand-in here: install ml_dtypes to "
                               "serialize such tensors")
        return type(name, (), {"__new__": fail})

    for name in _ML_DTYPES:
        setattr(module, name, unavailable(name))
    return module


@functools.lru_cache(maxsize=None)
def arm_flow() -> types.SimpleNamespace:
    """ExecuTorch's Ethos-U compile spec, quantizer, partitioner and lowering entry points."""
    if not (TOSA_TOOLS / "tosa_serializer").is_dir() and "PTEC_TOSA_TOOLS" not in os.environ:
        subprocess.run(["make", "-C", str(REPO), "tosa-tools"], capture_output=True, timeout=600)
    assert (TOSA_TOOLS / "tosa_serializer").is_dir(), (
        f"tosa-tools (tosa_serializer) is not in {TOSA_TOOLS}: run `make tosa-tools`")
    if str(TOSA_TOOLS) not in sys.path:
        sys.path.append(str(TOSA_TOOLS))
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        sys.modules["ml_dtypes"] = _ml_dtypes_stand_in()

    import executorch.backends.arm.ethosu.backend as ethosu_backend
    from executorch.backends.arm.ethosu import EthosUCompileSpec, EthosUPartitioner
    from executorch.backends.arm.quantizer import (EthosUQuantizer,
                                                    get_symmetric_quantization_config)
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    return types.SimpleNamespace(
        backend=ethosu_backend, EthosUCompileSpec=EthosUCompileSpec,
        EthosUPartitioner=EthosUPartitioner, EthosUQuantizer=EthosUQuantizer,
        get_symmetric_quantization_config=get_symmetric_quantization_config,
        ExecutorchBackendConfig=ExecutorchBackendConfig,
        to_edge_transform_and_lower=to_edge_transform_and_lower,
        prepare_pt2e=prepare_pt2e, convert_pt2e=convert_pt2e)


def executorch_ethosu_lowered(model, example_inputs: tuple, calibration, npu: str):
    """ExecuTorch's Arm flow up to the lowered edge program (EdgeProgramManager):
    EthosUQuantizer (symmetric int8, per-channel weights), PT2E calibration,
    EthosUPartitioner. Returns (edge program manager, TOSA graphs handed to Vela, the
    converted PT2E module: ExecuTorch's quantized reference in eager mode)."""
    et = arm_flow()
    tosa_graphs: list[bytes] = []
    vela_compile = et.backend.vela_compile

    def capture(tosa_flatbuffer, args, **kwargs):
        tosa_graphs.append(bytes(tosa_flatbuffer))
        return vela_compile(tosa_flatbuffer, args, **kwargs)

    spec = et.EthosUCompileSpec(npu)
    quantizer = et.EthosUQuantizer(spec)
    quantizer.set_global(et.get_symmetric_quantization_config())
    graph = torch.export.export(model, example_inputs).module(check_guards=False)
    prepared = et.prepare_pt2e(graph, quantizer)
    for sample in calibration:
        prepared(*sample)
    converted = et.convert_pt2e(prepared)
    exported = torch.export.export(converted, example_inputs)
    et.backend.vela_compile = capture
    try:
        edge = et.to_edge_transform_and_lower(exported, partitioner=[et.EthosUPartitioner(spec)])
    finally:
        et.backend.vela_compile = vela_compile
    return edge, tosa_graphs, converted
