"""Uncertainty from per-item outputs: bootstrap intervals and paired tests against dense.

A metric is recomputed from the items a job kept (`items/<task>.jsonl`) with the task's own
aggregation (read from its lm-eval YAML), on resamples of the items. Compressed and dense
configs are compared on the same documents (matched by content, see `report.items`), resampled
jointly: the change is significant when its 95 % interval excludes zero. A task whose YAML
declares `metadata.resample_by` is resampled by whole clusters of items sharing that document
field (UnQover's mu and eta need both subject orders of a question), for both uses.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from compsafe.report.items import Items, pair, read_items
from compsafe.report.tasks import (
    ITEM_AGGREGATIONS,
    Aggregation,
    task_aggregations,
)

__all__ = [
    "ITEM_AGGREGATIONS",
    "Aggregation",
    "Items",
    "Resampled",
    "Resampler",
    "bootstrap_interval",
    "paired_difference",
    "read_items",
    "significant",
    "task_aggregations",
]

Units = tuple[tuple[int, ...], ...]  # what one draw picks: clusters of positions into the values
_CACHED_DRAWS = 1_000_000  # index matrices up to this size are drawn once and reused


def clusters(labels: Sequence[Hashable]) -> Units:
    """Positions grouped by label, clusters in order of first appearance."""
    index: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        index.setdefault(label, []).append(i)
    return tuple(tuple(members) for members in index.values())


@lru_cache(maxsize=32)
def _draw_matrix(n: int, iterations: int, seed: int) -> np.ndarray:
    """The draws of `_draws`, kept: every metric and group of the same size reuses them."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, n, n) for _ in range(iterations)]).astype(np.int32)


def _draws(n: int, iterations: int, seed: int) -> Iterable[np.ndarray]:
    """`iterations` draws of n indices with replacement, one `integers` call each (seeded, so
    the same seed and size give the same draws, whatever the metric)."""
    if n * iterations <= _CACHED_DRAWS:
        return _draw_matrix(n, iterations, seed)
    rng = np.random.default_rng(seed)
    return (rng.integers(0, n, n) for _ in range(iterations))


def _number(value: Any) -> float:
    """A statistic as a float, NaN when not finite (a resample can divide by zero)."""
    number = float(value)
    return number if math.isfinite(number) else math.nan


def _mean_of_draws(values: Sequence[Any], draws: Iterable[np.ndarray]) -> np.ndarray | None:
    """lm-eval's `mean` of every draw at once: a running sum, added in the order `sum()` adds
    (so the same numbers as calling it per draw); None where the values are not plain numbers."""
    if not isinstance(draws, np.ndarray):
        return None
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.ndim != 1:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        means = np.cumsum(array[draws], axis=1)[:, -1] / draws.shape[1]
    return np.where(np.isfinite(means), means, np.nan)


def _is_mean(aggregate: Aggregation) -> bool:
    return getattr(aggregate, "__module__", "") == "lm_eval.api.metrics" and (
        getattr(aggregate, "__name__", "") == "mean"
    )


def resample_stats(
    values: Sequence[Any], aggregate: Aggregation, units: Units | None, iterations: int, seed: int
) -> np.ndarray:
    """The statistic on each resample (NaN where not finite): draws of single items, or of
    whole units (clusters) when given."""
    if units is None:
        draws = _draws(len(values), iterations, seed)
        fast = _mean_of_draws(values, draws) if _is_mean(aggregate) else None
        if fast is not None:
            return fast
        return np.array([_number(aggregate([values[i] for i in d.tolist()])) for d in draws])
    draws = _draws(len(units), iterations, seed)
    return np.array(
        [_number(aggregate([values[i] for c in d.tolist() for i in units[c]])) for d in draws]
    )


def percentile_interval(stats: np.ndarray) -> tuple[float, float] | None:
    """95 % percentile interval of the finite statistics; None when more than half are not."""
    finite = stats[np.isfinite(stats)]
    if len(finite) < len(stats) // 2:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_interval(
    values: Sequence[Any],
    aggregate: Aggregation,
    iterations: int = 1000,
    seed: int = 0,
    units: Units | None = None,
) -> tuple[float, float] | None:
    """95 % percentile interval of `aggregate` over resamples (with replacement) of the items,
    or of whole clusters of them (`units`)."""
    if len(values) < 2 or (units is not None and len(units) < 2):
        return None
    return percentile_interval(resample_stats(values, aggregate, units, iterations, seed))


