"""The one resampling engine: every interval, paired change and permutation test of the report.

A metric is recomputed from the items a job kept with the aggregation its record names. The
resampling unit is the item, or a cluster of items sharing a document field (`resample_by`:
UnQover's two subject orders of a question, BBQ's template, a block of perplexity windows).
Where the aggregation has a linear form (`results.aggregations.linear`: every one compsafe
ships but UnQover's), a resample is a weighted sum of the units' component sums, so thousands of
resamples are one matrix product; otherwise the aggregation runs on each resample.

- Intervals: where the aggregation has a linear form and there are at least 8 units, the
  symmetric bootstrap-t: the estimate plus or minus its delta-method standard error (through
  the aggregation's sums) times the 95th percentile of |resample - estimate| / the resample's
  own standard error (Hall 1988; a perplexity's on the log scale), within the resamples'
  range; benchmarks/stats_check.py measured BCa's percentiles under-covering skewed means,
  ratios and perplexities on real subsamples (0.939-0.945) and these covering (0.948-0.952).
  Otherwise (fewer units, no sum form, or more than 1 % of resamples with a spread under a
  tenth of the estimate's: zero-inflated scores resampled without their few non-zero units),
  bias-corrected and accelerated (BCa) percentiles, the acceleration from a jackknife over
  the units (grouped into at most 200 blocks). Withheld when more than 1 % of resamples are
  not finite (a ratio whose denominator resampled to zero) or there are fewer than
  MIN_INTERVAL_UNITS units.
- Paired changes vs dense: the same draws for both jobs (they scored the same documents); a
  perplexity's change is the log of the ratio, shown as the ratio.
- Tests: the paired permutation test in `permutation.py` draws from the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from compsafe.results.aggregations import Aggregation
from compsafe.results.aggregations.linear import Linear
from compsafe.results.items import Items

Units = tuple[tuple[int, ...], ...]  # clusters of positions into a sample's values
CHUNK = 512  # resamples per matrix product
MAX_NONFINITE = 0.01  # more non-finite resamples than this: no interval, no test
MIN_STUDENTIZED_UNITS = 8  # fewer units: BCa (a spread from 5-7 units is too unstable)
SPREADLESS = 0.1  # a resample spread under this share of the estimate's: degenerate
MIN_INTERVAL_UNITS = 5  # fewer resampling units: no bootstrap interval (3 units have 10
# distinct resamples; benchmarks/stats_check.py measured how little such intervals cover)
JACKKNIFE_BLOCKS = 200


def clusters(labels: Sequence[Hashable]) -> Units:
    """Positions grouped by label, clusters in order of first appearance."""
    index: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        index.setdefault(label, []).append(i)
    return tuple(tuple(members) for members in index.values())


def singles(n: int) -> Units:
    return tuple((i,) for i in range(n))


def _hashable(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value


def units_of(items: Items, positions: Sequence[int], by: str | None) -> Units | None:
    """Clusters of `positions` (as indices into it) sharing the document field `by`; single
    items when None; None when some document lacks the field (kept before it existed)."""
    if by is None:
        return singles(len(positions))
    if not items.docs or any(by not in items.docs[p] for p in positions):
        return None
    return clusters([_hashable(items.docs[p][by]) for p in positions])


@dataclass
class Sample:
    """One job's values of one metric (None: no value), its units and its aggregation."""

    values: list[Any]
    units: Units
    aggregate: Aggregation
    linear: Linear | None = None

    @cached_property
    def form(self) -> Linear | None:
        """The aggregation through sums, fitted to these values (None: loops instead)."""
        return self.linear.fitted(self.values) if self.linear else None

    @cached_property
    def sums(self) -> np.ndarray | None:
        """(units, k) component sums of each unit (where the aggregation has a linear form
        that these units suit)."""
        return self.form.unit_sums(self.values, self.units) if self.form else None

    def statistic(self, weights: np.ndarray | None = None) -> float:
        """The aggregate on all units (or with each unit counted `weights[u]` times)."""
        if self.sums is not None:
            w = np.ones(len(self.units)) if weights is None else weights
            return float(self.form.of(w @ self.sums))
        counts = np.ones(len(self.units), int) if weights is None else weights.astype(int)
        kept = [self.values[i] for u, c in zip(self.units, counts, strict=True) for i in u * c]
        kept = [v for v in kept if v is not None]
        return _finite(self.aggregate(kept)) if kept else math.nan

    def influences(self, weights: np.ndarray, log: bool = False) -> np.ndarray | None:
        """(units, rows): each unit's linearised contribution to the statistic under each row
        of unit weights (the delta method through the aggregation's sums: the gradient of the
        statistic at the weighted mean sums, times the unit's sums minus that mean; of its log
        where `log`); None without a linear form."""
        if self.sums is None:
            return None
        sums = weights @ self.sums  # (rows, k)
        size = weights.sum(axis=1, keepdims=True)
        means = sums / size
        value = self.form.of(sums)
        gradient = np.empty_like(sums)
        for j in range(sums.shape[1]):
            step = 1e-6 * np.maximum(np.abs(sums[:, j]), 1.0)
            up, down = sums.copy(), sums.copy()
            up[:, j] += step
            down[:, j] -= step
            gradient[:, j] = (self.form.of(up) - self.form.of(down)) / (2 * step) * size[:, 0]
        if log:
            gradient = gradient / value[:, None]
        return self.sums @ gradient.T - np.sum(means * gradient, axis=1)  # (units, rows)

    def statistics(self, weights: np.ndarray) -> np.ndarray:
        """The aggregate under each row of unit weights (resample counts, swap indicators)."""
        if self.sums is not None:
            return self.form.of(weights @ self.sums)
        return np.array([self.statistic(row) for row in weights])


