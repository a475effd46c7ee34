"""Which weights to keep, given a score per weight: the selection rules pruning methods share."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def layer_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True where kept: all but the round(sparsity * numel) lowest scores of the whole layer;
    among equal scores the lowest index is pruned first (see `_lowest`)."""
    num_pruned = round(sparsity * scores.numel())
    flat = scores.flatten().unsqueeze(0)
    return ~_lowest(flat, num_pruned).view_as(scores)


def row_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True where kept: the same share pruned in every output row (Wanda's comparison group);
    ties broken as in `layer_mask`."""
    return ~_lowest(scores, int(scores.shape[1] * sparsity))


def _lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """True at the k lowest scores of each row; among equal scores the lowest indices first.

    The same rule on every machine and thread count (topk's choice among ties is not fixed):
    the dequantized weights of a 4-bit checkpoint tie by the thousand. Linear in the row
    length: the k-th value, everything below it, then the first tied entries by index.
    """
    if k <= 0:
        return scores.new_zeros(scores.shape, dtype=bool)
    threshold = scores.kthvalue(k, dim=1, keepdim=True).values
    chosen = scores < threshold
    missing = k - chosen.sum(dim=1, keepdim=True)  # how many ties at the threshold to take
    tied = scores == threshold
    return chosen | (tied & (tied.cumsum(dim=1) <= missing))


def n_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """True where kept: the n highest scores of every m consecutive weights along the input
    dim; among equal scores the lower index is kept (a stable sort)."""
    rows, cols = scores.shape
    groups = scores.reshape(rows, cols // m, m)
    order = groups.sort(dim=-1, descending=True, stable=True).indices
    keep = groups.new_zeros(groups.shape, dtype=bool).scatter_(-1, order[..., :n], True)
    return keep.view(rows, cols)


def n_m_violations(weight: torch.Tensor, n: int, m: int) -> int:
    """How many groups of m consecutive input weights hold more than n non-zeros."""
    rows, cols = weight.shape
    if cols % m:
        return -1
    nonzeros = (weight != 0).reshape(rows, cols // m, m).sum(-1)
    return int((nonzeros > n).sum())
