"""ExecuTorch's own stateful .pte files run in ptec with ExecuTorch's results.

ExecuTorch's export flow (`torch.export` under no_grad, then
`to_edge_transform_and_lower(...).to_executorch()`, portable kernels, fp32)
keeps mutable buffers as planned tensors in memory 1 next to the activations and
writes them back with `aten::copy_` after a functional `index_put.out`. ptec
runs those files as they are: planned memory persists between executes. The
models: the counter + ring buffer of test_llm_state.py, and the tiny OPT decode
step (ptec.llm, T = 1, 32 cache positions), each run step after step in
ExecuTorch's runtime and in ptec, compared at every step (and with eager); the
OPT file also generates eager's greedy tokens through ptec-generate.
"""
import functools
import os
import subprocess
from pathlib import Path

import torch
from executorch.exir import to_edge_transform_and_lower
from executorch.runtime import Runtime

import ptec
from ptec.llm import TINY, OPTForCausalLM, generate, generate_greedy
from ptec.llm.program import model_step
from test_llm_state import CounterRing

STEPS = 12


def _executorch_pte(model, inputs) -> bytes:
    model.requires_grad_(False)
    with torch.no_grad():
        ep = torch.export.export(model, inputs)
    return bytes(to_edge_transform_and_lower(ep).to_executorch().buffer)


@functools.lru_cache(maxsize=None)
def _opt():
    torch.manual_seed(0)
    model = OPTForCausalLM(TINY, max_len=32, last_logits_only=True).eval()
    for p in model.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.3)
    return model


def test_executorch_counter_file_runs_in_ptec(seed):
    gen = torch.Generator().manual_seed(seed)
    data = _executorch_pte(CounterRing(), (torch.randn(1, 3), torch.tensor([0])))
    ours = ptec.load(data)
    theirs = Runtime.get().load_program(data).load_method("forward")
    eager = CounterRing()
    for k in range(STEPS):
        x, pos = torch.randn(1, 3, generator=gen), torch.tensor([k % 4])
        (got,) = ours(x, pos)
        (expected,) = theirs.execute([x, pos])
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6, msg=f"run {k}")
        torch.testing.assert_close(got, eager(x, pos), rtol=1e-6, atol=1e-6, msg=f"run {k}")


def test_executorch_opt_decode_file_runs_in_ptec(seed, tmp_path):
    model = _opt()
    data = _executorch_pte(model, (torch.tensor([[1]]), torch.tensor([0])))
    ours = ptec.load(data)
    theirs = Runtime.get().load_program(data).load_method("forward")
    tokens = torch.randint(0, TINY.vocab_size, (STEPS,),
                           generator=torch.Generator().manual_seed(seed))
    model.reset_cache()
    worst = 0.0
    for t in range(STEPS):
        ids, pos = tokens[t].view(1, 1), torch.tensor([t])
        (got,) = ours(ids, pos)
        (expected,) = theirs.execute([ids, pos])
        with torch.no_grad():
            reference = model(ids, pos)
        scale = float(expected.abs().max())
        worst = max(worst, float((got - expected).abs().max()) / scale)
        assert float((got - reference).abs().max()) <= 1e-4 * scale, f"step {t}"
    print(f"worst ptec vs ExecuTorch logits error: {worst:.2e} of max |logit|")
    assert worst <= 1e-4

    # ptec-generate (C) and ptec.llm.generate run ExecuTorch's one-method file too
    # (forward, every token through it): the eager model's greedy tokens.
    prompt = tokens[:3].tolist()
    model.reset_cache()
    expected, _ = generate_greedy(model_step(model), prompt, 8, len(prompt) + 1)
    assert generate(data, prompt, 8) == expected
    pte = tmp_path / "et_opt.pte"
    pte.write_bytes(data)
    binary = Path(os.environ.get("PTEC_RUN", "build/host/ptec-run")).parent / "ptec-generate"
    run = subprocess.run([str(binary), str(pte), "--prompt", ",".join(map(str, prompt)),
                          "--steps", "8"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert [int(t) for t in run.stdout.splitlines()[0].split()] == expected