def _finite(value: Any) -> float:
    number = float(value)
    return number if math.isfinite(number) else math.nan


def paired_change(mine: np.ndarray, dense: np.ndarray, log: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(mine) - np.log(dense) if log else mine - dense
    return np.where(np.isfinite(out), out, np.nan)


def usable(stats: np.ndarray) -> np.ndarray | None:
    """The finite resample statistics; None when more than 1 % are not (no inference)."""
    kept = stats[np.isfinite(stats)]
    if len(kept) < 2 or len(stats) - len(kept) > MAX_NONFINITE * len(stats):
        return None
    return kept


@dataclass(frozen=True)
class Distribution:
    """A statistic, its bootstrap resamples, jackknife values and (for a linear form) the
    delta-method standard error of it and of each resample: its interval at any level.

    `units` (the number of resampling units) expands a BCa interval for small samples as
    Hesterberg's expanded percentile interval does: the normal quantile z is replaced by
    sqrt(n / (n - 1)) t(n - 1), since a bootstrap distribution is too narrow by about
    sqrt((n - 1) / n) and a plug-in spread needs t's tails (benchmarks/stats_check.py found
    perplexity-type intervals under-covering on real subsamples without it)."""

    estimate: float
    resamples: np.ndarray
    jackknife: np.ndarray
    units: int = 0  # 0: no small-sample expansion
    spread: float | None = None  # the estimate's delta-method standard error
    spreads: np.ndarray | None = None  # each resample's (symmetric bootstrap-t where given)
    log_scale: bool = False  # spreads of the log: the bootstrap-t on the log scale
    # A mean of single items' value: the symmetric interval widened to the equal-tailed (on
    # ratios, clusters and perplexities, covered 0.95-0.97 already, it only over-covered)
    skew_tails: bool = False

    @cached_property
    def _corrections(self) -> tuple[float, float] | None:
        kept = usable(self.resamples)
        if kept is None or not math.isfinite(self.estimate):
            return None
        below = (np.sum(kept < self.estimate) + 0.5 * np.sum(kept == self.estimate)) / len(kept)
        below = min(max(below, 1 / (2 * len(kept))), 1 - 1 / (2 * len(kept)))
        z0 = NormalDist().inv_cdf(below)
        jack = self.jackknife[np.isfinite(self.jackknife)]
        spread = jack.mean() - jack
        denominator = 6 * np.sum(spread**2) ** 1.5
        accel = float(np.sum(spread**3) / denominator) if denominator > 0 else 0.0
        return z0, accel

    def interval(self, alpha: float = 0.05) -> tuple[float, float] | None:
        """The interval at level 1 - alpha: the symmetric bootstrap-t where it can be had,
        BCa otherwise (None: too few finite resamples, or fewer than MIN_INTERVAL_UNITS
        resampling units)."""
        if 0 < self.units < MIN_INTERVAL_UNITS:
            return None
        if self._studentizable:
            return self._studentized(alpha)
        corrections, kept = self._corrections, usable(self.resamples)
        if corrections is None or kept is None:
            return None
        z0, accel = corrections
        quantile = _expanded_quantile(1 - alpha / 2, self.units)
        bounds = []
        for sign in (-1, 1):
            z = z0 + sign * quantile
            shift = z0 + z / (1 - accel * z)
            bounds.append(float(np.quantile(kept, NormalDist().cdf(shift))))
        return bounds[0], bounds[1]

    @cached_property
    def _studentizable(self) -> bool:
        """A bootstrap-t needs MIN_STUDENTIZED_UNITS units and a spread in (nearly) every
        resample: at most 1 % of them with a spread under SPREADLESS of the estimate's (a
        zero-inflated score resampled without its few non-zero units; divided by such spreads
        the studentised resamples explode: on the reference report, intervals of small groups
        10-70 times BCa's and far beyond the metric's range)."""
        if self.spreads is None or not self.spread or self.units < MIN_STUDENTIZED_UNITS:
            return False
        none = ~(self.spreads > SPREADLESS * self.spread)  # zero but for rounding, or NaN
        return float(np.mean(none)) <= MAX_NONFINITE

    def _studentized(self, alpha: float) -> tuple[float, float] | None:
        """The symmetric bootstrap-t interval: estimate +- q spread, q the 1 - alpha quantile
        of |resample - estimate| / resample spread, within the resamples' range. With
        `skew_tails`, widened on each side to the equal-tailed bootstrap-t's end (the
        studentised resamples' alpha / 2 and 1 - alpha / 2 quantiles), which follows a
        skewed score's long tail: a value's symmetric interval lay below the full-data RTP
        `score` 8-10 % of the time on real subsamples (benchmarks/README.md). Never narrower
        than the symmetric one, whose |t| no resample's sign can swing."""
        if usable(self.resamples) is None or not math.isfinite(self.estimate):
            return None
        estimate, resamples = self.estimate, self.resamples
        if self.log_scale:
            if estimate <= 0:
                return None
            with np.errstate(divide="ignore", invalid="ignore"):
                estimate, resamples = math.log(estimate), np.log(resamples)
        finite = np.isfinite(resamples)
        kept, spreads = resamples[finite], self.spreads[finite]
        t = _studentised(kept - estimate, spreads)
        q = float(np.quantile(np.abs(t), 1 - alpha))
        if not math.isfinite(q):
            return None
        low, high = estimate - q * self.spread, estimate + q * self.spread
        if self.skew_tails:
            below, above = np.quantile(t, [alpha / 2, 1 - alpha / 2])
            if math.isfinite(below) and math.isfinite(above):
                low = min(low, estimate - float(above) * self.spread)
                high = max(high, estimate - float(below) * self.spread)
        # no end beyond every resample (a mean of scores >= 0: >= 0)
        low, high = max(low, float(kept.min())), min(high, float(kept.max()))
        return (math.exp(low), math.exp(high)) if self.log_scale else (low, high)

    @property
    def nonfinite(self) -> float:
        """The share of resamples whose statistic is not finite."""
        return float(np.mean(~np.isfinite(self.resamples))) if len(self.resamples) else 0.0

    @property
    def standard_error(self) -> float | None:
        kept = usable(self.resamples)
        return None if kept is None else float(np.std(kept, ddof=1))


def _studentised(gap: np.ndarray, spreads: np.ndarray) -> np.ndarray:
    """(resample - estimate) / the resample's spread: 0 where the gap is 0, infinite (with
    the gap's sign) where the spread is zero or undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(gap != 0, gap / spreads, 0.0)
        return np.where(np.isnan(t), np.sign(gap) * np.inf, t)


def _expanded_quantile(level: float, units: int) -> float:
    """The normal quantile at `level`, expanded to sqrt(n / (n - 1)) t(n - 1) for n units."""
    if units < 3:
        return NormalDist().inv_cdf(level)
    return math.sqrt(units / (units - 1)) * float(student_t.ppf(level, units - 1))


@dataclass
class Engine:
    """Seeded draws: the same bootstrap seed and unit count give the same resamples."""

    resamples: int = 2000
    bootstrap_seed: int = 0
    _counts: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def counts(self, n: int) -> np.ndarray:
        """(resamples, n) bootstrap counts: how often each unit is drawn in each resample."""
        if n not in self._counts:
            rng = np.random.default_rng([self.bootstrap_seed, n])
            self._counts[n] = rng.multinomial(n, np.full(n, 1 / n), size=self.resamples)
        return self._counts[n]

    def value(self, sample: Sample) -> Distribution:
        """A job's metric: its value, bootstrap resamples and jackknife (none of either for
        fewer than two units: no interval)."""
        n = len(sample.units)
        if n < 2:
            return Distribution(sample.statistic(), np.array([]), np.array([]))
        weights = self.counts(n).astype(float)
        stats = np.concatenate(
            [sample.statistics(weights[i : i + CHUNK]) for i in range(0, len(weights), CHUNK)]
        )
        log = bool(sample.form and sample.form.log_scale)
        spread, spreads = _spreads(n, weights, lambda w: sample.influences(w, log))
        skewable = not log and all(len(unit) == 1 for unit in sample.units)
        return Distribution(
            sample.statistic(), stats, jackknife(sample), n, spread, spreads, log, skewable
        )

    def change(self, mine: Sample, dense: Sample, log: bool = False) -> Distribution:
        """Ours minus dense (log ratio where `log`) over the same units, resampled jointly."""
        n = len(mine.units)
        if n < 2:
            return Distribution(math.nan, np.array([]), np.array([]))
        weights = self.counts(n).astype(float)
        stats = np.concatenate(
            [
                paired_change(
                    mine.statistics(weights[i : i + CHUNK]),
                    dense.statistics(weights[i : i + CHUNK]),
                    log,
                )
                for i in range(0, len(weights), CHUNK)
            ]
        )
        estimate = float(
            paired_change(np.array([mine.statistic()]), np.array([dense.statistic()]), log)[0]
        )
        jack = paired_change(jackknife(mine), jackknife(dense), log)

        def influences(w: np.ndarray) -> np.ndarray | None:
            ours, theirs = mine.influences(w, log), dense.influences(w, log)
            return None if ours is None or theirs is None else ours - theirs

        spread, spreads = _spreads(n, weights, influences)
        return Distribution(estimate, stats, jack, n, spread, spreads)


def _spreads(n: int, weights: np.ndarray, influences) -> tuple[float | None, np.ndarray | None]:
    """The delta-method standard error of the estimate and of each resample (None without a
    linear form): sqrt(sum of weight x influence^2) / n, expanded by n / (n - 1)."""
    ones = np.ones((1, n))
    first = influences(ones)
    if first is None:
        return None, None

    def spread(w: np.ndarray, found: np.ndarray) -> np.ndarray:
        return np.sqrt(np.sum(w.T * found**2, axis=0) / (n - 1)) / np.sqrt(n)

    spreads = np.concatenate(
        [spread(weights[i : i + CHUNK], influences(weights[i : i + CHUNK]))
         for i in range(0, len(weights), CHUNK)]
    )  # fmt: skip
    return float(spread(ones, first)[0]), spreads


def jackknife(sample: Sample) -> np.ndarray:
    """The statistic leaving out each block of units in turn (single units up to 200 of them)."""
    n = len(sample.units)
    blocks = min(n, JACKKNIFE_BLOCKS)
    assign = np.arange(n) * blocks // n
    weights = np.ones((blocks, n))
    weights[assign, np.arange(n)] = 0.0
    return sample.statistics(weights)
