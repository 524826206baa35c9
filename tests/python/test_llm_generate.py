"""ptec-generate, the C generation loop: the tiny OPT program of test_llm_opt.py
generates the same greedy tokens in C as the eager model in Python, through the
host build and through AddressSanitizer (LeakSanitizer on); a prompt longer than
the prefill chunk goes through prefill then decode; --eos stops the loop. With
--tokenizer the prompt is text (the C tokenizer) and so is the output, the same
under qemu-aarch64 on the cortex-a76 build; the training example is deterministic."""
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer

from ptec.device import aarch64_ptec_run
import ptec
from ptec.llm import TINY, compile_llm, generate, generate_greedy
from ptec.llm.program import model_step, prompt_chunks
from ptec.llm.tokenizer import write as write_tokenizer
from test_llm_opt import PREFILL, _compiled, _model, _prompt

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "llm"))

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
    # --threads: the heavy kernels split their outputs, each computed as on one thread.
    tokens, _ = _generate(binary, pte, prompt, "--steps", str(STEPS), "--threads", "2")
    assert tokens == expected
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
    for bad in (["--top-p", "0"], ["--top-p", "1.5"], ["--temperature", "-1"],
                ["--threads", "0"]):
        run = subprocess.run([str(binary), str(pte), "--prompt", "1", *bad],
                             capture_output=True, text=True)
        assert run.returncode == 1 and "usage" in run.stderr, bad


@pytest.mark.parametrize("build", ["PTEC_RUN", "PTEC_RUN_ASAN"])
def test_prompt_of_any_length_goes_through_prefill(seed, tmp_path, build):
    """A prompt's rest after the whole chunks: 2+ tokens through prefill (the last T
    tokens again, or a short prompt padded after its end, its last token decoded again),
    one token through decode. The chunked eager model gives the first token's logits of
    the whole prompt in one call (the padding and the tokens computed twice change
    nothing but rounding), and ptec-generate the same tokens."""
    binary = Path(os.environ[build]).parent / "ptec-generate"
    pte = tmp_path / "opt.pte"
    pte.write_bytes(_compiled().buffer)
    calls = {n: prompt_chunks(n, PREFILL) for n in (3, PREFILL + 1, 2 * PREFILL + 5)}
    assert [m for m, _, _ in calls[3]] == ["prefill", "decode"]
    assert calls[PREFILL + 1][-1] == ("decode", PREFILL, PREFILL + 1)
    assert calls[2 * PREFILL + 5][-1] == ("prefill", PREFILL + 5, 2 * PREFILL + 5)
    for n in calls:
        prompt = (_prompt(seed) * 3)[:n]
        model = _model()
        with torch.no_grad():
            whole = model(torch.tensor([prompt]), torch.arange(n))[0, -1]
        expected, chosen = generate_greedy(model_step(_model()), prompt, 8, PREFILL)
        torch.testing.assert_close(chosen[0], whole, rtol=1e-4, atol=1e-4)
        tokens, report = _generate(binary, pte, prompt, "--steps", "8")
        assert tokens == expected, n
        assert report[0].startswith(f"prefill: {n} tokens")


def test_forward_method_as_executorch_runner_calls_it(seed, tmp_path):
    """compile_llm(forward=True): a `forward` method beside prefill and decode (the name
    ExecuTorch's LLM runner calls), with the metadata; ptec-generate through it gives
    the tokens of its decode method."""
    pte = tmp_path / "opt.pte"
    pte.write_bytes(compile_llm(_model(fused_attention=True), PREFILL, forward=True).buffer)
    program = ptec.load(pte.read_bytes())
    assert {"forward", "prefill", "decode", "get_max_seq_len", "use_kv_cache"} <= set(
        program.method_names)
    binary = Path(os.environ.get("PTEC_RUN", "build/host/ptec-run")).parent / "ptec-generate"
    prompt = _prompt(seed)[:5]
    expected, _ = _generate(binary, pte, prompt, "--steps", "8")
    assert _generate(binary, pte, prompt, "--steps", "8", "--decode", "forward")[0] == expected


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


# --- Text in, text out: the C tokenizer inside the loop (docs/llm.md) ---------------------

TEXT_PROMPT = "The for statement"


@functools.lru_cache(maxsize=None)
def _tokenizer_files():
    """A byte-level BPE of the tiny model's 512 ids, trained on the Python
    documentation (0.2 s), as tokenizer.json and as the C tokenizer's file."""
    from train_tiny_opt import documentation, train_tokenizer
    folder = Path(tempfile.mkdtemp(prefix="test_llm_generate_tok_"))
    tok = train_tokenizer(documentation(), TINY.vocab_size)
    assert tok.get_vocab_size() == TINY.vocab_size
    tok.save(str(folder / "tok.json"))
    write_tokenizer(folder / "tok.json", folder / "tok.ptok")
    return folder


