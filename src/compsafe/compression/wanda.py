"""Wanda (Sun et al. 2023): prune by |W| x ||X||, per output row, via llm-compressor."""

from compsafe.compression.base import register
from compsafe.compression.oneshot import OneshotPruning


@register
class Wanda(OneshotPruning):
    name = "wanda"
    modifier_path = "llmcompressor.modifiers.pruning:WandaPruningModifier"
