"""AWQ (Lin et al. 2024): scale salient input channels by activation statistics, then quantize.

llm-compressor's AWQModifier only rescales; the QuantizationModifier after it quantizes. Runs on
CPU too (we turn off llm-compressor's pinned-memory cache, which CPU-only torch lacks).
"""

from compsafe.compression.base import register
from compsafe.compression.oneshot import build, import_class
from compsafe.compression.quantization import OneshotQuantization, quantization_modifier


@register
class AWQ(OneshotQuantization):
    name = "awq"

    def recipe(self, spec):
        cls = import_class("llmcompressor.modifiers.transform:AWQModifier")
        return [build(cls, "compression.args", **spec.quant.args), quantization_modifier(spec)]
