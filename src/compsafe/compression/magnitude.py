"""Magnitude pruning, layer-wise: zero the smallest |W| of each targeted layer.

Ours because llm-compressor's MagnitudePruningModifier only applies masks at training steps,
so in oneshot it prunes nothing. Needs no calibration data.
"""

from __future__ import annotations

from compsafe.compression.base import CompressionMethod, CompressionSpec, register
from compsafe.compression.layers import target_layers
from compsafe.compression.masks import layer_mask, n_m_mask


@register
class MagnitudePruning(CompressionMethod):
    name = "magnitude"

    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        import torch

        with torch.no_grad():
            for _, module in target_layers(model, spec.targets, spec.ignore):
                scores = module.weight.abs().float()
                if spec.n_m:
                    keep = n_m_mask(scores, *spec.n_m)
                else:
                    keep = layer_mask(scores, spec.target_sparsity)
                module.weight.mul_(keep.to(module.weight.dtype))
