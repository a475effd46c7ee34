"""What a change's test leaves for its power: the smallest change it would mark.

One record per kind of test, each able to say its detectable change at the level its family's
marks need (known only after the false discovery control has seen every p-value of the
family): the exact McNemar test of a 0/1 metric, the paired permutation test of any other
metric (which the control may also extend with more resamples), and the seed-level t test of
a config with several calibration seeds. A ratio metric's detectable change is on the log
scale; the caller converts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from compsafe.report.stats import exact
from compsafe.report.stats.permutation import PermutationTest


def _usable(spread: float | None) -> bool:
    return bool(spread) and spread > 0 and math.isfinite(spread)


@dataclass(frozen=True)
class McNemarBasis:
    """A 0/1 metric: the exact McNemar test's own power at the observed discordance."""

    pairs: int
    spread: float | None  # the change's bootstrap standard error (for the record)
    discordant: float  # the share of pairs whose outcomes differ

    def detectable(self, level: float, power: float) -> float | None:
        if not self.pairs:
            return None
        return exact.mcnemar_detectable(self.pairs, self.discordant, level, power)


@dataclass(frozen=True)
class PermutationBasis:
    """Any other metric: the paired permutation test's power over its units (a t test's, n - 1
    df, the bootstrap standard error expanded); none with few informative units."""

    test: PermutationTest
    spread: float | None

    def detectable(self, level: float, power: float) -> float | None:
        if not _usable(self.spread):
            return None
        units = len(self.test.mine.units)
        informative = self.test.informative_units
        return exact.permutation_detectable(self.spread, units, informative, level, power)


@dataclass(frozen=True)
class SeedBasis:
    """Several calibration seeds: the seed-level t test (Satterthwaite degrees of freedom)."""

    seeds: int
    spread: float | None
    df: float

    def detectable(self, level: float, power: float) -> float | None:
        if not _usable(self.spread) or self.df <= 0:
            return None
        return exact.t_detectable(self.spread, self.df, level, power)


PowerBasis = McNemarBasis | PermutationBasis | SeedBasis
