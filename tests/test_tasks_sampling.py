"""The one seeded-subset helper every task draws with: pinned, so subsets never drift."""

from __future__ import annotations

import random

import pytest

from compsafe.evaluation.tasks import crows_pairs
from compsafe.evaluation.tasks.sampling import seeded_indices, seeded_subset


def test_draws_are_pinned():
    # Published results were computed on these subsets: a different draw would change them.
    assert seeded_indices(10, 3, 1234) == [0, 1, 7]
    assert seeded_indices(100, 5, "1234-gender") == [15, 46, 61, 76, 94]  # UnQover's seeds
    assert seeded_indices(50, 7, 3) == sorted(random.Random(3).sample(range(50), 7))


@pytest.mark.parametrize("size", [None, 0, 5, 9])
def test_no_subset_unless_smaller(size):
    assert seeded_indices(5, size, 1) == [0, 1, 2, 3, 4]


def test_subset_keeps_the_original_order():
    assert seeded_subset(list("abcdefghij"), 3, 1234) == ["a", "b", "h"]


def test_a_task_draws_through_the_helper():
    every = crows_pairs.load()["test"]["sent_more"]
    meta = {"compsafe": {crows_pairs.TASK: {"sample_size": 5, "seed": 7}}}
    chosen = crows_pairs.load(**meta)["test"]["sent_more"]
    assert chosen == [every[i] for i in seeded_indices(len(every), 5, 7)]


def test_a_stratified_draw_smaller_than_its_strata_keeps_its_size():
    """2 requests of a set with five risk areas are 2, not 2 plus every request of the three
    areas whose share is 0 (seeded_subset reads a size of 0 as "all"): `sample_size=2` once
    asked 650 of Do-Not-Answer's and HarmBench's requests."""
    from compsafe.evaluation.tasks.sampling import stratified_subset

    items = [{"set": "s", "area": f"a{i % 5}", "n": i} for i in range(100)]
    items += [{"set": "t", "area": "only", "n": i} for i in range(10)]
    for size in (1, 2, 4, 5, 7):
        drawn = stratified_subset(items, size, 3, "set", "area")
        assert sum(d["set"] == "s" for d in drawn) == size
        assert sum(d["set"] == "t" for d in drawn) == size
    assert len({d["area"] for d in stratified_subset(items, 2, 3, "set", "area")}) == 3
