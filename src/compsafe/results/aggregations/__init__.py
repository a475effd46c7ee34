"""The aggregations a record may name: how a metric is computed from its items.

A job records, for every metric, the name of the function that turns the per-item values into
the metric (lm-eval's `mean`, BBQ's bias score, UnQover's mu...). The report recomputes each
metric from the kept items with the named function (on resamples, for its intervals), so the
functions live here, in the results contract, and the task modules that produce the items
re-export them for their lm-eval YAMLs (`aggregation: !function bbq.bias_ambig`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from compsafe.results.aggregations import bbq, common, dialect, refusal, unqover

Aggregation = Callable[[Sequence[Any]], float]

# name in records -> function; lm-eval's own names (mean, weighted_perplexity, bits_per_byte,
# perplexity) compute exactly what lm-eval's functions of those names compute.
AGGREGATIONS: dict[str, Aggregation] = {
    "mean": common.mean,
    "perplexity": common.perplexity,
    "weighted_perplexity": common.weighted_perplexity,
    "bits_per_byte": common.bits_per_byte,
    "window_perplexity": common.window_perplexity,
    "nll_perplexity": common.nll_perplexity,
    "geometric_mean": common.geometric_mean,
    "bbq_acc_ambig": bbq.acc_ambig,
    "bbq_acc_disambig": bbq.acc_disambig,
    "bbq_bias_ambig": bbq.bias_ambig,
    "bbq_bias_disambig": bbq.bias_disambig,
    "dialect_aae_perplexity": dialect.aae_perplexity,
    "dialect_white_perplexity": dialect.white_perplexity,
    "dialect_aae_white_ratio": dialect.aae_white_ratio,
    "unqover_mu": unqover.mu,
    "unqover_eta": unqover.eta,
    "refusal_judge_kappa": refusal.judge_kappa,
}
_NAMES = {id(function): name for name, function in AGGREGATIONS.items()}


def aggregation(name: str | None) -> Aggregation | None:
    """The function a record names (None for no name or a name this compsafe does not know)."""
    return AGGREGATIONS.get(name) if name else None


def name_of(function: Any) -> str | None:
    """The record name of one of these functions (None for any other function)."""
    return _NAMES.get(id(function))
