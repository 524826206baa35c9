"""Trains a byte-level BPE tokenizer and a tiny OPT on the Python documentation
that ships with Python (pydoc_data.topics), then compiles the model with ptec
(prefill + decode sharing the KV cache) and writes what ptec-generate needs:

    .venv/bin/python examples/llm/train_tiny_opt.py --out build/tiny_opt_docs
    build/host/ptec-generate build/tiny_opt_docs/model.pte \
        --tokenizer build/tiny_opt_docs/tok.ptok --prompt "The for statement" --max-new-tokens 40

No downloads and no cache: the same seed gives the same tokenizer and the same
weights on one machine (fixed thread count; torch's CPU kernels are
deterministic for these ops). The defaults (vocabulary 1024; hidden 128, 2
layers, 4 heads, 64 positions; 400 AdamW steps of 16 x 64 tokens, final loss
about 3.8) take 5.4 minutes of CPU time (2 threads: under 3 minutes on an idle
2-core host; 28 minutes on this shared one at load 16); --steps and the sizes
make it smaller for a test.
The model is ptec.llm.OPTForCausalLM; training runs it on whole sequences
(causal attention, no cache) through `sequence_logits`, whose math is the
cached model's (checked before compiling).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import ptec
from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm
from ptec.llm.opt import POSITION_OFFSET
from ptec.llm.tokenizer import write as write_tokenizer

EOS = "<|endoftext|>"


def documentation() -> list[str]:
    import pydoc_data.topics
    return [pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)]


def train_tokenizer(texts: list[str], vocab_size: int):
    """tokenizers' byte-level BPE trainer (GPT-2's pre-tokenizer); EOS is id 0."""
    from tokenizers import ByteLevelBPETokenizer
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=[EOS], show_progress=False)
    return tok


def sequence_logits(model: OPTForCausalLM, ids: torch.Tensor) -> torch.Tensor:
    """Logits [B, T, vocab] of whole sequences ids [B, T] with causal attention:
    the cached model's math (opt.py) without the cache, batched, for training."""
    dec = model.model.decoder
    b, t = ids.shape
    x = dec.embed_tokens(ids) + dec.embed_positions(torch.arange(t) + POSITION_OFFSET)
    for layer in dec.layers:
        attn = layer.self_attn
        h = layer.self_attn_layer_norm(x)

        def heads(y):
            return y.view(b, t, attn.heads, attn.head_dim).transpose(1, 2)

        q = heads(attn.q_proj(h) * attn.scaling)
        out = F.scaled_dot_product_attention(q, heads(attn.k_proj(h)), heads(attn.v_proj(h)),
                                             is_causal=True, scale=1.0)
        x = x + attn.out_proj(out.transpose(1, 2).reshape(b, t, -1))
        x = x + layer.fc2(torch.relu(layer.fc1(layer.final_layer_norm(x))))
    return model.lm_head(dec.final_layer_norm(x))


def train(args) -> tuple[OPTForCausalLM, object, float]:
    """(model, tokenizer, final loss) for the arguments; deterministic for a seed."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    texts = documentation()
    tok = train_tokenizer(texts, args.vocab)
    eos = tok.token_to_id(EOS)
    stream = []
    for enc in tok.encode_batch(texts):
        stream += enc.ids + [eos]
    data = torch.tensor(stream)
    vocab = tok.get_vocab_size()
    cfg = OPTConfig(vocab_size=vocab, hidden_size=args.hidden, num_hidden_layers=args.layers,
                    num_attention_heads=args.heads, ffn_dim=4 * args.hidden,
                    max_position_embeddings=args.max_len, bos_token_id=eos, eos_token_id=eos,
                    pad_token_id=eos)
    model = OPTForCausalLM(cfg, max_len=args.max_len, last_logits_only=True,
                           fused_attention=True)
    for name, p in model.named_parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.02)
        elif name.endswith("bias"):
            torch.nn.init.zeros_(p)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(args.seed)
    seq = args.max_len
    loss = torch.tensor(float("nan"))
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * (1 - step / args.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(data) - seq - 1, (args.batch,), generator=gen)
        batch = torch.stack([data[s:s + seq + 1] for s in starts.tolist()])
        logits = sequence_logits(model, batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if args.log and (step % 50 == 0 or step == args.steps - 1):
            print(f"step {step:4d}: loss {loss.item():.3f}", flush=True)
    return model.eval(), tok, loss.item()


def check_cached_math(model: OPTForCausalLM, ids: list[int]) -> float:
    """The cached model's last logits equal sequence_logits' (relative to the largest)."""
    with torch.no_grad():
        model.reset_cache()
        x = torch.tensor([ids])
        cached = model(x, torch.arange(len(ids)))[0, -1]
        whole = sequence_logits(model, x)[0, -1]
        model.reset_cache()
    return float((cached - whole).abs().max() / whole.abs().max())


def parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tiny_opt_docs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--prefill", type=int, default=8)
    ap.add_argument("--quiet", dest="log", action="store_false")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    model, tok, loss = train(args)
    print(f"trained in {time.perf_counter() - t:.1f} s: loss {loss:.3f}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")
    tok.save(str(out / "tok.json"))
    write_tokenizer(out / "tok.json", out / "tok.ptok")
    error = check_cached_math(model, tok.encode("The for statement is used").ids)
    assert error < 1e-4, f"cached model differs from the training math by {error:.2e}"
    t = time.perf_counter()
    compiled = compile_llm(model, prefill_len=args.prefill)
    compiled.save(out / "model.pte")
    print(f"compiled in {time.perf_counter() - t:.1f} s: {out / 'model.pte'}, "
          f"{len(compiled.buffer):,} bytes; tokenizer {out / 'tok.ptok'}")
    text = ptec.generate(ptec.load(compiled.buffer), "The for statement", 40,
                             tokenizer=tok._tokenizer)
    print(f"ptec.llm.generate: The for statement{text}")
    return model, tok


if __name__ == "__main__":
    main()
