"""Aggregations as functions of per-item sums, so resampling works on sums, not on loops.

Every aggregation compsafe ships but UnQover's is a function of a few sums over the items
(a mean: the sum and the count; a token-weighted perplexity: the NLL and token sums; BBQ's bias
score: four counts). Written that way, a bootstrap or permutation resample is a weighted sum, a
matrix product over all resamples at once, and clusters of items are the sums of their members.
`aggregate(items) == finish(sum of components(item))` for each (a test checks it on real items).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Linear:
    """An aggregation through component sums: k numbers per item, a statistic of their sums."""

    components: Callable[[Any], tuple[float, ...]]  # one item (never None) -> k numbers
    finish: Callable[[np.ndarray], np.ndarray]  # sums (..., k) -> statistic (...)
    size: int  # k
    log_scale: bool = False  # a perplexity: a change is a ratio, read on the log scale

    def matrix(self, values: list[Any]) -> np.ndarray:
        """(n, k) components of the values; an item without a value (None) contributes zeros,
        which leaves it out of every sum, count included."""
        out = np.zeros((len(values), self.size))
        for i, value in enumerate(values):
            if value is not None:
                out[i] = self.components(value)
        return out

    def of(self, sums: np.ndarray) -> np.ndarray:
        """The statistic of component sums, NaN where it is not finite (a zero count)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(self.finish(np.asarray(sums, dtype=float)), dtype=float)
        return np.where(np.isfinite(out), out, np.nan)


def ratio(sums: np.ndarray, top: int = 0, bottom: int = 1) -> np.ndarray:
    return sums[..., top] / sums[..., bottom]
