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


def stratified_subset(items: Sequence[dict], size: int | None, seed: int, by: str, within: str):
    """`size` items of EVERY value of `by` (a request set: never pooled), spread evenly over
    that value's `within` values (its risk areas; the first ones in sorted order take the
    remainder), each part a seeded subset; all items when `size` is null. Original order kept."""
    if not size:
        return list(items)
    keep: set[int] = set()
    for value in dict.fromkeys(item[by] for item in items):
        strata: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            if item[by] == value:
                strata.setdefault(str(item[within]), []).append(i)
        names = sorted(strata)
        for n, name in enumerate(names):
            share = size // len(names) + (n < size % len(names))
            keep.update(seeded_subset(strata[name], share, f"{seed}:{value}:{name}"))
    return [items[i] for i in sorted(keep)]
