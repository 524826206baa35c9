"""An LLM as one .pte: `prefill` (T prompt tokens) and `decode` (one token)
sharing the KV cache, plus ExecuTorch's metadata methods; greedy generation
over any step function (ptec's program or the eager model)."""
from __future__ import annotations

import math
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


def generate_greedy(step: Step, prompt: list[int], new_tokens: int, prefill_len: int,
                    choose: Callable[[torch.Tensor], int] | None = None
                    ) -> tuple[list[int], list[torch.Tensor]]:
    """Decoding: the prompt in prefill chunks of `prefill_len` (the rest one
    token at a time through decode), then `new_tokens` decode steps, each
    token the argmax (or `choose(logits_row)`, e.g. a Sampler). Returns the
    generated tokens and the logits each was chosen from."""
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
        token = int(logits[0, -1].argmax()) if choose is None else choose(logits[0, -1])
        tokens.append(token)
        chosen.append(logits[0, -1].clone())
        if len(tokens) == new_tokens:
            break
        logits = step("decode", torch.tensor([[token]]), torch.tensor([pos]))
        pos += 1
    return tokens, chosen


MASK64 = (1 << 64) - 1
DEFAULT_SEED = 0x9E3779B97F4A7C15


class Sampler:
    """ptec-generate's sampler, step for step: argmax at temperature 0, else
    softmax(logits / T) in double, most likely first (ties by index), the
    smallest prefix whose mass reaches top_p * total, one xorshift64* draw."""

    def __init__(self, temperature: float = 0.0, top_p: float = 1.0, seed: int = 0):
        self.temperature, self.top_p = temperature, top_p
        self.state = seed & MASK64 or DEFAULT_SEED

    def uniform(self) -> float:
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & MASK64
        x ^= x >> 27
        self.state = x
        return (((x * 0x2545F4914F6CDD1D) & MASK64) >> 11) * (1.0 / 9007199254740992.0)

    def __call__(self, row: torch.Tensor) -> int:
        values = row.float().tolist()
        best = max(range(len(values)), key=lambda v: (values[v], -v))
        if self.temperature <= 0:
            return best
        probs = [math.exp((v - values[best]) / self.temperature) for v in values]
        total = 0.0
        for q in probs:
            total += q
        order = sorted(range(len(probs)), key=lambda v: (-probs[v], v))
        kept, mass = 0, 0.0
        while kept < len(order) and (kept == 0 or mass < self.top_p * total):
            mass += probs[order[kept]]
            kept += 1
        target, run = self.uniform() * mass, 0.0
        for v in order[:kept]:
            run += probs[v]
            if run > target:
                return v
        return order[kept - 1]


def generate(program, prompt: list[int] | str, new_tokens: int, temperature: float = 0.0,
             top_p: float = 1.0, seed: int = 0, tokenizer=None) -> list[int] | str:
    """Generation with an LLM program, as ptec-generate does in C (the same
    tokens for the same seed): `program` is a path, bytes or a ptec.load(...)
    result with a `decode` (or `forward`) method of one token and optionally a
    `prefill` method. A text prompt needs `tokenizer` (a `tokenizers`
    Tokenizer or ByteLevelBPETokenizer, or a tokenizer.json path: what the C
    tokenizer equals, docs/llm.md) and gives the generated text back (special
    tokens left out, as ptec-generate --tokenizer prints it)."""
    from ..runtime import LoadedProgram, load

    if isinstance(prompt, str):
        if tokenizer is None:
            raise ValueError("a text prompt needs a tokenizer")
        if isinstance(tokenizer, (str, bytes)) or hasattr(tokenizer, "__fspath__"):
            from tokenizers import Tokenizer
            tokenizer = Tokenizer.from_file(str(tokenizer))
        ids = tokenizer.encode(prompt).ids
        tokens = generate(program, ids, new_tokens, temperature, top_p, seed)
        return tokenizer.decode(tokens, skip_special_tokens=True)

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
                                new_tokens, prefill_len, Sampler(temperature, top_p, seed))
    return tokens
