"""ptec: PyTorch models to .pte programs for Arm edge devices."""
from .compiler import CompiledProgram, compile
from .errors import CompileError
from .runtime import load

__all__ = ["CompileError", "CompiledProgram", "compile", "load"]
