"""GPTQ (Frantar et al. 2023): quantize column by column, updating the rest to absorb the error."""

from compsafe.compression.base import register
from compsafe.compression.oneshot import build, import_class
from compsafe.compression.quantization import OneshotQuantization, config_groups, kv_cache_args


@register
class GPTQ(OneshotQuantization):
    name = "gptq"

    def recipe(self, spec):
        cls = import_class("llmcompressor.modifiers.quantization:GPTQModifier")
        return [
            build(
                cls,
                "compression.args",
                config_groups=config_groups(spec),
                ignore=list(spec.ignore),
                kv_cache_scheme=kv_cache_args(spec.kv_cache),
                **spec.quant.args,
            )
        ]
