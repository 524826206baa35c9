"""ptec-generate, the C generation loop: the tiny OPT program of test_llm_opt.py
generates the same greedy tokens in C as the eager model in Python, through the
host build and through AddressSanitizer (LeakSanitizer on); a prompt longer than
the prefill chunk goes through prefill then decode; --eos stops the loop."""
import os
import subprocess
from pathlib import Path

import pytest

from ptec.llm import generate, generate_greedy
from ptec.llm.program import model_step
from test_llm_opt import PREFILL, _compiled, _model, _prompt

STEPS = 32


def _generate(binary, pte, prompt, *extra):
    run = subprocess.run([str(binary), str(pte), "--prompt", ",".join(map(str, prompt)),
                          *extra], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    return [int(t) for t in lines[0].split()], lines[1:]


@pytest.mark.parametrize("build", ["PTEC_RUN", "PTEC_RUN_ASAN"])
def test_c_loop_equals_eager_greedy(seed, tmp_path, build):
    runner = os.environ.get(build)
    assert runner, f"{build} must name a ptec-run build (its ptec-generate is next to it)"
    binary = Path(runner).parent / "ptec-generate"
    pte = tmp_path / "opt.pte"
    pte.write_bytes(_compiled().buffer)
    prompt = _prompt(seed) + _prompt(seed + 1)[:3]  # one prefill chunk, then 3 decode calls
    expected, _ = generate_greedy(model_step(_model()), prompt, STEPS, PREFILL)
    tokens, report = _generate(binary, pte, prompt, "--steps", str(STEPS))
    assert tokens == expected
    assert report[0].startswith(f"prefill: {len(prompt)} tokens")
    assert report[1].startswith(f"decode: {STEPS - 1} tokens")
    # --eos: stops right after that token.
    stop = expected[5]
    tokens, _ = _generate(binary, pte, prompt, "--steps", str(STEPS), "--eos", str(stop))
    assert tokens == expected[:expected.index(stop) + 1]


def test_bad_prompt_is_refused(tmp_path):
    binary = Path(os.environ.get("PTEC_RUN", "build/host/ptec-run")).parent / "ptec-generate"
    pte = tmp_path / "opt.pte"
    pte.write_bytes(_compiled().buffer)
    run = subprocess.run([str(binary), str(pte), "--prompt", "1,x"], capture_output=True,
                         text=True)
    assert run.returncode == 1 and "usage" in run.stderr
    for bad in (["--top-p", "0"], ["--top-p", "1.5"], ["--temperature", "-1"]):
        run = subprocess.run([str(binary), str(pte), "--prompt", "1", *bad],
                             capture_output=True, text=True)
        assert run.returncode == 1 and "usage" in run.stderr, bad


def test_python_generate_equals_eager(seed):
    """ptec.llm.generate (Python, the same loop as ptec-generate) on the program's bytes."""
    prompt = _prompt(seed) + _prompt(seed + 1)[:3]
    expected, _ = generate_greedy(model_step(_model()), prompt, 8, PREFILL)
    assert generate(_compiled().buffer, prompt, 8) == expected


@pytest.mark.parametrize("build", ["PTEC_RUN", "PTEC_RUN_ASAN"])
def test_c_sampling_equals_python_sampler(seed, tmp_path, build):
    """--temperature/--top-p/--seed: the same tokens as ptec.llm.generate's Sampler
    (same xorshift64* draws, same double arithmetic); top-p near 0 keeps only the
    most likely token, so it is greedy decoding whatever the temperature."""
    binary = Path(os.environ[build]).parent / "ptec-generate"
    pte = tmp_path / "opt.pte"
    pte.write_bytes(_compiled().buffer)
    prompt = _prompt(seed)
    for temperature, top_p in ((1.5, 0.9), (0.7, 1.0)):
        options = ["--temperature", str(temperature), "--top-p", str(top_p), "--seed", str(seed)]
        tokens, _ = _generate(binary, pte, prompt, "--steps", "16", *options)
        assert tokens == generate(_compiled().buffer, prompt, 16, temperature, top_p, seed)
    expected, _ = generate_greedy(model_step(_model()), prompt, 16, PREFILL)
    tokens, _ = _generate(binary, pte, prompt, "--steps", "16", "--temperature", "1",
                          "--top-p", "1e-9", "--seed", str(seed))
    assert tokens == expected
