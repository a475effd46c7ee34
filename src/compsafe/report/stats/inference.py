"""What a report may claim: marks under the false discovery rate, in pre-specified families.

Each config's changes vs dense form two families. Confirmatory: the perplexity and each
dimension's headline metric (the overview's columns), a handful of tests decided before any
number is seen. Exploratory: every other metric and every group breakdown. The Benjamini-
Hochberg procedure runs within each family of each config, so adding a config or a sweep to a
report changes no other config's q-values; a change is marked (`*`) when its q-value is at most
5 %, its cell meets the effective-sample rule (a group needs MIN_UNITS resampling units), and
nothing withholds it (a seeded config with fewer than 5 seeds). Every mark of the report (table
stars, heatmap stars, findings, the overview) reads this one decision. The Benjamini-Yekutieli
count (valid under any dependence between the tests) is reported beside it.

p-values are exact where the data allow (McNemar's test for 0/1 metrics, a permutation test
with every swap pattern for up to 16 units) and from Monte Carlo permutations otherwise, with as
many resamples as the marks need: a p-value whose Monte Carlo interval straddles its family's
threshold gets more (up to 200,000 where a resample is a matrix product, 2,000 where the
aggregation runs on each); never a normal or t tail in place of resamples
(but for seed-level tests, which are t tests by design).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from compsafe.report.data.cells import CONFIRMATORY, EXPLORATORY, Cell
from compsafe.report.stats.permutation import permutation_budget
from compsafe.report.stats.power import PermutationBasis, PowerBasis

FDR = 0.05
POWER = 0.8
MAX_ROUNDS = 6

METHODS = (
    "Intervals: 95 %; Wilson's score interval for a 0/1 metric (a share; with Brown, Cai and "
    "DasGupta's Poisson ends for 1-3 successes or failures), symmetric bootstrap-t intervals "
    "otherwise (a mean's value widened to the equal-tailed bootstrap-t's ends for skewed "
    "scores; BCa for zero-inflated scores; for a share whose denominator the model decides, "
    "such as BBQ's disambiguated bias score or best-of-k, never narrower than the share's "
    "Wilson interval), over the task's resampling units (an item, or a cluster of items such "
    "as a question's two subject orders); withheld when more than 1 % of resamples are not "
    "finite or there are fewer than 5 units. A change vs dense is "
    "computed on the documents both jobs "
    "scored: Newcombe's paired interval (over the effective number of items where they come in "
    "clusters; widened where needed to the one McNemar's exact test implies) and McNemar's "
    "exact test for a 0/1 metric (where a 0/1 value or change expects fewer than 5 events, "
    "as in a handful of refusal requests, these exact intervals are conservative: on real "
    "subsamples they held the full-data value 98-100 % of the time, not 95 %), a paired bootstrap "
    "interval and a paired permutation test otherwise (exhaustive up to 16 units, Monte Carlo "
    "beyond with as many resamples as the marks need); a perplexity's change is a ratio, on the "
    "log scale. Several calibration seeds: the seed is a unit (between-seed variance plus the "
    "documents' part, Satterthwaite degrees of freedom, t intervals and tests); with fewer than "
    "5 seeds the interval is shown and the mark withheld. A single job of a calibrated method is "
    "conditional on its one calibration draw. Marks: Benjamini-Hochberg within each config's "
    "confirmatory family (perplexity and each dimension's headline metric) and its exploratory "
    "family (every other metric and group); `*` when q <= 5 % and, for a group, at least "
    "30 resampling units; the Benjamini-Yekutieli count is given beside. Detectable change: the "
    "smallest change marked with 80 % power at the level its family's marks needed, from the "
    "exact McNemar test's power or the permutation test's (none stated where fewer than 20 "
    "units differ between the jobs)."
)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """q-values in the order given: q_(i) = min over j >= i of p_(j) m / j, at most 1."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(np.asarray(p_values, dtype=float), kind="stable")
    ranked = np.asarray(p_values, dtype=float)[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q = np.empty(m)
    q[order] = adjusted
    return [float(x) for x in q]


def benjamini_yekutieli(p_values: Sequence[float]) -> list[float]:
    """BH's q-values times sum(1/i): false discovery rate control under any dependence."""
    harmonic = sum(1 / i for i in range(1, len(p_values) + 1))
    return [min(1.0, q * harmonic) for q in benjamini_hochberg(p_values)]


def _marks(cells: list[Cell]) -> None:
    """q-values (BH, BY) and marks of one family."""
    p = [c.p_value for c in cells]
    for cell, q, q_by in zip(cells, benjamini_hochberg(p), benjamini_yekutieli(p), strict=True):
        cell.q_value, cell.q_by = q, q_by
        cell.significant = q <= FDR and cell.eligible and cell.withheld is None


def _threshold(cells: list[Cell]) -> float:
    """The largest p-value BH marks in the family now (its first rank's when none)."""
    ranked = sorted(c.p_value for c in cells)
    m = len(ranked)
    passing = [k for k in range(1, m + 1) if ranked[k - 1] <= FDR * k / m]
    return FDR * (max(passing) if passing else 1) / m


def _refine(cells: list[Cell]) -> None:
    """More permutations for the tests whose Monte Carlo uncertainty could flip their mark."""
    for _ in range(MAX_ROUNDS):
        threshold = _threshold(cells)
        open_tests = []
        for cell in cells:
            basis = cell.power_basis
            if not isinstance(basis, PermutationBasis) or basis.test.exact:
                continue
            test = basis.test
            low = cell.p_value - 3 * cell.p_error
            unresolved = low <= threshold < cell.p_value + 3 * cell.p_error
            floor = 1 / (1 + test.resamples) > threshold and test.extreme == 0
            most = permutation_budget(test.mine)[1]
            if (unresolved or floor) and test.resamples < most:
                open_tests.append((cell, test, most))
        if not open_tests:
            return
        for cell, test, most in open_tests:
            test.run(min(most, test.resamples * 4))
            cell.p_value, cell.p_error = test.p_value, test.monte_carlo_error
            cell.test = f"permutation ({test.resamples:,} resamples)"


def family(cell: Cell, confirmatory: bool) -> str:
    return CONFIRMATORY if confirmatory and not cell.is_group else EXPLORATORY


def control_fdr(cells_by_config: dict[int, list[tuple[Cell, bool]]]) -> tuple[dict, dict]:
    """Families, refined p-values, q-values and marks for every tested cell; returns the number
    of tests and of BY marks per family name."""
    tested: dict[str, int] = defaultdict(int)
    by_marks: dict[str, int] = defaultdict(int)
    for cells in cells_by_config.values():
        families: dict[str, list[Cell]] = defaultdict(list)
        for cell, confirmatory in cells:
            if cell.p_value is not None:
                cell.family = family(cell, confirmatory)
                families[cell.family].append(cell)
        for name, members in families.items():
            _refine(members)
            _marks(members)
            _detectable(members)
            tested[name] += len(members)
            by_marks[name] += sum(
                c.q_by <= FDR and c.eligible and c.withheld is None for c in members
            )
    return dict(tested), dict(by_marks)


def _detectable(cells: list[Cell]) -> None:
    """The smallest change marked with 80 % power at the level the family's marks need now."""
    level = _threshold(cells)
    for cell in cells:
        cell.detectable_level = level
        cell.detectable = detectable_change(cell.power_basis, level)
        if cell.detectable is not None and cell.ratio is not None and cell.ratio > 0:
            base = (cell.value - cell.delta) if cell.delta is not None else None
            cell.detectable = base * math.expm1(cell.detectable) if base else cell.detectable


def detectable_change(basis: PowerBasis | None, level: float) -> float | None:
    """The smallest change marked with 80 % power at `level`, from what the change's test left
    (`power.py`): the exact McNemar test's own power, the permutation test's, or the
    seed-level t test's. On the log scale for a ratio."""
    return basis.detectable(level, POWER) if basis else None


def fcr_interval(cell: Cell, selected: int, family_size: int) -> tuple[float, float] | None:
    """The change's interval adjusted for having been selected among `family_size` tests
    (Benjamini-Yekutieli's false coverage rate: level 1 - selected * 5 % / family_size)."""
    if cell.change_at is None or family_size == 0:
        return None
    return cell.change_at(max(selected, 1) * FDR / family_size)


def tested_cells(cells: Iterable[Cell]) -> list[Cell]:
    return [c for c in cells if c.p_value is not None]
