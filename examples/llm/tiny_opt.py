"""A tiny OPT (random weights) compiled to one .pte with prefill + decode sharing
its KV cache, then greedy generation through ptec's C runtime and PyTorch eager.

    .venv/bin/python examples/llm/tiny_opt.py [--out tiny_opt.pte] [--steps 32]
        [--layers 2] [--hidden 64] [--heads 4] [--vocab 512] [--max-len 64]

Prints the tokens of both, the worst logits difference and decode tokens/s.
"""
import argparse
import time

import torch

import ptec
from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm, generate_greedy
from ptec.llm.program import model_step, program_step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tiny_opt.pte")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--prefill", type=int, default=8)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--max-len", type=int, default=64)
    args = ap.parse_args()
    cfg = OPTConfig(vocab_size=args.vocab, hidden_size=args.hidden,
                    num_hidden_layers=args.layers, num_attention_heads=args.heads,
                    ffn_dim=4 * args.hidden, max_position_embeddings=max(args.max_len, 128))
    torch.manual_seed(0)
    model = OPTForCausalLM(cfg, max_len=args.max_len, last_logits_only=True).eval()
    for p in model.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.3)
    t = time.perf_counter()
    compiled = compile_llm(model, prefill_len=args.prefill)
    compiled.save(args.out)
    print(f"compiled in {time.perf_counter() - t:.1f} s: {args.out}, {len(compiled.buffer):,} bytes")
    prompt = torch.randint(0, cfg.vocab_size, (args.prefill,)).tolist()
    program = ptec.load(compiled.buffer)
    results = {}
    for name, step in (("ptec", program_step(program)), ("eager", model_step(model))):
        t = time.perf_counter()
        results[name] = generate_greedy(step, prompt, args.steps, args.prefill)
        secs = time.perf_counter() - t
        print(f"{name:5s}: {args.steps / secs:8.1f} tokens/s (prefill + {args.steps} steps), "
              f"tokens {results[name][0]}")
    worst = max(float((a - b).abs().max() / b.abs().max())
                for a, b in zip(results["ptec"][1], results["eager"][1]))
    print(f"same tokens: {results['ptec'][0] == results['eager'][0]}; "
          f"worst logits error {worst:.2e} of max |logit|")


if __name__ == "__main__":
    main()
