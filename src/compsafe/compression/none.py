"""The dense baseline: nothing changes."""

from compsafe.compression.base import CompressionMethod, register


@register
class NoCompression(CompressionMethod):
    name = "none"
    prunes = False

    def apply(self, model, spec, calibration=None, tokenizer=None) -> None:
        return None
