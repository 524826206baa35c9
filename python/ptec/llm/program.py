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


def compile_llm(model: OPTForCausalLM, prefill_len: int = 8,
                forward: bool = False) -> CompiledProgram:
    """prefill (input_ids [1, prefill_len], cache_position [prefill_len]) and decode
    ([1, 1], [1]) return the last position's logits; the metadata methods are
    those ExecuTorch's LLM runner reads (extension/llm/runner). forward=True adds
    `forward`, the method that runner calls: decode's signature (tokens [1, 1] and the
    start position [1]; with enable_dynamic_shape False the runner feeds a prompt one
    token at a time), the same weights and cache."""
    if not model.last_logits_only:
        raise ValueError("compile an OPTForCausalLM(..., last_logits_only=True)")
    cfg = model.config
    ids = torch.zeros(1, prefill_len, dtype=torch.long)
    methods = {"prefill": (model, (ids, torch.arange(prefill_len))),
               "decode": (model, (ids[:, :1], torch.tensor([prefill_len])))}
    if forward:
        methods["forward"] = methods["decode"]
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


def prompt_chunks(n: int, prefill_len: int) -> list[tuple[str, int, int]]:
    """The calls that put a prompt of n tokens in the cache, (method, start, stop) for
    the tokens [start, stop) at positions start..: prefill chunks of prefill_len, and a
    remainder of 2+ tokens through prefill too, not one decode call per token. With n
    >= prefill_len the last chunk is the last prefill_len tokens (those before the
    remainder computed again: the same values written to the same cache rows); a
    shorter prompt is padded after its end (with its last token, at positions up to
    prefill_len - 1, which the cache holds since prefill was compiled for them), and its
    last token goes through decode again for its logits (prefill returns the last
    row's). The padding's cache rows lie past every query's position, so no query sees
    them (the mask is cache_position's), and decode overwrites each before reading it.
    ptec-generate makes the same calls."""
    if prefill_len < 1:  # no prefill method
        return [("decode", p, p + 1) for p in range(n)]
    calls = [("prefill", s, s + prefill_len) for s in range(0, n - prefill_len + 1, prefill_len)]
    done = calls[-1][2] if calls else 0
    if n - done == 1:
        calls += [("decode", p, p + 1) for p in range(done, n)]
    elif n - done >= 2 and n >= prefill_len:
        calls.append(("prefill", n - prefill_len, n))
    elif n - done >= 2:
        calls += [("prefill", 0, n), ("decode", n - 1, n)]
    return calls


def generate_greedy(step: Step, prompt: list[int], new_tokens: int, prefill_len: int,
                    choose: Callable[[torch.Tensor], int] | None = None
                    ) -> tuple[list[int], list[torch.Tensor]]:
    """Decoding: the prompt in prefill chunks of `prefill_len` (prompt_chunks: any
    length through prefill), then `new_tokens` decode steps, each token the
    argmax (or `choose(logits_row)`, e.g. a Sampler). Returns the generated
    tokens and the logits each was chosen from."""
    logits = None
    for method, start, stop in prompt_chunks(len(prompt), prefill_len):
        ids = prompt[start:stop]
        if method == "prefill":  # padded to the method's length
            ids = ids + [prompt[-1]] * (prefill_len - len(ids))
        logits = step(method, torch.tensor([ids]), torch.arange(start, start + len(ids)))
    pos = len(prompt)
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
        prefill_len = 0  # every prompt token through decode
    methods = {"prefill": "prefill", "decode": decode}
    run = program_step(program)
    tokens, _ = generate_greedy(lambda m, ids, pos: run(methods[m], ids, pos), prompt,
                                new_tokens, prefill_len, Sampler(temperature, top_p, seed))
    return tokens