def _generate_text(command):
    """(generated text, report lines) of ptec-generate --tokenizer; the generated bytes
    as a tokenizers decode gives them (U+FFFD for a split UTF-8 character)."""
    run = subprocess.run(command, capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode()
    text, _, report = run.stdout.rpartition(b"\nprefill: ")
    prompt = TEXT_PROMPT.encode()
    assert text.startswith(prompt)  # the prompt, decoded, then the generated text
    return text[len(prompt):].decode("utf-8", "replace"), ("prefill: " + report.decode()).splitlines()


@pytest.mark.parametrize("build", ["PTEC_RUN", "PTEC_RUN_ASAN"])
def test_text_prompt_through_the_c_tokenizer(seed, tmp_path, build):
    """ptec-generate --tokenizer: the prompt encoded in C as tokenizers encodes it,
    the greedy tokens eager's, streamed as tokenizers decodes them; sampled text
    equals ptec.llm.generate's with the same seed and a text prompt."""
    folder = _tokenizer_files()
    hf = Tokenizer.from_file(str(folder / "tok.json"))
    binary = Path(os.environ[build]).parent / "ptec-generate"
    pte = tmp_path / "opt.pte"
    pte.write_bytes(_compiled().buffer)
    prompt_ids = hf.encode(TEXT_PROMPT).ids
    expected, _ = generate_greedy(model_step(_model()), prompt_ids, 24, PREFILL)
    command = [str(binary), str(pte), "--tokenizer", str(folder / "tok.ptok"), "--prompt",
               TEXT_PROMPT, "--max-new-tokens", "24"]
    text, report = _generate_text(command)
    assert text == hf.decode(expected, skip_special_tokens=True)
    assert len(set(expected)) > 4  # the comparison means something
    assert report[0].startswith(f"prefill: {len(prompt_ids)} tokens")
    assert report[1].startswith("decode: 23 tokens")
    assert re.match(r"memory: program \d+ bytes, state \d+ bytes, methods \d+ bytes, "
                    r"tokenizer \d+ bytes$", report[2]), report[2]
    assert generate(_compiled().buffer, TEXT_PROMPT, 24, tokenizer=hf) == text
    options = ["--temperature", "0.9", "--top-p", "0.95", "--seed", str(seed)]
    sampled, _ = _generate_text(command + options)
    assert sampled == generate(_compiled().buffer, TEXT_PROMPT, 24, 0.9, 0.95, seed,
                               tokenizer=folder / "tok.json")


def test_text_prompt_needs_a_tokenizer(tmp_path):
    with pytest.raises(ValueError, match="tokenizer"):
        generate(_compiled().buffer, TEXT_PROMPT, 4)
    binary = Path(os.environ.get("PTEC_RUN", "build/host/ptec-run")).parent / "ptec-generate"
    bad = tmp_path / "tok.json"
    bad.write_text('{"model": {"type": "BPE"}}' + " " * 40)
    run = subprocess.run([str(binary), "model.pte", "--tokenizer", str(bad), "--prompt", "x"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "PTEC_STATUS_BAD_IDENTIFIER" in run.stderr
    assert "python -m ptec.llm.tokenizer" in run.stderr


def test_cortex_a76_generates_the_host_tokens(seed, tmp_path):
    """The cortex-a76 build of ptec-generate under qemu-aarch64 -cpu cortex-a76:
    the same text as the host build, greedy and sampled from the same seed."""
    qemu = shutil.which("qemu-aarch64")
    arm = aarch64_ptec_run("cortex-a76").parent / "ptec-generate"
    assert qemu and arm.is_file(), "needs qemu-aarch64 and `make build-aarch64`"
    folder = _tokenizer_files()
    pte = tmp_path / "opt.pte"
    pte.write_bytes(_compiled().buffer)
    host = Path(os.environ.get("PTEC_RUN", "build/host/ptec-run")).parent / "ptec-generate"
    args = [str(pte), "--tokenizer", str(folder / "tok.ptok"), "--prompt", TEXT_PROMPT,
            "--max-new-tokens", "20"]
    for options in ([], ["--temperature", "0.8", "--top-p", "0.9", "--seed", str(seed)]):
        on_host, _ = _generate_text([str(host), *args, *options])
        on_arm, report = _generate_text([qemu, "-cpu", "cortex-a76", str(arm), *args, *options])
        assert on_arm == on_host and on_host, options
        assert report[1].startswith("decode: 19 tokens")


def test_training_is_deterministic():
    """examples/llm/train_tiny_opt.py at toy sizes (a few steps): the same seed
    gives the same tokenizer and weights, and the cached model's math is the
    training math (sequence_logits)."""
    import train_tiny_opt
    args = train_tiny_opt.parser().parse_args(
        ["--vocab", "300", "--hidden", "32", "--layers", "1", "--heads", "2", "--max-len", "32",
         "--steps", "4", "--batch", "2", "--quiet", "--seed", "3"])
    (m1, t1, loss1), (m2, t2, loss2) = train_tiny_opt.train(args), train_tiny_opt.train(args)
    assert t1._tokenizer.to_str() == t2._tokenizer.to_str() and loss1 == loss2
    for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), name
    assert train_tiny_opt.check_cached_math(m1, t1.encode("The for statement").ids) < 1e-4
