"""The mid-size OPT of docs/llm.md's ptec-generate figures: vocab 512, hidden 256,
4 layers, 4 heads, FFN 1024, a 1024-position cache, random weights, prefill 8.

    .venv/bin/python examples/llm/make_mid_opt.py fused mid_fused.pte
    .venv/bin/python examples/llm/make_mid_opt.py masked mid.pte
    build/host/ptec-generate mid_fused.pte --prompt 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 --steps 64
"""
import sys

import torch

from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm

cfg = OPTConfig(vocab_size=512, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                ffn_dim=1024, max_position_embeddings=1024)
torch.manual_seed(0)
model = OPTForCausalLM(cfg, max_len=1024, last_logits_only=True,
                       fused_attention=sys.argv[1] == "fused").eval()
compile_llm(model, 8).save(sys.argv[2])
