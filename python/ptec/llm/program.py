"""An LLM as one .pte: `prefill` (T prompt tokens) and `decode` (one token)
sharing the KV cache, plus ExecuTorch's metadata methods; greedy generation
over any step function (ptec's program or the eager model)."""
from __future__ import annotations

from typing import Callable

import torch

from ..compiler import CompiledProgram
from ..multimethod import compile_methods
from .opt import OPTForCausalLM

#: step(method, input_ids [1, T], cache_position [T]) -> logits [1, 1, vocab].
Step = Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor]


def compile_llm(model: OPTForCausalLM, prefill_len: int = 8) -> CompiledProgram:
    """prefill (input_ids [1, prefill_len], cache_position [prefill_len]) and decode
    ([1, 1], [1]) return the last position's logits; the metadata methods are
    those ExecuTorch's LLM runner reads (extension/llm/runner)."""
    if not model.last_logits_only:
        raise ValueError("compile an OPTForCausalLM(..., last_logits_only=True)")
    cfg = model.config
    ids = torch.zeros(1, prefill_len, dtype=torch.long)
    methods = {"prefill": (model, (ids, torch.arange(prefill_len))),
               "decode": (model, (ids[:, :1], torch.tensor([prefill_len])))}
    metadata = {"get_max_seq_len": model.max_len, "get_max_context_len": model.max_len,
                "get_vocab_size": cfg.vocab_size, "get_n_layers": cfg.num_hidden_layers,
                "get_bos_id": cfg.bos_token_id, "get_eos_id": cfg.eos_token_id,
                "use_kv_cache": True, "use_sdpa_with_kv_cache": False,
                "enable_dynamic_shape": False, "get_prefill_len": prefill_len}
    return compile_methods(methods, constant_methods=metadata)


def program_step(program) -> Step:
    """A step function running a loaded program's methods (ptec.load(...))."""
    return lambda method, ids, pos: program.run([ids, pos], method=method)[0]


def model_step(model: OPTForCausalLM) -> Step:
    """The same steps on the eager model (its own cache)."""
    def step(method, ids, pos):
        with torch.no_grad():
            return model(ids, pos)
    return step


def generate_greedy(step: Step, prompt: list[int], new_tokens: int,
                    prefill_len: int) -> tuple[list[int], list[torch.Tensor]]:
    """Greedy decoding: the prompt in prefill chunks of `prefill_len` (the rest
    one token at a time through decode), then `new_tokens` decode steps.
    Returns the generated tokens and the logits each was chosen from."""
    pos, logits = 0, None
    while len(prompt) - pos >= prefill_len:
        chunk = torch.tensor([prompt[pos:pos + prefill_len]])
        logits = step("prefill", chunk, torch.arange(pos, pos + prefill_len))
        pos += prefill_len
    for token in prompt[pos:]:
        logits = step("decode", torch.tensor([[token]]), torch.tensor([pos]))
        pos += 1
    tokens, chosen = [], []
    for _ in range(new_tokens):
        token = int(logits[0, -1].argmax())
        tokens.append(token)
        chosen.append(logits[0, -1].clone())
        if len(tokens) == new_tokens:
            break
        logits = step("decode", torch.tensor([[token]]), torch.tensor([pos]))
        pos += 1
    return tokens, chosen


def generate(program, prompt: list[int], new_tokens: int) -> list[int]:
    """Greedy generation with an LLM program, as ptec-generate does in C:
    `program` is a path, bytes or a ptec.load(...) result with a `decode` (or
    `forward`) method of one token and optionally a `prefill` method."""
    from ..runtime import LoadedProgram, load

    if not isinstance(program, LoadedProgram):
        program = load(program)
    names = program.method_names
    decode = "decode" if "decode" in names else "forward"
    if "prefill" in names:
        prefill_len = program.method("prefill").input_views()[0].shape[1]
    else:
        prefill_len = len(prompt) + 1  # every prompt token through decode
    methods = {"prefill": "prefill", "decode": decode}
    run = program_step(program)
    tokens, _ = generate_greedy(lambda m, ids, pos: run(methods[m], ids, pos), prompt,
                                new_tokens, prefill_len)
    return tokens
