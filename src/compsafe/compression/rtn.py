"""Round-to-nearest weight quantization (min-max scales per group): the data-free baseline."""

from compsafe.compression.base import register
from compsafe.compression.quantization import OneshotQuantization, quantization_modifier
from compsafe.errors import ConfigError


@register
class RTN(OneshotQuantization):
    name = "rtn"
    needs_calibration = False

    def recipe(self, spec):
        if spec.quant.args:
            raise ConfigError("compression.args", dict(spec.quant.args), "rtn takes no arguments")
        return [quantization_modifier(spec)]
