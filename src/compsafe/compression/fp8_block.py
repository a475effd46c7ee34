"""FP8 block (DeepSeek-V3 style): E4M3 weights with one scale per square block, activations
per token in groups of the same width, dynamic. The preset's side is 128; ours is
`compression.group_size` (the model's quant_group_size: 128 for Llama, 64 for SmolLM2)."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization


@register
class FP8Block(FormatQuantization):
    name = "fp8_block"
    preset = "FP8_BLOCK"
    weight_bits = 8
    needs_calibration = False
    group = "config"
    group_label = "b"

    def adjust(self, scheme, group_size):
        scheme.weights.block_structure = [group_size, group_size]
        scheme.input_activations.group_size = group_size
        return scheme
