"""8-bit weights, LLM.int8-style: symmetric absmax scales per output row (vector-wise).

On every device this is 8-bit weight-only quantization (W8A16) through llm-compressor; it does
not reproduce LLM.int8's fp16 outlier decomposition of activations (a bitsandbytes CUDA kernel).
"""

from compsafe.compression.base import register
from compsafe.compression.quantization import OneshotQuantization, quantization_modifier
from compsafe.errors import ConfigError


@register
class Int8(OneshotQuantization):
    name = "int8"
    needs_calibration = False
    fixed = {"bits": 8, "group_size": None, "symmetric": True}

    def recipe(self, spec):
        if spec.quant.args:
            raise ConfigError("compression.args", dict(spec.quant.args), "int8 takes no arguments")
        return [quantization_modifier(spec)]
