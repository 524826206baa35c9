"""Compiler steps for application CPUs (x86-64, AArch64): weight packing."""
from .pack_f32 import pack_f32_conv_weights
from .pack_sdot import pack_conv_weights_sdot
from .pack_weights import pack_conv_weights

__all__ = ["pack_conv_weights", "pack_conv_weights_sdot", "pack_f32_conv_weights"]
