"""The paired permutation test on the resampling engine's samples.

Under no change, which of the two jobs each unit's items came from is arbitrary, so each
unit's pair is swapped with probability 1/2 (a sign flip of the unit's difference, for a mean).
Exhaustive up to 2^16 patterns, Monte Carlo beyond, with as many resamples as the caller asks
for (the report asks for more where a mark hangs on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from compsafe.report.stats.bootstrap import CHUNK, Sample, paired_change

EXHAUSTIVE = 16  # units up to which a permutation test enumerates every swap pattern


def swap_statistics(mine: Sample, dense: Sample, swaps: np.ndarray, log: bool) -> np.ndarray:
    """The change under each row of swap indicators (1: that unit's two items trade places)."""
    if mine.sums is not None and dense.sums is not None and mine.sums.shape == dense.sums.shape:
        delta = dense.sums - mine.sums
        swapped_mine = mine.sums.sum(axis=0) + swaps @ delta
        swapped_dense = dense.sums.sum(axis=0) - swaps @ delta
        return paired_change(mine.form.of(swapped_mine), dense.form.of(swapped_dense), log)
    out = []
    for row in swaps:
        ours, theirs = list(mine.values), list(dense.values)
        for unit, swapped in zip(mine.units, row, strict=True):
            if swapped:
                for i in unit:
                    ours[i], theirs[i] = dense.values[i], mine.values[i]
        out.append(
            paired_change(
                np.array([Sample(ours, mine.units, mine.aggregate).statistic()]),
                np.array([Sample(theirs, dense.units, dense.aggregate).statistic()]),
                log,
            )[0]
        )
    return np.array(out)


def permutation_budget(sample: Sample) -> tuple[int, int]:
    """(first, most) permutations for a sample: many where a resample is a matrix product,
    fewer where the aggregation runs on each (UnQover's mu and eta)."""
    return (1000, 200_000) if sample.sums is not None else (200, 2000)


@dataclass
class PermutationTest:
    """A paired permutation test whose resamples can be extended: (p, resamples, exact)."""

    mine: Sample
    dense: Sample
    log: bool
    bootstrap_seed: int = 0
    extreme: int = 0
    resamples: int = 0
    exact: bool = False

    @cached_property
    def observed(self) -> float:
        change = paired_change(
            np.array([self.mine.statistic()]), np.array([self.dense.statistic()]), self.log
        )
        return abs(float(change[0]))

    @cached_property
    def informative_units(self) -> int:
        """Units whose items differ between the two jobs: only their swaps move the statistic,
        so the test's power rests on them (as McNemar's on the discordant pairs)."""
        return sum(
            any(self.mine.values[i] != self.dense.values[i] for i in unit)
            for unit in self.mine.units
        )

    @cached_property
    def unit_differences(self) -> np.ndarray | None:
        """Each unit's linearised contribution to the change (ours minus dense, on the log
        scale where `log`), centred: what a power simulation resamples; None without a linear
        form both jobs share."""
        mine, dense = self.mine, self.dense
        if mine.sums is None or dense.sums is None or mine.sums.shape != dense.sums.shape:
            return None
        weights = np.ones((1, len(mine.units)))
        ours, theirs = mine.influences(weights, self.log), dense.influences(weights, self.log)
        if ours is None or theirs is None:
            return None
        differences = (ours - theirs)[:, 0]
        return differences if np.all(np.isfinite(differences)) else None

    def run(self, total: int) -> None:
        """At least `total` resamples (all 2^n patterns when n <= EXHAUSTIVE)."""
        n = len(self.mine.units)
        if not math.isfinite(self.observed):
            return
        if n <= EXHAUSTIVE:
            if not self.exact:
                patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
                self._count(patterns.astype(float))
                self.exact = True
            return
        while self.resamples < total:
            chunk = min(CHUNK * 4, total - self.resamples)
            rng = np.random.default_rng([self.bootstrap_seed, 11, self.resamples])
            self._count(rng.integers(0, 2, (chunk, n)).astype(float))

    def _count(self, swaps: np.ndarray) -> None:
        stats = np.abs(swap_statistics(self.mine, self.dense, swaps, self.log))
        tolerance = 1e-12 * max(1.0, self.observed)
        self.extreme += int(np.sum(stats >= self.observed - tolerance))
        self.resamples += len(swaps)

    @property
    def p_value(self) -> float | None:
        """Exhaustive: the share of patterns at least as extreme; Monte Carlo: (1 + extreme) /
        (1 + resamples), never 0."""
        if self.resamples == 0:
            return None
        if self.exact:
            return self.extreme / self.resamples
        return (1 + self.extreme) / (1 + self.resamples)

    @property
    def monte_carlo_error(self) -> float:
        """The standard error of the p-value from its resamples (0 when exhaustive)."""
        p = self.p_value
        return 0.0 if self.exact or p is None else math.sqrt(p * (1 - p) / self.resamples)
