"""The dense baseline: nothing changes."""

from compsafe.compression.base import NONE, CompressionMethod, register


@register
class NoCompression(CompressionMethod):
    name = "none"
    kind = NONE

    def apply(self, model, spec, calibration=None, tokenizer=None) -> None:
        return None
