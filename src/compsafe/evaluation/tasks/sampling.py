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
            if share:  # fewer items than strata: the later ones get none (0 means all below)
                keep.update(seeded_subset(strata[name], share, f"{seed}:{value}:{name}"))
    return [items[i] for i in sorted(keep)]


def spread_subset(items: Sequence[dict], size: int | None, seed: int | str, by: str) -> list[dict]:
    """`size` items spread evenly over the values of `by` (a behaviour's rephrasings): each
    value keeps k of its items (all it has where it has fewer), k as large as `size` allows,
    and seeded-random values with more one more, to `size` in all; a seeded subset within
    each. All items when `size` is null. Original order kept. So best-of-k over a draw has
    one k for (nearly) every behaviour, not whatever a flat draw gave it."""
    if not size or size >= len(items):
        return list(items)
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(str(item[by]), []).append(i)
    names = sorted(groups)
    k = 0
    while sum(min(len(groups[n]), k + 1) for n in names) <= size:
        k += 1
    share = {n: min(len(groups[n]), k) for n in names}
    spare = [n for n in names if len(groups[n]) > k]
    for name in seeded_subset(spare, size - sum(share.values()), f"{seed}:{by}:extra"):
        share[name] += 1
    keep: list[int] = []
    for name in names:  # (a size of 0 would mean all of them to seeded_subset)
        if share[name]:
            keep += seeded_subset(groups[name], share[name], f"{seed}:{by}:{name}")
    return [items[i] for i in sorted(keep)]
