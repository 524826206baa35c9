"""ptec: PyTorch models to .pte programs for Arm edge devices."""
from . import quantize
from .compiler import CompiledProgram, compile
from .errors import CompileError
from .quant.config import A16W8, Int8
from .devtools.bundle import bundle
from .devtools.debug import debug
from .runtime import load
from .multimethod import compile_methods
from .llm import generate  # text or token generation with an LLM program (docs/llm.md)

__all__ = ["A16W8", "CompileError", "CompiledProgram", "Int8", "bundle", "compile", "compile_methods",
           "debug", "generate", "load", "quantize"]
