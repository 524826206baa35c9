"""The Model Explorer extension (ptec.explorer): .pte files with their delegates expanded.

The adapter is loaded the way Model Explorer loads extensions (its
ExtensionManager with `ptec.explorer`) and run on ptec's example programs, a
TOSA-delegated and an Ethos-U-delegated program, and ExecuTorch's own TOSA
file; the graphs must describe the program: one node per call, edges from
the values each call reads, every delegate opened into its operators.
"""
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests" / "python"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.describe import describe_pte  # noqa: E402

from model_explorer.extension_manager import ExtensionManager  # noqa: E402 (requirements-explorer.txt)


def convert(path: Path) -> dict:
    """Model Explorer's own path: load the extension module, run its convert command."""
    manager = ExtensionManager(["ptec.explorer"])
    manager.load_extensions()
    (ext,) = [e for e in manager.extensions if e.metadata.id == "ptec_pte"]
    assert ext.metadata.fileExts == ["pte"]
    result = manager.run_cmd({"extensionId": "ptec_pte", "cmdId": "convert",
                              "modelPath": str(path), "settings": {},
                              "deleteAfterConversion": False})
    return result


def check_graphs(result: dict, data: bytes) -> dict:
    graphs = {g["id"]: g for g in result["graphs"]}
    (method,) = describe_pte(data)["methods"]
    main = graphs[method["name"]]
    calls = [i for i in method["instructions"] if i["kind"] in ("KernelCall", "DelegateCall")]
    nodes = [n for n in main["nodes"] if n["label"] not in ("Input", "Output")]
    assert len(nodes) == len(calls)
    for g in graphs.values():
        ids = {n["id"] for n in g["nodes"]}
        for n in g["nodes"]:
            assert all(e["sourceNodeId"] in ids for e in n.get("incomingEdges", [])), n
            assert all(s in graphs for s in n.get("subgraphIds", [])), n
    # Every call but the first reads something another node wrote.
    assert all(n.get("incomingEdges") for n in nodes)
    return graphs


def compiled(tmp_path: Path, name: str, **kwargs) -> tuple[Path, bytes]:
    model, inputs = EXAMPLES[name]()
    if kwargs.pop("int8", False):
        kwargs["quantize"] = ptec.Int8(calibration=[inputs])
    data = ptec.compile(model, inputs, **kwargs).buffer
    path = tmp_path / f"{name}.pte"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("name", ["ds_cnn", "transformer"])
def test_example_programs(tmp_path, name):
    path, data = compiled(tmp_path, name)
    graphs = check_graphs(convert(path), data)
    assert len(graphs) == 1  # no delegates


def test_tosa_delegates_open_into_their_operators(tmp_path):
    path, data = compiled(tmp_path, "ds_cnn", target="tosa-int", int8=True)
    graphs = check_graphs(convert(path), data)
    (method,) = describe_pte(data)["methods"]
    tosa = [d for d in method["delegates"] if d["id"] == "TOSABackend"]
    assert tosa
    for d in tosa:
        sub = graphs[f"forward/delegate{d['index']}"]
        ops = [o["op"] for o in d["tosa"]["blocks"][0]["operators"]
               if o["op"] not in ("CONST", "CONST_SHAPE")]
        assert [n["label"] for n in sub["nodes"] if n["label"] not in ("Input", "Output")] == ops
    assert any("CONV2D" in n["label"] for g in graphs.values() for n in g["nodes"])


def test_ethos_u_delegate_opens_into_npu_operations(tmp_path):
    path, data = compiled(tmp_path, "ds_cnn", target="ethos-u55-128", int8=True)
    graphs = check_graphs(convert(path), data)
    subs = [g for gid, g in graphs.items() if "/delegate" in gid]
    assert subs
    labels = [n["label"] for g in subs for n in g["nodes"]]
    assert "CONV" in labels and "DEPTHWISE" in labels
    assert all(label.split()[0] in ("CONV", "DEPTHWISE", "POOL", "ELEMENTWISE", "DMA_START",
                                    "RESIZE") for label in labels)


def test_executorch_tosa_file(tmp_path):
    """ExecuTorch's own TOSABackend delegate (its TOSAPartitioner, TOSA-1.0+FP)."""
    from executorch_arm import arm_flow
    arm_flow()
    from executorch.backends.arm.tosa.compile_spec import TosaCompileSpec
    from executorch.backends.arm.tosa.partitioner import TOSAPartitioner
    from executorch.exir import to_edge_transform_and_lower

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 1)).eval()
    exported = torch.export.export(model, (torch.randn(1, 3, 8, 8),))
    data = to_edge_transform_and_lower(exported, partitioner=[
        TOSAPartitioner(TosaCompileSpec("TOSA-1.0+FP"))]).to_executorch().buffer
    path = tmp_path / "et_tosa.pte"
    path.write_bytes(data)
    graphs = check_graphs(convert(path), data)
    labels = [n["label"] for n in graphs["forward/delegate0"]["nodes"]]
    assert labels.count("CONV2D") == 2 and "CLAMP" in labels
