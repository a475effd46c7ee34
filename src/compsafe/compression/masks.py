"""Which weights to keep, given a score per weight: the selection rules pruning methods share."""

from __future__ import annotations

import torch


def layer_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True where kept: all but the round(sparsity * numel) lowest scores of the whole layer."""
    num_pruned = round(sparsity * scores.numel())
    keep = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if num_pruned:
        keep[torch.topk(scores.flatten(), num_pruned, largest=False).indices] = False
    return keep.view_as(scores)


def row_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True where kept: the same share pruned in every output row (Wanda's comparison group)."""
    num_pruned = int(scores.shape[1] * sparsity)
    keep = torch.ones_like(scores, dtype=torch.bool)
    if num_pruned:
        lowest = torch.topk(scores, num_pruned, dim=1, largest=False).indices
        keep.scatter_(1, lowest, False)
    return keep


def n_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """True where kept: the n highest scores of every m consecutive weights along the input dim."""
    rows, cols = scores.shape
    groups = scores.reshape(rows, cols // m, m)
    highest = torch.topk(groups, n, dim=-1).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, highest, True)
    return keep.view(rows, cols)


def n_m_violations(weight: torch.Tensor, n: int, m: int) -> int:
    """How many groups of m consecutive input weights hold more than n non-zeros."""
    rows, cols = weight.shape
    if cols % m:
        return -1
    nonzeros = (weight != 0).reshape(rows, cols // m, m).sum(-1)
    return int((nonzeros > n).sum())
