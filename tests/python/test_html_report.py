"""The HTML report (`ptec inspect --html`, `CompiledProgram.report(html=...)`) in a real browser.

Each page is opened in Debian's chromium, headless: it must render with no
console error, its script must run and count every call, and a screenshot is
kept in build/test-output/html/ (the note describes them). The harness itself
is checked on a page with a script error, so a broken page cannot pass.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from models import EXAMPLES  # noqa: E402

import ptec  # noqa: E402
from ptec.cli import main as ptec_cli  # noqa: E402

SCREENSHOTS = ROOT / "build" / "test-output" / "html"
SIZES = {"mobilenet_v2": dict(resolution=64), "resnet18": dict(resolution=64)}
CONSOLE = re.compile(r'CONSOLE[^\]]*\] "(.*)", source')


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium is missing: `make deps` installs Debian's chromium"
    return path


def render(page: Path, screenshot: Path) -> list[str]:
    """Console messages of `page` in headless chromium; the screenshot is written."""
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                        f"--screenshot={screenshot}", "--window-size=1300,1800",
                        page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert screenshot.is_file(), r.stderr[-2000:]
    return CONSOLE.findall(r.stderr)


def check_page(page: Path, shot_name: str, calls: int) -> None:
    """The page renders with `calls` calls counted and no script error; its
    screenshot is kept as SCREENSHOTS/shot_name.png."""
    shot = SCREENSHOTS / f"{shot_name}.png"
    messages = render(page, shot)
    print(f"{page.name}: {messages}; screenshot {shot}")
    assert f"ptec report ready: {calls} calls" in messages
    assert not [m for m in messages if "Uncaught" in m or "Error" in m]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # not a blank page


def int8_ds_cnn(target: str = "host"):
    """(model, inputs, program): the DS-CNN example quantized on its own input."""
    model, inputs = EXAMPLES["ds_cnn"]()
    return model, inputs, ptec.compile(model, inputs, target=target,
                                       quantize=ptec.Int8(calibration=[inputs]))


def report_text(program, page: Path, **kwargs) -> str:
    """program.report(html=page, **kwargs), and the page's text."""
    program.report(html=page, **kwargs)
    return page.read_text()


def test_the_harness_catches_a_script_error(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.log('ptec report ready: 0 calls');"
                   "notDefined();</script></body></html>")
    messages = render(bad, tmp_path / "bad.png")
    assert any("Uncaught ReferenceError" in m for m in messages)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_model_page_renders(name, tmp_path):
    model, inputs = EXAMPLES[name](**SIZES.get(name, {}))
    program = ptec.compile(model, inputs)
    loaded = ptec.load(program.buffer)
    loaded.run(inputs, profile=True)
    page = tmp_path / f"{name}.html"
    text = report_text(program, page, profile=loaded.last_profile)
    calls = len(program.instructions)
    assert text.count('class="node"') == calls
    assert "Memory plan" in text and "peak" in text and "Measured time per call" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # no network
    check_page(page, name, calls)


def test_int8_tosa_page_shows_delegates_and_fallbacks(tmp_path):
    _, _, program = int8_ds_cnn("tosa-int")
    page = tmp_path / "ds_cnn_tosa.html"
    text = report_text(program, page)
    assert "TOSA delegate" in text and "quantize / dequantize" in text
    assert "the delegate&#x27;s boundary" in text  # why the quantize stays on the CPU
    check_page(page, "ds_cnn_tosa_int8", len(program.instructions))


def test_ethos_u_page_shows_vela_cycles_per_layer(tmp_path):
    _, _, program = int8_ds_cnn("ethos-u55-128")
    page = tmp_path / "ds_cnn_u55.html"
    text = report_text(program, page)
    layers = program.report_data()["npu"]["delegates"][0]["layers"]
    assert "Ethos-U delegate" in text and "Vela&#x27;s estimate per NPU layer" in text
    assert text.count("k cycles") == len(layers)
    check_page(page, "ds_cnn_ethos_u55", len(program.instructions))


def test_int8_page_with_per_layer_sqnr(tmp_path):
    model, inputs, program = int8_ds_cnn()
    page = tmp_path / "ds_cnn_int8.html"
    report = ptec.debug(model, program, inputs)
    text = report_text(program, page, debug=report)
    assert "SQNR per layer against the fake-quantized model" in text
    assert text.count("<tr><td>blocks.") == sum(e.layer.startswith("blocks.")
                                                 for e in report.layers)
    check_page(page, "ds_cnn_int8_sqnr", len(program.instructions))


def test_inspect_html_from_the_pte_alone(tmp_path, capsys):
    model, inputs = EXAMPLES["transformer"]()
    path = tmp_path / "transformer.pte"
    program = ptec.compile(model, inputs, quantize=ptec.Int8(calibration=[inputs]))
    program.save(path)
    out = tmp_path / "transformer.html"
    assert ptec_cli(["inspect", "--html", str(out), str(path)]) == 0
    text = out.read_text()
    assert "fused integer kernel" in text and "(from the .pte alone)" in text
    check_page(out, "transformer_int8_inspect", len(program.instructions))
