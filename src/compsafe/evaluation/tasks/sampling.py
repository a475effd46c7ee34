"""Seeded subsets of a task's documents: one owner, so every task draws the same way."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def seeded_indices(count: int, size: int | None, seed: int | str) -> list[int]:
    """Indices of `size` of `count` items drawn with `random.Random(seed)`, in original order.

    All indices when `size` is null, zero or not smaller than `count`. The draw is
    `sorted(random.Random(seed).sample(range(count), size))`: changing it would change every
    seeded subset a published result was computed on.
    """
    if not size or size >= count:
        return list(range(count))
    return sorted(random.Random(seed).sample(range(count), size))


def seeded_subset(items: Sequence[T], size: int | None, seed: int | str) -> list[T]:
    """The same `size` items for every model and config, kept in their original order."""
    return [items[i] for i in seeded_indices(len(items), size, seed)]
