"""ptec.quantize: post-training quantization for users who calibrate themselves.

    prepared = ptec.quantize.prepare(model, example_inputs, ptec.Int8())
    for batch in data: prepared(*batch)            # or ptec.quantize.calibrate
    converted = ptec.quantize.convert(prepared)
    program = ptec.compile(converted, example_inputs)

See docs/quantization.md; the implementation is in ptec.quant.
"""
from .quant.config import A16W8, Int8
from .quant.flow import calibrate, convert, prepare, quantize

__all__ = ["A16W8", "Int8", "calibrate", "convert", "prepare", "quantize"]
