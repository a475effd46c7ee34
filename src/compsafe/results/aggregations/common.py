"""Aggregations shared by many metrics: lm-eval's means and perplexities, and ours."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from compsafe.results.aggregations.linear import Linear, ratio

__all__ = [
    "bits_per_byte",
    "geometric_mean",
    "mean",
    "nll_perplexity",
    "perplexity",
    "weighted_perplexity",
    "window_perplexity",
]  # what records may name


def mean(values: Sequence[float]) -> float:
    """lm-eval's `mean`, summed in the same order (the report's fast path relies on it)."""
    return sum(values) / len(values)


def _weighted_mean(pairs: Sequence[tuple[float, float]]) -> float:
    totals, weights = zip(*pairs, strict=True)
    return sum(totals) / sum(weights)


def perplexity(loglikelihoods: Sequence[float]) -> float:
    """lm-eval's `perplexity`: exp of minus the mean log-likelihood."""
    return math.exp(-mean(loglikelihoods))


def weighted_perplexity(pairs: Sequence[tuple[float, float]]) -> float:
    """lm-eval's `weighted_perplexity` over (log-likelihood, weight) pairs."""
    return math.exp(-_weighted_mean(pairs))


def bits_per_byte(pairs: Sequence[tuple[float, float]]) -> float:
    """lm-eval's `bits_per_byte` over (log-likelihood, bytes) pairs."""
    return -_weighted_mean(pairs) / math.log(2)


def window_perplexity(pairs: Sequence[tuple[float, int]]) -> float:
    """exp of the mean over windows of each window's mean NLL per token, over (log-likelihood,
    tokens) pairs: the paper's `test_perplexity.py` (and Hugging Face's recipe). Equal to the
    token-weighted perplexity when every window has the same length."""
    per_window = [-loglikelihood / tokens for loglikelihood, tokens in pairs if tokens]
    return math.exp(sum(per_window) / len(per_window)) if per_window else float("nan")


def nll_perplexity(pairs: Sequence[tuple[float, int]]) -> float:
    """Token-weighted over (NLL sum, token count) pairs: exp(sum of NLL / sum of tokens)."""
    tokens = sum(n for _, n in pairs)
    return math.exp(sum(nll for nll, _ in pairs) / tokens) if tokens else float("nan")


def geometric_mean(values: Sequence[float]) -> float:
    """exp(mean log): over per-item perplexities, exp of the mean per-item loss (the paper's
    prompt perplexity)."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def _window(pair: Sequence[float]) -> tuple[float, float]:
    loglikelihood, tokens = pair
    return (-loglikelihood / tokens, 1.0) if tokens else (0.0, 0.0)


LINEAR = {
    "mean": Linear(lambda x: (float(x), 1.0), ratio, 2),
    "perplexity": Linear(lambda x: (float(x), 1.0), lambda s: np.exp(-ratio(s)), 2, True),
    "weighted_perplexity": Linear(tuple, lambda s: np.exp(-ratio(s)), 2, True),
    "bits_per_byte": Linear(tuple, lambda s: -ratio(s) / math.log(2), 2),
    "window_perplexity": Linear(_window, lambda s: np.exp(ratio(s)), 2, True),
    "nll_perplexity": Linear(tuple, lambda s: np.exp(ratio(s)), 2, True),
    "geometric_mean": Linear(lambda x: (math.log(x), 1.0), lambda s: np.exp(ratio(s)), 2, True),
}
