"""examples/digits.py end to end: a CNN trained on scikit-learn's digits,
quantized to int8 with ptec.Int8, runs on the C runtime as accurately as in
float."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
pytest.importorskip("sklearn")
import digits  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return digits.main(verbose=True)


def test_fp32_runtime_matches_pytorch(result):
    assert result["fp32_ptec_accuracy"] == result["fp32_torch_accuracy"]
    assert result["fp32_ptec_agrees_with_torch"] == 1.0


def test_int8_accuracy_within_one_point_of_fp32(result):
    assert result["fp32_torch_accuracy"] > 0.95, "the model did not train"
    assert result["int8_ptec_accuracy"] >= result["fp32_torch_accuracy"] - 0.01


def test_int8_file_is_smaller(result):
    assert result["int8_pte_bytes"] < 0.5 * result["fp32_pte_bytes"]
