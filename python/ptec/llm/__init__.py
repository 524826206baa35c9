"""Language models for ptec: OPT with a static KV cache, compilation into a
prefill + decode program, and greedy generation (docs/llm.md)."""
from .opt import OPTConfig, OPTForCausalLM, TINY
from .program import compile_llm, generate, generate_greedy
from .quantize import quantize_weights

__all__ = ["OPTConfig", "OPTForCausalLM", "TINY", "compile_llm", "generate", "generate_greedy",
           "quantize_weights"]
