"""What a report may claim: bootstrap p-values, the false discovery rate, and power.

A report tests hundreds of changes vs dense (every metric and every group of every config): at
5 % each, some would be "significant" by chance alone. Each change gets a two-sided p-value from
its own bootstrap distribution; the Benjamini-Hochberg procedure turns all of a report's
p-values into q-values, and a change is marked when q <= 0.05, which keeps the expected share of
false marks among all marks at 5 %. A change that is not marked may be absent or too small for
the items at hand: `detectable_change` says which changes the sample could have found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Protocol

import numpy as np
from scipy.stats import t as student_t

from compsafe.report.stats.bootstrap import finite, standard_error

FDR = 0.05  # a change is marked when its q-value is at most this
ALPHA = 0.05  # the level the detectable change is stated at (two-sided)
POWER = 0.8
MIN_GROUP_ITEMS = 30  # a group finding needs this many items paired with dense's
Z_DETECT = NormalDist().inv_cdf(1 - ALPHA / 2) + NormalDist().inv_cdf(POWER)  # 1.960 + 0.842

METHODS = (
    "Significance: each change vs dense gets a two-sided bootstrap p-value from its resample "
    "distribution, p = 2 min(share <= 0, share >= 0) with +1 in numerator and denominator (never "
    "0); where no resample falls on the other side of 0 (beyond the bootstrap's resolution, "
    "2/(resamples+1)), the tail of Student's t (items - 1 degrees of freedom) at change / "
    "bootstrap SE refines it, and no p-value is below 2^(1 - items), the smallest an exact "
    "sign-flip test on that many paired items can give. The Benjamini-Hochberg procedure over "
    "every change of the report (headline and group cells, all configs) gives q-values; `*` "
    f"marks q <= {FDR:g} (false discovery rate {FDR:.0%}). Group findings need at least "
    f"{MIN_GROUP_ITEMS} items paired with dense's on both sides. Detectable change: the "
    f"smallest change the items at hand detect with {POWER:.0%} power at the {ALPHA:.0%} level, "
    f"(z_0.975 + z_0.8) x SE = {Z_DETECT:.2f} x the bootstrap SE of the paired change; a change "
    "below it that is not marked may be real but too small for this sample."
)


class Tested(Protocol):
    """A cell with a change vs dense (`analysis.Cell`)."""

    p_value: float | None
    q_value: float | None
    significant: bool


def p_value(stats: np.ndarray, difference: float, units: int) -> float | None:
    """Two-sided bootstrap p-value of a change from its resample distribution `stats`.

    `units`: the resampled units (items or clusters) it rests on, which bound it below: no test
    on n paired units can honestly claim less than an exact sign-flip test's 2^(1 - n)."""
    kept = finite(stats)
    if kept is None or units < 2:
        return None
    tail = min(int((kept <= 0).sum()), int((kept >= 0).sum()))
    p = min(1.0, 2 * (tail + 1) / (len(kept) + 1))
    se = float(np.std(kept, ddof=1))
    if tail == 0 and se > 0 and math.isfinite(difference):  # beyond the resamples' resolution
        p = min(p, float(2 * student_t.sf(abs(difference) / se, units - 1)))
    return max(p, 2.0 ** (1 - units))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """q-values (BH-adjusted p-values) in the order given: q_(i) = min over j >= i of
    p_(j) m / j, at most 1."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(np.asarray(p_values, dtype=float), kind="stable")
    ranked = np.asarray(p_values, dtype=float)[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q = np.empty(m)
    q[order] = adjusted
    return [float(x) for x in q]


def control_fdr(cells: Iterable[Tested]) -> int:
    """Sets q-values and significance over every tested cell together; returns how many. The
    one place a change is called significant: every mark of the report reads `significant`."""
    tested = [c for c in cells if c.p_value is not None]
    for cell, q in zip(tested, benjamini_hochberg([c.p_value for c in tested]), strict=True):
        cell.q_value = q
        cell.significant = q <= FDR
    return len(tested)


def detectable_change(stats: np.ndarray) -> float | None:
    """The smallest change this sample detects with 80 % power at the 5 % level (two-sided):
    (z_0.975 + z_0.8) x the bootstrap SE of the change."""
    se = standard_error(stats)
    return None if se is None else Z_DETECT * se


def items_needed(effect: float, se: float, items: int) -> int:
    """Items a run needs to detect a change of `effect` with 80 % power at 5 %, from the SE a
    run of `items` items gave (SE shrinks as 1/sqrt(items): per-item SD = SE sqrt(items))."""
    per_item_sd = se * math.sqrt(items)
    return max(2, math.ceil((Z_DETECT * per_item_sd / abs(effect)) ** 2))
