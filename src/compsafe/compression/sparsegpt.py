"""SparseGPT (Frantar & Alistarh 2023): OBS pruning with weight updates, via llm-compressor."""

from compsafe.compression.base import register
from compsafe.compression.oneshot import OneshotPruning


@register
class SparseGPT(OneshotPruning):
    name = "sparsegpt"
    modifier_path = "llmcompressor.modifiers.pruning:SparseGPTModifier"
