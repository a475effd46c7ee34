"""A config run with several calibration seeds: inference with the seed as a unit.

Each seed calibrated other weights: the config's value (and its change vs dense) is a mean over
draws of the calibration, and a reader who ships the method cares about the next draw too. The
variance of the mean over S seeds has two parts: between seeds (their sample variance over S,
with S - 1 degrees of freedom) and the documents every seed scored alike (a bootstrap over the
documents of the seed mean). Their sum, with Welch-Satterthwaite degrees of freedom, gives a t
interval and a t test. With 3 seeds that is about 2 degrees of freedom: wide, as it must be.

Where every seed's own inference follows a rule, not the bootstrap (a 0/1 metric, a value
nearly all at one value: `infer.rule_value_interval`, `infer.rule_change_interval`), the
bootstrap over documents cannot see the spread those rules exist for: three seeds whose
answers to a group's 5 prompts are all 0 gave [0, 0] (41 changes and 45 values of the
3-seed quickstart report, 2026-12-06). The interval is then at least the seeds' rule
intervals averaged (`with_documents`): the mean of S estimates varies no more over the
documents than their average spread.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import t as student_t

from compsafe.report.stats.bootstrap import MIN_INTERVAL_UNITS, Engine, Sample, usable

MIN_SEEDS = 5  # fewer seeds: the between-seed variance is too uncertain to mark on
Interval = Callable[[float], "tuple[float, float] | None"]  # an interval at a level alpha


@dataclass(frozen=True)
class SeedInference:
    """A mean over seeds with its seed-level standard error and degrees of freedom."""

    estimate: float
    standard_error: float
    df: float
    per_seed: tuple[float, ...]
    documents_at: Interval | None = None  # the documents' part from the seeds' rules
    limits: tuple[float, float] | None = None  # what the quantity can be (a share: [0, 1])

    def interval(self, alpha: float = 0.05) -> tuple[float, float] | None:
        if not (math.isfinite(self.standard_error) and self.df > 0):
            return None
        half = float(student_t.ppf(1 - alpha / 2, self.df)) * self.standard_error
        low, high = self.estimate - half, self.estimate + half
        floor = self.documents_at(alpha) if self.documents_at else None
        if floor:
            low, high = min(low, floor[0]), max(high, floor[1])
        if self.limits:
            low, high = max(low, self.limits[0]), min(high, self.limits[1])
        return low, high

    @property
    def p_value(self) -> float | None:
        """The seed-level t test's; where the documents' part comes from the seeds' rules, at
        least the level below which their interval stops excluding 0 (so that no mark rests
        on a test more confident than the interval beside it)."""
        if not (self.standard_error > 0 and self.df > 0):
            return None
        found = float(2 * student_t.sf(abs(self.estimate) / self.standard_error, self.df))
        return max(found, _inverted(self.documents_at)) if self.documents_at else found


def _excludes_zero(interval: tuple[float, float] | None) -> bool:
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


def _inverted(interval_at: Interval, steps: int = 40) -> float:
    """The smallest level at which `interval_at` excludes 0 (intervals narrow as the level
    grows), found by bisection on its log; 1 where it never does; 0 (no floor) where the
    seeds' rule gives no interval at all (a mean nearly all at one value without declared
    bounds: that p had been forced to 1 beside an interval excluding 0)."""
    widest = interval_at(0.999)
    if widest is None:
        return 0.0
    if not _excludes_zero(widest):
        return 1.0
    low, high = math.log(1e-12), math.log(0.999)
    if _excludes_zero(interval_at(math.exp(low))):
        return 0.0
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (
            (low, middle) if _excludes_zero(interval_at(math.exp(middle))) else (middle, high)
        )
    return math.exp(high)


def with_documents(
    inference: SeedInference | None,
    rules: Sequence[Interval | None],
    shrink: float = 1.0,
    limits: tuple[float, float] | None = None,
) -> SeedInference | None:
    """The inference with its documents' part at least the seeds' rule intervals averaged
    around the mean (each seed's distances to its interval's ends, averaged; times `shrink`,
    a finite-population factor), where every seed has one; its interval within `limits`."""
    if inference is None:
        return None
    inference = replace(inference, limits=limits)
    if not rules or any(r is None for r in rules):
        return inference

    def documents_at(alpha: float) -> tuple[float, float] | None:
        found = [r(alpha) for r in rules]
        if any(f is None for f in found):
            return None
        below = statistics.fmean(e - f[0] for e, f in zip(inference.per_seed, found, strict=True))
        above = statistics.fmean(f[1] - e for e, f in zip(inference.per_seed, found, strict=True))
        return inference.estimate - shrink * below, inference.estimate + shrink * above

    return replace(inference, documents_at=documents_at)


def _combine(
    per_seed: list[float],
    document_draws: np.ndarray,
    units: int,
    finite: tuple[float, float] = (0.0, 0.0),
) -> SeedInference | None:
    """Between-seed variance / S plus the documents' variance of the seed mean, Satterthwaite.
    `finite`: the shares of all seeds and of all documents the sample holds, for a finite
    population correction (0: the usual infinite populations)."""
    if len(per_seed) < 2 or not all(math.isfinite(v) for v in per_seed):
        return None
    if units < MIN_INTERVAL_UNITS:  # as a single job's bootstrap: too few to resample
        return None
    kept = usable(document_draws)
    if kept is None:
        return None
    seeds = len(per_seed)
    between = statistics.variance(per_seed) / seeds * (1 - finite[0])
    documents = float(np.var(kept, ddof=1)) * (1 - finite[1])
    total = between + documents
    terms = between**2 / (seeds - 1) + (documents**2 / (units - 1) if units > 1 else 0.0)
    df = total**2 / terms if terms > 0 else math.inf
    return SeedInference(statistics.fmean(per_seed), math.sqrt(total), df, tuple(per_seed))


def seeded_value(
    engine: Engine, samples: list[Sample], finite: tuple[float, float] = (0.0, 0.0)
) -> SeedInference | None:
    """The mean over seeds of one metric (each seed's sample on the same documents)."""
    weights = engine.counts(len(samples[0].units)).astype(float)
    draws = np.mean([s.statistics(weights) for s in samples], axis=0)
    return _combine([s.statistic() for s in samples], draws, len(samples[0].units), finite)


def seeded_change(
    engine: Engine,
    samples: list[Sample],
    dense: Sample,
    log: bool,
    finite: tuple[float, float] = (0.0, 0.0),
) -> SeedInference | None:
    """The mean over seeds of each seed's change vs dense on the same documents."""
    weights = engine.counts(len(dense.units)).astype(float)
    base = dense.statistics(weights)

    def change(mine, theirs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(mine) - np.log(theirs) if log else mine - theirs

    draws = np.mean([change(s.statistics(weights), base) for s in samples], axis=0)
    per_seed = [
        float(change(np.array(s.statistic()), np.array(dense.statistic()))) for s in samples
    ]
    return _combine(per_seed, draws, len(dense.units), finite)
