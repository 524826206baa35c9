"""Per-layer int8/int16 activations (ptec.Int8(a16w8="auto" | [layers]), ptec.quant.mixed).

* The 2-layer Conformer (d 32, 0.3 s, examples/conformer.py) with a16w8="auto":
  each layer's own int8 error is measured on the calibration data, the layers
  below the threshold get int16 activations (the report names them with their
  SQNR); the mixed model is one delegate on tosa-int and one NPU delegate on
  ethos-u85-256, the host program equals the TOSA executor bit for bit, and it
  is at least 20 dB from fp32 and no worse than all-int8.
* A list of layers: exactly those layers' operators get int16 codes.
* Bad a16w8 values are refused by name.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import ptec
from ptec.quant import flow, qdq
from ptec.quant.mixed import layer_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import conformer as C  # noqa: E402

QUANTIZE = "quantized_decomposed::quantize_per_tensor.out"
DEQUANTIZE = "quantized_decomposed::dequantize_per_tensor.out"
SMALL = dict(d_model=32, ffn_dim=64, kernel_size=15)


def test_auto_choice_on_the_conformer_is_one_delegate_bit_exact():
    r = C.run(num_layers=2, seconds=0.3, target="ethos-u85-256", calibration=2,
              a16w8="auto", a16w8_threshold_db=40.0, **SMALL)
    choice = r["a16w8"]
    print("\n" + choice.describe())
    # The choice is what the measurements say: every layer below the threshold, no other.
    assert choice.int16 == sorted(k for k, db in choice.layer_sqnr_db.items() if db < 40.0)
    assert choice.int16 and len(choice.int16) < len(choice.layer_sqnr_db)
    text = choice.describe()
    for layer in choice.int16:
        assert f"int16 {layer or '(top level)'}" in text
    assert text in r["tosa-int"]["program"].report()  # the compile report says it too
    for target in ("tosa-int", "ethos-u85-256"):
        assert r[target]["delegates"] == 1, r[target]["program"].report()
        assert r[target]["cpu"] == [QUANTIZE, DEQUANTIZE], r[target]["program"].report()
    assert r["equal"]["tosa-int"], "host and TOSA executor differ"
    # The simulator models the int16 tables these layers use (LUT_S16_S32, and the
    # LUT_S16_S16 of TABLE + RESCALE by 2^-7): the simulated U85 equals the host.
    assert "simulator" not in r, r.get("simulator")
    assert r["equal"]["ethos-u85-256"], "simulated U85 and host differ"
    int8 = C.sqnr_db(*_int8_and_fp32())
    print(f"Conformer 2 layers d 32: int8+a16w8 ({len(choice.int16)} of "
          f"{len(choice.layer_sqnr_db)} layers int16) {r['sqnr_db']:.1f} dB vs fp32, "
          f"all int8 {int8:.1f} dB")
    assert r["sqnr_db"] >= 20.0
    assert r["sqnr_db"] >= int8 - 0.5


def _int8_and_fp32():
    """fp32 and the fake-quantized all-int8 model's log-probabilities on the test's features."""
    model, inputs = C.conformer(2, 0.3, 0, **SMALL)
    g = torch.Generator().manual_seed(1)
    cal = [(torch.randn(inputs[0].shape, generator=g),)]
    cal.append((C.log_mel(C.synthetic_audio(0.3, 0))[:, : inputs[0].shape[1]],))
    converted = flow.quantize(model, inputs, ptec.Int8(calibration=cal, observer="minmax",
                                                       tosa_friendly=True))
    features = C.log_mel(C.synthetic_audio(0.3, 7))[:, : inputs[0].shape[1]]
    with torch.no_grad():
        return model(features).numpy(), converted(features).numpy()


def test_listed_layers_get_int16_codes():
    model, inputs = C.conformer(1, 0.3, 0, **SMALL)
    layers = ["layers.0.conv", "layers.0.final_norm"]
    converted = flow.quantize(model, inputs, ptec.Int8(
        calibration=[inputs], observer="minmax", tosa_friendly=True, a16w8=layers))
    dtypes: dict[str, set] = {}
    for n in converted.graph.nodes:
        if n.op == "call_function" and qdq.is_quantize(n) and isinstance(n.args[0], torch.fx.Node):
            producer = n.args[0]
            if producer.op == "call_function":
                dtypes.setdefault(layer_of(producer, 3), set()).add(n.args[-1])
    for layer in layers:
        assert dtypes[layer] == {torch.int16}, (layer, dtypes[layer])
    assert dtypes["layers.0.ffn1"] == {torch.int8}
    assert "layers.0.conv" in converted.ptec_a16w8.describe()


@pytest.mark.parametrize("bad, message", [("all", 'a16w8 must be "auto"'),
                                          ("auto", "use it with activations='int8'")])
def test_bad_a16w8_is_refused(bad, message):
    config = ptec.A16W8 if message.startswith("use") else ptec.Int8
    with pytest.raises(ValueError, match=message):
        config(a16w8=bad)
