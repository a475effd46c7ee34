"""W4A8: symmetric 4-bit integer weights in groups (`compression.group_size`), input
activations 8-bit integers per token, dynamic (compressed-tensors' W4A8 preset)."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization


@register
class W4A8(FormatQuantization):
    name = "w4a8"
    preset = "W4A8"
    weight_bits = 4
    needs_calibration = False
    group = "config"
    group_label = "g"

    def adjust(self, scheme, group_size):
        scheme.weights.group_size = group_size
        return scheme