@dataclass
class Resampler:
    """Intervals and paired changes on items, each resample statistic computed once: a row's
    own interval and its change vs dense draw the same resamples, so they are shared."""

    iterations: int = 1000
    seed: int = 0
    _memo: dict[tuple, np.ndarray | None] = field(default_factory=dict, repr=False)

    @staticmethod
    def units(items: Items, positions: Sequence[int], by: str | None) -> Units | None:
        """Clusters of `positions` sharing the document field `by` (single items when None);
        None when some document lacks the field (items written before it existed)."""
        if by is None:
            return tuple((i,) for i in range(len(positions)))
        if not items.docs or any(by not in items.docs[p] for p in positions):
            return None
        return clusters([_hashable(items.docs[p][by]) for p in positions])

    def stats(
        self,
        items: Items,
        metric: str,
        positions: Sequence[int],
        aggregate: Aggregation,
        by: str | None,
    ) -> np.ndarray | None:
        """The resample statistics of `metric` on the items at `positions` (memoised)."""
        key = (id(items), metric, tuple(positions), by, id(aggregate))
        if key not in self._memo:
            units = self.units(items, positions, by)
            if units is None or len(units) < 2:
                self._memo[key] = None
            else:
                values = [items.values[metric][p] for p in positions]
                flat = None if by is None else units  # single items: the one-index draws
                self._memo[key] = resample_stats(
                    values, aggregate, flat, self.iterations, self.seed
                )
        return self._memo[key]

    def interval(
        self,
        items: Items,
        metric: str,
        positions: Sequence[int],
        aggregate: Aggregation,
        by: str | None,
    ) -> tuple[float, float] | None:
        """95 % interval of `metric` on the items at `positions` (None: too few, or no units)."""
        stats = self.stats(items, metric, positions, aggregate, by)
        return None if stats is None else percentile_interval(stats)

    def change_stats(
        self,
        ours: Items,
        dense: Items,
        pairs: Sequence[tuple[int, int]],
        metric: str,
        aggregate: Aggregation,
        by: str | None = None,
    ) -> Resampled | None:
        """Ours minus dense on the paired items and on each joint resample of them (whole
        clusters when `by`: both jobs hold the same documents, so the same clusters)."""
        if metric not in ours.values or metric not in dense.values:
            return None
        pairs = [(i, j) for i, j in pairs if ours.values[metric][i] is not None]
        pairs = [(i, j) for i, j in pairs if dense.values[metric][j] is not None]
        if len(pairs) < 2:
            return None
        a, b = [i for i, _ in pairs], [j for _, j in pairs]
        difference = _number(
            float(aggregate([ours.values[metric][i] for i in a]))
            - float(aggregate([dense.values[metric][j] for j in b]))
        )
        mine, theirs = (
            self.stats(ours, metric, a, aggregate, by),
            self.stats(dense, metric, b, aggregate, by),
        )
        if math.isnan(difference) or mine is None or theirs is None:
            return None
        with np.errstate(invalid="ignore"):
            stats = mine - theirs
        units = self.units(ours, a, by)
        return Resampled(difference, stats, len(pairs), len(units) if units else len(pairs))

    def change(
        self,
        ours: Items,
        dense: Items,
        pairs: Sequence[tuple[int, int]],
        metric: str,
        aggregate: Aggregation,
        by: str | None = None,
    ) -> tuple[float, float, float] | None:
        """(difference, low, high): ours minus dense on the paired items, jointly resampled."""
        resampled = self.change_stats(ours, dense, pairs, metric, aggregate, by)
        return None if resampled is None else resampled.interval()


@dataclass(frozen=True)
class Resampled:
    """A change vs dense: its value, its resample distribution, what it rests on."""

    difference: float
    stats: np.ndarray
    items: int  # paired items
    units: int  # resampled units: items, or clusters of them

    def interval(self) -> tuple[float, float, float] | None:
        """(difference, low, high): the 95 % percentile interval of the change."""
        interval = percentile_interval(self.stats)
        return None if interval is None else (self.difference, *interval)


def _hashable(value: Any) -> Hashable:
    """A document field's value as a cluster label (lists read back from json are not hashable)."""
    return tuple(value) if isinstance(value, list) else value


def paired_difference(
    ours: Items,
    dense: Items,
    metric: str,
    aggregate: Aggregation,
    iterations: int = 1000,
    seed: int = 0,
    resample_by: str | None = None,
) -> tuple[float, float, float] | None:
    """(difference, low, high): ours minus dense, jointly resampled; None when the two jobs did
    not score the same documents (see `report.items.pair`)."""
    pairing = pair(ours, dense)
    return Resampler(iterations, seed).change(
        ours, dense, pairing.pairs, metric, aggregate, resample_by
    )


def significant(interval: tuple[float, float, float] | None) -> bool:
    """The change's 95 % interval excludes zero."""
    return interval is not None and (interval[1] > 0 or interval[2] < 0)
