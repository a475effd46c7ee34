"""The refusal judges' agreement: Cohen's kappa over items' "primary|second" outcome pairs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from compsafe.results.aggregations.linear import Linear

__all__ = ["judge_kappa"]


def judge_kappa(pairs: Sequence[str]) -> float:
    """Cohen's kappa of two judges' outcomes, from items' "a|b" pairs (1 = full agreement,
    0 = chance agreement; NaN when both judges give one and the same outcome throughout)."""
    split = [p.split("|", 1) for p in pairs]
    if not split:
        return float("nan")
    n = len(split)
    observed = sum(a == b for a, b in split) / n
    first, second = Counter(a for a, _ in split), Counter(b for _, b in split)
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def _fitted(values: list) -> Linear:
    """Kappa through the counts of each (first judge's, second judge's) outcome pair, over the
    outcomes the items hold."""
    outcomes = sorted({o for v in values if v is not None for o in v.split("|", 1)})
    index = {o: i for i, o in enumerate(outcomes)}
    k = len(outcomes)

    def components(value: str) -> np.ndarray:
        first, second = value.split("|", 1)
        out = np.zeros(k * k)
        out[index[first] * k + index[second]] = 1.0
        return out

    def finish(sums: np.ndarray) -> np.ndarray:
        table = sums.reshape(*sums.shape[:-1], k, k)
        n = table.sum(axis=(-2, -1))
        observed = np.trace(table, axis1=-2, axis2=-1) / n
        expected = (table.sum(axis=-1) * table.sum(axis=-2)).sum(axis=-1) / n**2
        return np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)

    return Linear(components, finish, k * k)


LINEAR = {"judge_kappa": Linear(tuple, None, 0, fit=_fitted)}
