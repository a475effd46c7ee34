"""Magnitude pruning, layer-wise: zero the smallest |W| of each targeted matrix.

Every linear map counts as its own layer: each `nn.Linear`, each GPT-2 `Conv1D` (N:M groups
along its inputs, its stored rows), and each expert's matrices of a fused MoE parameter.

Ours because llm-compressor's MagnitudePruningModifier only applies masks at training steps,
so in oneshot it prunes nothing. Needs no calibration data.
"""

from __future__ import annotations

from compsafe.compression.base import CompressionMethod, CompressionSpec, register
from compsafe.compression.layers import CONV1D, EXPERTS, LINEAR, target_matrices
from compsafe.compression.masks import layer_mask, n_m_mask


@register
class MagnitudePruning(CompressionMethod):
    name = "magnitude"
    handles = frozenset({LINEAR, CONV1D, EXPERTS})

    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        import torch

        with torch.no_grad():
            for matrix in target_matrices(model, spec.targets, spec.ignore):
                weight = matrix.weight  # an [out, in] view: the mask lands in the parameter
                scores = weight.abs().float()
                if spec.n_m:
                    keep = n_m_mask(scores, *spec.n_m)
                else:
                    keep = layer_mask(scores, spec.target_sparsity)
                weight.mul_(keep.to(weight.dtype))
