"""Exact and closed-form inference for 0/1 outcomes: where a mark must not rest on resampling.

A 0/1 metric (refused, degenerate, a share above a threshold, a correct answer) is a proportion.
Its interval is Wilson's score interval with Brown, Cai and DasGupta's modification at the
edges (coverage close to nominal down to a few items, never [0, 0] for 0 of n); a paired
change vs dense is Newcombe's hybrid score interval for paired proportions (1998, method 10);
its test is McNemar's exact test: under no change, each item whose outcome differs between the
jobs goes either way with probability 1/2, so the p-value is the two-sided binomial tail over
the discordant items alone (items that agree say nothing).
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from scipy.optimize import brentq
from scipy.stats import beta, binom, binomtest, chi2, norm
from scipy.stats import t as student_t


def hull(a: tuple[float, float] | None, b: tuple[float, float] | None):
    """The smallest interval holding both (either where the other is None)."""
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def z_value(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def wilson(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float] | None:
    """Wilson's score interval for a proportion of `successes` in `n`."""
    if n <= 0:
        return None
    z, p = z_value(alpha), successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def modified_wilson(successes: float, n: float, alpha: float = 0.05):
    """Wilson's interval with Brown, Cai and DasGupta's (2001) modification at the edges: for
    1 to x* successes (x* = 2 up to 50 items, 3 above) the lower end is the one-sided Poisson
    bound chi2(alpha; 2x) / 2n, and the same for failures at the upper end. Wilson's coverage
    dips to 0.84 for proportions of order 1/n (exactly computed at 7-100 items); the modified
    interval's stays at 0.89 or more. On real subsamples Wilson's lower end lay above BOLD's
    rare negative share 7-10 % of the time at 60 prompts (benchmarks/README.md)."""
    interval = wilson(successes, n, alpha)
    if interval is None:
        return None
    low, high = interval
    edge = 2 if n <= 50 else 3
    if 0 < successes <= edge:
        low = min(low, float(chi2.ppf(alpha, 2 * successes)) / (2 * n))
    if 0 < n - successes <= edge:
        high = max(high, 1 - float(chi2.ppf(alpha, 2 * (n - successes))) / (2 * n))
    return low, high


def mcnemar(up: int, down: int) -> float:
    """Two-sided exact McNemar p-value: `up` items went 0 -> 1 (ours 1, dense 0), `down` 1 -> 0."""
    discordant = up + down
    return 1.0 if discordant == 0 else float(binomtest(up, discordant, 0.5).pvalue)


def mcnemar_interval(up: int, down: int, n: int, alpha: float = 0.05):
    """The change's interval that the exact McNemar test implies: Clopper-Pearson's interval
    for the share of discordant pairs that went up, mapped to the change given the observed
    share of discordant pairs, (up + down) / n * (2 pi - 1). It excludes 0 exactly where the
    test's p is below alpha (both double the smaller binomial tail); None without discordant
    pairs. Newcombe's interval alone excluded 0 at 4 discordant pairs all one way, where the
    test gives 0.125 (the quickstart's refusal changes, 2026-12-06)."""
    discordant = up + down
    if discordant == 0 or n <= 0:
        return None
    low = beta.ppf(alpha / 2, up, discordant - up + 1) if up > 0 else 0.0
    high = beta.ppf(1 - alpha / 2, up + 1, discordant - up) if up < discordant else 1.0
    share = discordant / n
    return share * (2 * float(low) - 1), share * (2 * float(high) - 1)


def newcombe_paired(
    both: int, up: int, down: int, neither: int, alpha: float = 0.05
) -> tuple[float, float] | None:
    """Interval for ours minus dense of paired proportions (Newcombe 1998, method 10): the two
    Wilson intervals combined with the correlation of the pairs (corrected where positive)."""
    n = both + up + down + neither
    if n <= 0:
        return None
    p1, p2 = (both + up) / n, (both + down) / n  # ours, dense
    l1, u1 = wilson(both + up, n, alpha)
    l2, u2 = wilson(both + down, n, alpha)
    margins = (both + up) * (down + neither) * (both + down) * (up + neither)
    product = both * neither - up * down
    if margins == 0:
        phi = 0.0
    else:
        phi = (max(product - n / 2, 0) if product > 0 else product) / math.sqrt(margins)
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, p1 - p2 - delta), min(1.0, p1 - p2 + eps)


def paired_interval(
    both: int, up: int, down: int, neither: int, alpha: float = 0.05
) -> tuple[float, float] | None:
    """The page's interval for a paired change of 0/1 items: Newcombe's, widened where needed
    to the one the exact McNemar test implies, so it never excludes 0 where the test does not
    mark (`benchmarks/exact_coverage.py` computes its coverage exactly)."""
    return hull(
        newcombe_paired(both, up, down, neither, alpha),
        mcnemar_interval(up, down, both + up + down + neither, alpha),
    )


def mcnemar_power(n_pairs: int, up: float, down: float, alpha: float) -> float:
    """Power of the two-sided exact McNemar test at `alpha` on `n_pairs` pairs when a pair goes
    0 -> 1 with probability `up` and 1 -> 0 with `down`: the rejection probability given each
    number of discordant pairs, weighted by its binomial probability."""
    discordant = up + down
    if n_pairs <= 0 or discordant <= 0:
        return 0.0
    counts = np.arange(n_pairs + 1)
    critical = binom.ppf(alpha / 2, counts, 0.5)
    critical = np.where(binom.cdf(critical, counts, 0.5) <= alpha / 2, critical, critical - 1)
    share_up = up / discordant
    reject = np.where(
        critical >= 0,
        binom.cdf(critical, counts, share_up) + binom.sf(counts - critical - 1, counts, share_up),
        0.0,
    )
    return float(np.sum(binom.pmf(counts, n_pairs, discordant) * reject))


