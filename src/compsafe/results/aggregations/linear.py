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
    # For aggregations over groups of items (UnQover: a question's two subject orders): the
    # number of items a resampling unit must hold, a transform of each unit's sums (applied
    # before resampling), and a builder of the form for the items at hand (its components
    # are indexed by what the items are about).
    unit_size: int | None = None
    unit: Callable[[np.ndarray], np.ndarray] | None = None
    fit: Callable[[list[Any]], Linear] | None = None
    # A ratio of two counts that is a share of items (BBQ's accuracy in ambiguous contexts:
    # the correct among the ambiguous questions): (the component counting the items in the
    # share's numerator, the one counting those it is over), both 0 or 1 per item.
    share: tuple[int, int] | None = None
    # A statistic that is scale x a share + offset, where the model decides whom the share is
    # over (BBQ's disambiguated bias score: 2 x the biased among the answered - 1; best-of-k:
    # the behaviours broken among those asked): unit sums (units, k) -> (the share's
    # successes, its trials) per unit, and (scale, offset). Its value interval is at least the
    # share's, mapped; its change stays the ratio's (each job its own denominator).
    unit_share: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    share_scale: tuple[float, float] = (1.0, 0.0)

    def share_item(self, value: Any) -> float | None:
        """An item of a `share` as a 0/1 item: its numerator component, or None where the
        share does not count it (a disambiguated question in an ambiguous-context accuracy)."""
        if value is None or self.share is None:
            return None
        parts = self.components(value)
        top, bottom = self.share
        return float(parts[top]) if parts[bottom] else None

    def fitted(self, values: list[Any]) -> Linear:
        """The form for these values (itself unless it is built from them)."""
        return self.fit(values) if self.fit else self

    def unit_sums(self, values: list[Any], units) -> np.ndarray | None:
        """(units, k) sums of each unit's components (transformed per unit where the
        aggregation says so); None when the units are not the ones the form needs."""
        if self.unit_size and any(len(u) != self.unit_size for u in units):
            return None
        per_item = self.matrix(values)
        sums = np.stack([per_item[list(u)].sum(axis=0) for u in units])
        return self.unit(sums) if self.unit else sums

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
