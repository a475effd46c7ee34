"""Magnitude pruning, layer-wise: zero the smallest |W| of each targeted layer.

Ours because llm-compressor's MagnitudePruningModifier only applies masks at training steps,
so in oneshot it prunes nothing. Needs no calibration data.
"""

from __future__ import annotations

import torch

from compsafe.compression.base import CompressionMethod, CompressionSpec, register
from compsafe.compression.layers import target_layers
from compsafe.errors import ConfigError


def unstructured_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True where a weight is kept: all but the round(sparsity * numel) lowest scores."""
    num_pruned = round(sparsity * scores.numel())
    keep = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if num_pruned:
        lowest = torch.topk(scores.flatten(), num_pruned, largest=False).indices
        keep[lowest] = False
    return keep.view_as(scores)


def n_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """True where kept: the n highest scores of every m consecutive weights along the input dim."""
    rows, cols = scores.shape
    groups = scores.reshape(rows, cols // m, m)
    highest = torch.topk(groups, n, dim=-1).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, highest, True)
    return keep.view(rows, cols)


@register
class MagnitudePruning(CompressionMethod):
    name = "magnitude"

    @torch.no_grad()
    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        for name, module in target_layers(model, spec.targets, spec.ignore):
            weight = module.weight
            scores = weight.abs().float()
            if spec.n_m:
                n, m = spec.n_m
                if weight.shape[1] % m:
                    raise ConfigError(
                        "compression.pattern",
                        spec.pattern,
                        f"layer {name} has {weight.shape[1]} inputs, not a multiple of {m}",
                    )
                keep = n_m_mask(scores, n, m)
            else:
                keep = unstructured_mask(scores, spec.target_sparsity)
            weight.mul_(keep.to(weight.dtype))