def mcnemar_detectable(
    n_pairs: int, against: float, alpha: float, power: float = 0.8
) -> float | None:
    """The smallest paired change of a proportion that the exact McNemar test marks at `alpha`
    with `power`, on `n_pairs` pairs of which the observed share `against` moved against the
    change (the rarer direction): a change of d has `against` one way and `against` + d the
    other. A change that goes one way (a config that never complies) has none against it, so
    its power is the one-sided binomial's; holding the discordance fixed instead assumed flips
    back that a one-way change does not have, and under-stated its power (benchmarks/README.md).
    None when not even the largest change would do."""
    most = 1.0 - 2 * against
    if n_pairs <= 0 or most <= 0 or mcnemar_change_power(n_pairs, against, most, alpha) < power:
        return None
    low, high = 0.0, most
    for _ in range(25):  # to 3e-8
        middle = (low + high) / 2
        if mcnemar_change_power(n_pairs, against, middle, alpha) >= power:
            high = middle
        else:
            low = middle
    return high


def mcnemar_change_power(n_pairs: int, against: float, change: float, alpha: float) -> float:
    """The exact McNemar test's power at a paired `change` with the share `against` moving
    against it (`mcnemar_detectable`'s model)."""
    change = min(abs(change), 1.0 - 2 * against)
    return mcnemar_power(n_pairs, against + change, against, alpha)


def t_power(shift: float, df: float, alpha: float) -> float:
    """Power of a two-sided t test at `alpha` with `df` degrees of freedom when the true change
    is `shift` standard errors."""
    return _power(shift, df, float(student_t.ppf(1 - alpha / 2, df)))


def permutation_power(shift: float, units: int, alpha: float) -> float:
    """Power of the paired sign-flip permutation test over `units` units at `alpha`: it
    compares sum(d) / sqrt(sum(d^2)) with the normal quantile z (its null variance is the
    uncentred sum of squares, inflated by a real change), which is t > z sqrt((n - 1) / (n -
    z^2)) for the usual t statistic over n units; t's power there. 0 when n <= z^2."""
    z = float(norm.ppf(1 - alpha / 2))
    if units <= z * z:
        return 0.0
    return _power(shift, units - 1, z * math.sqrt((units - 1) / (units - z * z)))


def _power(shift: float, df: float, critical: float) -> float:
    """P(|shift + Z| > critical sqrt(V / df)), V chi-square with df degrees of freedom,
    averaged over V's quantiles at 2,000 equally likely points (scipy's noncentral t loses
    precision in the tails small levels reach)."""
    scale = critical * _spreads(df)
    return float(np.mean(norm.cdf(shift - scale) + norm.cdf(-shift - scale)))


@lru_cache(maxsize=1024)
def _spreads(df: float) -> np.ndarray:
    """sqrt(V / df) at 2,000 equally likely quantiles of V, chi-square with df degrees."""
    return np.sqrt(chi2.ppf((np.arange(2000) + 0.5) / 2000, df) / df)


def usual_standard_error(bootstrap_se: float, units: int) -> float:
    """A bootstrap standard error over n units, expanded to the usual s / sqrt(n): the
    bootstrap's plug-in variance is short by (n - 1) / n."""
    return bootstrap_se * math.sqrt(units / (units - 1))


def t_detectable(
    standard_error: float, df: float, alpha: float, power: float = 0.8
) -> float | None:
    """The smallest change a t test with `df` degrees of freedom marks at `alpha` with `power`
    when the change's standard error is `standard_error` (the seed-level test); None: none."""
    shift = _detectable_shift("t", df, alpha, power)
    return shift * standard_error if math.isfinite(shift) else None


MIN_INFORMATIVE = 20  # units that differ, below which no power approximation is stated


def permutation_detectable(
    standard_error: float, units: int, informative: int, alpha: float, power: float = 0.8
) -> float | None:
    """The smallest change the paired permutation test over `units` units (bootstrap standard
    error `standard_error`, expanded by sqrt(units / (units - 1)) to the usual one) marks at
    `alpha` with `power` (`permutation_power`). None when fewer than MIN_INFORMATIVE units
    differ between the two jobs (with few informative units the test's p-values are coarse, a
    sign test in all but name, and the approximation was far too optimistic on real
    subsamples: benchmarks/README.md), or when no change would reach `alpha`."""
    if informative < MIN_INFORMATIVE or permutation_power(1e6, units, alpha) < power:
        return None
    shift = _detectable_shift("permutation", units, alpha, power)
    usual = usual_standard_error(standard_error, units)
    return shift * usual if math.isfinite(shift) else None


@lru_cache(maxsize=4096)
def _detectable_shift(test: str, size: float, alpha: float, power: float) -> float:
    """The change in standard errors `test` ("t" with `size` df, or "permutation" over `size`
    units) detects with `power`: one per family level and size, cached."""

    def power_at(shift: float) -> float:
        if test == "t":
            return t_power(shift, size, alpha)
        return permutation_power(shift, int(size), alpha)

    high = 8.0
    for _ in range(40):
        if power_at(high) >= power:
            return brentq(lambda x: power_at(x) - power, 0.0, high, xtol=1e-7)
        high *= 2
    return math.inf  # never reached: no change is detectable
