"""Integer quantization: TOSA 1.0 integer semantics, quantizer, lowering."""
