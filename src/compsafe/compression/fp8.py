"""FP8 W8A8, static: E4M3 weights (one scale per tensor) and E4M3 input activations with one
scale per tensor calibrated on the calibration set (compressed-tensors' FP8 preset)."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization


@register
class FP8(FormatQuantization):
    name = "fp8"
    preset = "FP8"
    weight_bits = 8
