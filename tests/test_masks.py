"""Which weights a pruning method removes when scores tie: one fixed rule (lowest index first),
so the same weights give the same mask on every rerun, thread count and machine."""

from __future__ import annotations

import pytest
import torch

from compsafe.compression.masks import layer_mask, n_m_mask, row_mask


def stable_lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The rule spelled out: a stable sort of each row, its first k entries."""
    chosen = torch.zeros_like(scores, dtype=torch.bool)
    for row in range(scores.shape[0]):
        chosen[row, torch.sort(scores[row], stable=True).indices[:k]] = True
    return chosen


def tied_scores(*shape: int) -> torch.Tensor:
    """Scores with few distinct values, as |W| of a dequantized 4-bit checkpoint."""
    return torch.randint(0, 6, shape, generator=torch.Generator().manual_seed(0)).float()


def test_ties_are_pruned_lowest_index_first_by_hand():
    scores = torch.tensor([[3.0, 1.0, 1.0, 2.0, 1.0, 0.0]])
    assert row_mask(scores, 0.5).tolist() == [[True, False, False, True, True, False]]
    assert layer_mask(scores, 0.5).tolist() == [[True, False, False, True, True, False]]
    assert n_m_mask(torch.tensor([[1.0, 1.0, 1.0, 0.0]]), 2, 4).tolist() == [
        [True, True, False, False]
    ]


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.73, 1.0])
def test_row_and_layer_masks_follow_the_stable_rule(sparsity):
    scores = tied_scores(32, 96)
    pruned_per_row = int(96 * sparsity)
    assert torch.equal(~row_mask(scores, sparsity), stable_lowest(scores, pruned_per_row))
    flat = scores.flatten().unsqueeze(0)
    expected = ~stable_lowest(flat, round(sparsity * scores.numel())).view_as(scores)
    assert torch.equal(layer_mask(scores, sparsity), expected)


def test_n_m_keeps_the_lower_index_among_ties():
    scores = tied_scores(16, 64)
    keep = n_m_mask(scores, 2, 4)
    groups = scores.reshape(16, 16, 4)
    expected = torch.zeros_like(groups, dtype=torch.bool)
    for r in range(16):
        for g in range(16):
            expected[r, g, torch.sort(groups[r, g], descending=True, stable=True).indices[:2]] = 1
    assert torch.equal(keep, expected.view(16, 64))


def test_the_same_mask_on_every_rerun_and_thread_count():
    scores = tied_scores(64, 576)
    threads = torch.get_num_threads()
    masks = []
    try:
        for count in (1, threads, 1):
            torch.set_num_threads(count)
            masks.append((layer_mask(scores, 0.5), row_mask(scores, 0.5), n_m_mask(scores, 2, 4)))
    finally:
        torch.set_num_threads(threads)
    for mask in masks[1:]:
        assert all(torch.equal(a, b) for a, b in zip(masks[0], mask, strict=True))
