"""The refusal judges' agreement: Cohen's kappa over items' "primary|second" outcome pairs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["judge_kappa"]
LINEAR: dict = {}  # kappa has no form through component sums


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
