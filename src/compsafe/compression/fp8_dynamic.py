"""FP8 W8A8, dynamic: E4M3 weights with one scale per output channel, input activations
quantized per token at run time (FP8_DYNAMIC: no calibration data)."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization


@register
class FP8Dynamic(FormatQuantization):
    name = "fp8_dynamic"
    preset = "FP8_DYNAMIC"
    weight_bits = 8
    needs_calibration = False
