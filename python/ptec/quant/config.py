"""Quantization configurations: what the user asks for, and the PT2E specs it means.

    ptec.Int8(calibration=batches)      int8 activations,  int8 weights, int32 bias
    ptec.A16W8(calibration=batches)     int16 activations, int8 weights, int32 bias

Activations are quantized per tensor and symmetrically (zero point 0), so
the integer kernels never subtract an activation zero point; weights per
output channel and symmetrically with the range [-127, 127] (so that
-w is representable and TOSA, CMSIS-NN and the Ethos-U agree); biases to
int32 with scale s_input * s_weight[c] (zero point 0), which is the scale of
the integer accumulator they are added to.

A16W8 keeps int32 biases too: TOSA 1.0 adds an i48 bias to the i48
accumulator of an int16 x int8 convolution, and an int32 bias widens to i48
exactly; quantized_decomposed has no int64 quantization, so a bias is int32
either way. A bias that does not fit saturates at +-(2^31 - 1): with int16
activations that takes |bias[c]| > ~516 * max|input| * max|weight[c]|.

This module imports torchao only when specs are built (`quantization_specs`):
`import ptec` stays fast.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch

#: Activation dtypes by name, with their quantized ranges (symmetric: zero point 0).
ACTIVATION_DTYPES: dict[str, tuple[torch.dtype, int, int]] = {
    "int8": (torch.int8, -128, 127),
    "int16": (torch.int16, -32768, 32767),
}

#: Per-channel int8 weights: [-127, 127], symmetric.
WEIGHT_DTYPE, WEIGHT_QMIN, WEIGHT_QMAX = torch.int8, -127, 127

#: int32 biases, symmetric range as ExecuTorch's Arm quantizer uses.
BIAS_DTYPE, BIAS_QMIN, BIAS_QMAX = torch.int32, -(2**31 - 1), 2**31 - 1

#: Smallest scale an observer may choose. int8 uses ExecuTorch's Arm value
#: (2^-16); int16 the same smallest representable range, 2^-16 * 127.5 / 32767.5
#: ~ 2^-24. Tiny scales would make requantization factors too large for
#: TOSA's multiplier/shift (ptec.quant.tosa_math.compute_multiplier_and_shift).
ACTIVATION_EPS = {"int8": 2.0**-16, "int16": 2.0**-24}
WEIGHT_EPS = 2.0**-16

OBSERVERS = ("histogram", "minmax")


@dataclass
class Int8:
    """Static post-training quantization to int8 (the default) or int16 activations.

    calibration: an iterable of model inputs, each a tuple of tensors (or one
        tensor); the observers see every item once. None: calibrate on the
        example inputs given to ptec.compile (only good enough for a smoke test).
    activations: "int8" or "int16" (that is A16W8).
    per_channel: weights per output channel (True) or per tensor.
    observer: "histogram" (minimises the quantization error over a histogram
        of the values; ExecuTorch's Arm default) or "minmax" (the observed
        range; faster, sensitive to outliers).
    """
    calibration: Iterable[Any] | None = field(default=None, repr=False, compare=False)
    activations: str = "int8"
    per_channel: bool = True
    observer: str = "histogram"
    #: Softmax, log_softmax, layer norm and GLU as chains of TOSA-expressible
    #: integer ops, each quantized on its own (ptec.quant.decompose), so that
    #: they run in a TOSA or NPU delegate; False keeps ptec's exact fused
    #: kernels (CPU only). None: the target decides (for_target).
    tosa_friendly: bool | None = None
    #: Per-layer int16 activations (ptec.quant.mixed): "auto" measures each
    #: layer's int8 error on the calibration data and switches the layers below
    #: a16w8_threshold_db; a list of module paths switches those. None: every
    #: layer has `activations`.
    a16w8: str | Sequence[str] | None = None
    a16w8_threshold_db: float = 40.0
    #: A layer is a module at this depth of the module tree ("layers.0.attn": 3).
    a16w8_depth: int = 3
    #: int16 x int16 matrix products of two activations in int16 layers (TOSA
    #: MATMUL has them: int48 accumulator, scale16 RESCALE; the host kernel is
    #: ptec::quantized_matmul16); False keeps them int8.
    a16w8_matmul: bool = True

    def __post_init__(self) -> None:
        if self.activations not in ACTIVATION_DTYPES:
            raise ValueError(f"activations must be one of {sorted(ACTIVATION_DTYPES)}, "
                             f"got {self.activations!r}")
        if self.a16w8 is not None:
            if isinstance(self.a16w8, str) and self.a16w8 != "auto":
                raise ValueError(f'a16w8 must be "auto" or a list of module paths, '
                                 f"got {self.a16w8!r}")
            if self.activations != "int8":
                raise ValueError("a16w8 chooses int16 layers of an int8 model: "
                                 "use it with activations='int8'")
        if self.observer not in OBSERVERS:
            raise ValueError(f"observer must be one of {OBSERVERS}, got {self.observer!r}")

    @property
    def name(self) -> str:
        """"int8", "a16w8" or "int8+a16w8" (per layer): the scheme, for reports and file names."""
        if self.a16w8 is not None:
            return "int8+a16w8"
        return "int8" if self.activations == "int8" else "a16w8"

    def for_target(self, tosa: bool) -> "Int8":
        """This configuration with tosa_friendly resolved for a target that
        delegates to TOSA (or an NPU) or not; an explicit choice stays."""
        if self.tosa_friendly is not None:
            return self
        import dataclasses
        return dataclasses.replace(self, tosa_friendly=tosa)

    def quantization_specs(self, activations: str | None = None) -> "QuantizationSpecs":
        return _specs(activations or self.activations, self.per_channel, self.observer)


@dataclass
class A16W8(Int8):
    """int16 activations, int8 per-channel weights, int32 bias."""
    activations: str = "int16"


@dataclass(frozen=True)
class QuantizationSpecs:
    """The PT2E specs of a configuration (bias specs are derived per node)."""
    activation: Any   # torchao QuantizationSpec
    weight: Any       # torchao QuantizationSpec
    per_channel: bool


def import_torchao() -> None:
    """Imports torchao's PT2E modules, without the warnings its import logs
    about optional CUDA kernels that cannot load on this machine."""
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        import torchao.quantization.pt2e.quantize_pt2e  # noqa: F401
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _specs(activations: str, per_channel: bool, observer: str) -> QuantizationSpecs:
    import_torchao()
    from torchao.quantization.pt2e import (
        HistogramObserver,
        MinMaxObserver,
        PerChannelMinMaxObserver,
    )
    from torchao.quantization.pt2e.quantizer import QuantizationSpec

    dtype, qmin, qmax = ACTIVATION_DTYPES[activations]
    act_observer = HistogramObserver if observer == "histogram" else MinMaxObserver
    activation = QuantizationSpec(
        dtype=dtype, quant_min=qmin, quant_max=qmax, qscheme=torch.per_tensor_symmetric,
        observer_or_fake_quant_ctr=act_observer.with_args(eps=ACTIVATION_EPS[activations]))
    weight_observer = PerChannelMinMaxObserver if per_channel else MinMaxObserver
    weight = QuantizationSpec(
        dtype=WEIGHT_DTYPE, quant_min=WEIGHT_QMIN, quant_max=WEIGHT_QMAX,
        qscheme=torch.per_channel_symmetric if per_channel else torch.per_tensor_symmetric,
        ch_axis=0 if per_channel else None,
        observer_or_fake_quant_ctr=weight_observer.with_args(eps=WEIGHT_EPS))
    return QuantizationSpecs(activation, weight, per_channel)
