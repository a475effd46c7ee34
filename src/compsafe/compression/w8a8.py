"""INT8 W8A8 with SmoothQuant (Xiao et al. 2023): activation outliers migrated into the weights
(`compression.args` go to SmoothQuantModifier), then symmetric 8-bit weights per output channel
(round-to-nearest) and 8-bit input activations per token, dynamic."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization
from compsafe.compression.oneshot import build, import_class


@register
class W8A8(FormatQuantization):
    name = "w8a8"
    preset = "W8A8"
    weight_bits = 8

    def recipe(self, spec):
        smooth = build(
            import_class("llmcompressor.modifiers.transform:SmoothQuantModifier"),
            "compression.args",
            **spec.quant.args,
        )
        return [smooth, self.quantization_modifier(spec, {})]
