"""Decode tokens/s with the KV cache written in place (aten::index_copy.out into
the state) or as ExecuTorch's default lowering does (index_put into a new tensor,
then a copy back): OPT with hidden 256, 4 layers, a 1024-position cache (8 MB).

    .venv/bin/python examples/llm/cache_write_speed.py inplace
    .venv/bin/python examples/llm/cache_write_speed.py copy
"""
import sys, time, torch, ptec, ptec.export
from ptec.llm import OPTConfig, OPTForCausalLM, compile_llm, generate_greedy
from ptec.llm.program import program_step
if sys.argv[1] == "copy":
    ptec.export.write_state_in_place = lambda gm: None
cfg = OPTConfig(vocab_size=512, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, ffn_dim=1024, max_position_embeddings=1024)
torch.manual_seed(0)
m = OPTForCausalLM(cfg, max_len=1024, last_logits_only=True).eval()
c = compile_llm(m, 8)
p = ptec.load(c.buffer)
prompt = list(range(8))
generate_greedy(program_step(p), prompt, 2, 8); p.reset()
t = time.perf_counter(); generate_greedy(program_step(p), prompt, 64, 8); dt = time.perf_counter() - t
ops = [o.qualified_name for o in c.program.execution_plan[1].operators]
print(sys.argv[1], f"{64/dt:.1f} tok/s", "index_copy" in str(ops), "index_put" in str(ops))
