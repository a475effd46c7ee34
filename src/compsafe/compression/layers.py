"""Which layers a spec targets, and how sparse they are: the same matcher llm-compressor uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def target_layers(
    model: torch.nn.Module, targets: Iterable[str], ignore: Iterable[str]
) -> Iterator[tuple[str, torch.nn.Module]]:
    """(name, module) of every targeted module that has a 2-D weight."""
    import torch
    from compressed_tensors.utils import match_named_modules

    for name, module in match_named_modules(model, list(targets), list(ignore)):
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.dim() == 2:
            yield name, module


def measure_sparsity(
    model: torch.nn.Module, targets: Iterable[str], ignore: Iterable[str]
) -> dict[str, float | int]:
    """Share of exact zeros over the targeted weights, overall and its per-layer min/max."""
    zeros = total = 0
    per_layer = []
    for _, module in target_layers(model, targets, ignore):
        weight = module.weight.detach()
        layer_zeros = int((weight == 0).sum())
        zeros, total = zeros + layer_zeros, total + weight.numel()
        per_layer.append(layer_zeros / weight.numel())
    if not total:
        return {
            "measured_sparsity": 0.0,
            "layers": 0,
            "min_layer_sparsity": 0.0,
            "max_layer_sparsity": 0.0,
            "targeted_weights": 0,
        }
    return {
        "measured_sparsity": zeros / total,
        "min_layer_sparsity": min(per_layer),
        "max_layer_sparsity": max(per_layer),
        "layers": len(per_layer),
        "targeted_weights": total,
    }
