"""The adapter Model Explorer loads (`--extensions=ptec.explorer`)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

from model_explorer import Adapter, AdapterMetadata, ModelExplorerGraphs

from .graphs import pte_graphs


class PtePrograms(Adapter):
    """ExecuTorch programs (.pte) with their delegates expanded."""

    metadata = AdapterMetadata(
        id="ptec_pte",
        name="ptec: ExecuTorch programs",
        description="Methods of a .pte, TOSA and Ethos-U delegates opened into their "
                    "TOSA operators and NPU operations.",
        source_repo="",
        fileExts=["pte"],
    )

    def __init__(self):
        super().__init__()

    def convert(self, model_path: str, settings: Dict) -> ModelExplorerGraphs:
        return {"graphs": pte_graphs(Path(model_path).read_bytes())}
