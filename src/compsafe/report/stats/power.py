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

import numpy as np

from compsafe.report.stats import exact, signflip
from compsafe.report.stats.permutation import PermutationTest


def _usable(spread: float | None) -> bool:
    return bool(spread) and spread > 0 and math.isfinite(spread)


@dataclass(frozen=True)
class McNemarBasis:
    """A 0/1 metric: the exact McNemar test's own power, with the pairs that moved against the
    change as observed."""

    pairs: int
    spread: float | None  # the change's bootstrap standard error (for the record)
    against: float  # the share of pairs that moved the rarer way

    def detectable(self, level: float, power: float) -> float | None:
        if not self.pairs:
            return None
        return exact.mcnemar_detectable(self.pairs, self.against, level, power)

    def power(self, change: float, level: float) -> float | None:
        """The power this page's rule gives the test at a true `change`."""
        if not self.pairs:
            return None
        return exact.mcnemar_change_power(self.pairs, self.against, change, level)


@dataclass(frozen=True)
class PermutationBasis:
    """Any other metric: the paired permutation test's power over its units. Up to
    SIMULATED_UNITS units (where the t approximation under-states a skewed change's power)
    simulated on the sample's own unit differences (`signflip`); above, or without a linear
    form, a t test's (n - 1 df, the bootstrap standard error expanded). None with few
    informative units."""

    test: PermutationTest
    spread: float | None
    direction: float = 1.0  # the observed change's sign: a skewed shape is shifted that way

    def detectable(self, level: float, power: float) -> float | None:
        if not _usable(self.spread) or self.test.informative_units < exact.MIN_INFORMATIVE:
            return None
        simulated = self._simulated()
        if simulated is not None:
            found = signflip.simulated_detectable(
                simulated, self.direction, level, power, self.test.bootstrap_seed
            )
            return abs(found) if found is not None else None
        units, informative = len(self.test.mine.units), self.test.informative_units
        return exact.permutation_detectable(self.spread, units, informative, level, power)

    def power(self, change: float, level: float) -> float | None:
        """The power this page's rule gives the test at a true `change` (`detectable`'s
        inverse): what benchmarks/stats_check.py measures it against."""
        if not _usable(self.spread):
            return None
        simulated = self._simulated()
        if simulated is not None:
            signed = math.copysign(abs(change), self.direction)
            return signflip.simulated_power(simulated, signed, level, self.test.bootstrap_seed)
        units = len(self.test.mine.units)
        usual = exact.usual_standard_error(self.spread, units)
        return exact.permutation_power(abs(change) / usual, units, level)

    def _simulated(self) -> np.ndarray | None:
        """The unit differences to simulate on; None above SIMULATED_UNITS units or without
        a linear form (then the t approximation)."""
        if len(self.test.mine.units) > signflip.SIMULATED_UNITS:
            return None
        return self.test.unit_differences


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

    def power(self, change: float, level: float) -> float | None:
        """The power this page's rule gives the seed-level test at a true `change`."""
        if not _usable(self.spread) or self.df <= 0:
            return None
        return exact.t_power(abs(change) / self.spread, self.df, level)


PowerBasis = McNemarBasis | PermutationBasis | SeedBasis
