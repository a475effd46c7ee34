"""The one bootstrap engine: every interval and paired change of the report is drawn here.

A metric is recomputed from the items a job kept with the aggregation its record names, on
resamples of the items: single items, or whole clusters of items sharing a document field
(`resample_by`: UnQover's two subject orders of a question). A compressed config and dense are
compared on the same documents, resampled jointly (the same draws for both), so a row's own
interval and its change vs dense share their resample statistics. A config run with several
calibration seeds is resampled in two stages: seeds with replacement, then one draw of the
documents shared by the drawn seeds (they all scored the same documents). Draws depend only on
the bootstrap seed and the number of units, so every metric of the same size reuses them.
One rule decides when too few resamples are finite for any inference (`finite`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from compsafe.results.aggregations import Aggregation, common
from compsafe.results.items import Items

Units = tuple[tuple[int, ...], ...]  # what one draw picks: clusters of positions into the values
Draws = np.ndarray | list[np.ndarray]  # per resample, the positions it drew
_CACHED_DRAWS = 1_000_000  # index matrices up to this size are drawn once and reused


def clusters(labels: Sequence[Hashable]) -> Units:
    """Positions grouped by label, clusters in order of first appearance."""
    index: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        index.setdefault(label, []).append(i)
    return tuple(tuple(members) for members in index.values())


def singles(n: int) -> Units:
    return tuple((i,) for i in range(n))


def finite(stats: np.ndarray) -> np.ndarray | None:
    """The finite resample statistics; None when fewer than two, or fewer than half of the
    resamples, are finite (then no interval and no test)."""
    kept = stats[np.isfinite(stats)]
    return None if len(kept) < 2 or len(kept) < len(stats) // 2 else kept


def percentile_interval(stats: np.ndarray) -> tuple[float, float] | None:
    """95 % percentile interval of the finite statistics."""
    kept = finite(stats)
    if kept is None:
        return None
    low, high = np.percentile(kept, [2.5, 97.5])
    return float(low), float(high)


def standard_error(stats: np.ndarray) -> float | None:
    """The bootstrap SE: the standard deviation of the finite resample statistics."""
    kept = finite(stats)
    return None if kept is None else float(np.std(kept, ddof=1))


@lru_cache(maxsize=32)
def _index_matrix(n: int, iterations: int, bootstrap_seed: int) -> np.ndarray:
    """`iterations` draws of n indices with replacement, one `integers` call each."""
    rng = np.random.default_rng(bootstrap_seed)
    return np.stack([rng.integers(0, n, n) for _ in range(iterations)]).astype(np.int32)


def index_draws(n: int, iterations: int, bootstrap_seed: int) -> Iterable[np.ndarray]:
    """The draws of n units: a kept matrix when small, else the same draws one by one."""
    if n * iterations <= _CACHED_DRAWS:
        return _index_matrix(n, iterations, bootstrap_seed)
    rng = np.random.default_rng(bootstrap_seed)
    return (rng.integers(0, n, n) for _ in range(iterations))


def _number(value: Any) -> float:
    """A statistic as a float, NaN when not finite (a resample can divide by zero)."""
    number = float(value)
    return number if math.isfinite(number) else math.nan


def _fast_mean(values: Sequence[Any], draws: Draws) -> np.ndarray | None:
    """lm-eval's `mean` of every draw at once, items without a value left out: running sums in
    the order `sum()` adds (so the same numbers as calling it per draw); None where the values
    are not plain numbers or the draws differ in length."""
    if not isinstance(draws, np.ndarray):
        return None
    try:
        array = np.array([np.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError):
        return None
    if array.ndim != 1:
        return None
    present = ~np.isnan(array)[draws] if any(v is None for v in values) else None
    picked = array[draws] if present is None else np.where(present, array[draws], 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        sums = np.cumsum(picked, axis=1)[:, -1]
        means = sums / (draws.shape[1] if present is None else present.sum(axis=1))
    return np.where(np.isfinite(means), means, np.nan)


def aggregate_draws(values: Sequence[Any], aggregate: Aggregation, draws: Draws) -> np.ndarray:
    """The aggregate of each draw's values (items without a value, None, left out; NaN where a
    draw has none or the aggregate is not finite)."""
    if aggregate is common.mean:
        fast = _fast_mean(values, draws)
        if fast is not None:
            return fast
    out = []
    for draw in draws:
        kept = [values[i] for i in draw.tolist() if values[i] is not None]
        out.append(_number(aggregate(kept)) if kept else math.nan)
    return np.array(out, dtype=float)


def _hashable(value: Any) -> Hashable:
    """A document field's value as a cluster label (lists read back from json are not hashable)."""
    return tuple(value) if isinstance(value, list) else value


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


@dataclass
class Bootstrap:
    """Draws and resample statistics, each computed once per (items, metric, positions)."""

    iterations: int = 1000
    bootstrap_seed: int = 0
    _memo: dict[tuple, np.ndarray | None] = field(default_factory=dict, repr=False)
    _seed_counts: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @staticmethod
    def units(items: Items, positions: Sequence[int], by: str | None) -> Units | None:
        """Clusters of `positions` (as indices into it) sharing the document field `by`; single
        items when None; None when some document lacks the field (kept before it existed)."""
        if by is None:
            return singles(len(positions))
        if not items.docs or any(by not in items.docs[p] for p in positions):
            return None
        return clusters([_hashable(items.docs[p][by]) for p in positions])

    def draws(self, units: Units, reused: bool = False) -> Draws | Iterable[np.ndarray]:
        """Each resample's positions: units drawn with replacement, clusters flattened. A
        large draw comes one resample at a time unless it is `reused` (several seeds)."""
        matrix = index_draws(len(units), self.iterations, self.bootstrap_seed)
        if reused and not isinstance(matrix, np.ndarray):
            matrix = np.stack(list(matrix))
        if all(len(u) == 1 for u in units) and all(u[0] == i for i, u in enumerate(units)):
            return matrix
        return [np.array([i for c in draw.tolist() for i in units[c]]) for draw in matrix]

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
                self._memo[key] = aggregate_draws(values, aggregate, self.draws(units))
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

    def change(
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
        mine = self.stats(ours, metric, a, aggregate, by)
        theirs = self.stats(dense, metric, b, aggregate, by)
        if math.isnan(difference) or mine is None or theirs is None:
            return None
        with np.errstate(invalid="ignore"):
            stats = mine - theirs
        units = self.units(ours, a, by)
        return Resampled(difference, stats, len(pairs), len(units) if units else len(pairs))

    def seed_counts(self, seeds: int) -> np.ndarray:
        """(iterations, seeds): how often each seed is drawn in each resample (a stream of its
        own, apart from the document draws)."""
        if seeds not in self._seed_counts:
            rng = np.random.default_rng([self.bootstrap_seed, 1])
            picks = rng.integers(0, seeds, (self.iterations, seeds))
            self._seed_counts[seeds] = np.stack([np.bincount(r, minlength=seeds) for r in picks])
        return self._seed_counts[seeds]

    def two_stage(self, columns: list[list[Any]], aggregate: Aggregation, draws: Draws):
        """Each resample's mean over its drawn seeds of the aggregate on the shared document
        draw; `columns` holds each seed's values of the same documents."""
        per_seed = np.stack([aggregate_draws(c, aggregate, draws) for c in columns])
        counts = self.seed_counts(len(columns))
        with np.errstate(invalid="ignore"):
            return (counts * per_seed.T).sum(axis=1) / counts.sum(axis=1)
