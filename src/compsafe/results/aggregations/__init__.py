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
from compsafe.results.aggregations.linear import Linear

Aggregation = Callable[[Sequence[Any]], float]

# name in records -> function: the shared ones by their own name (lm-eval's `mean`,
# `weighted_perplexity`, `bits_per_byte`, `perplexity` compute exactly what lm-eval's functions of
# those names compute), a task's as `<module>_<function>` (`bbq_bias_ambig`); each module's
# `__all__` lists what it offers.
AGGREGATIONS: dict[str, Aggregation] = {
    **{name: getattr(common, name) for name in common.__all__},
    **{
        f"{module.__name__.rsplit('.', 1)[1]}_{name}": getattr(module, name)
        for module in (bbq, dialect, refusal, unqover)
        for name in module.__all__
    },
}
_NAMES = {id(function): name for name, function in AGGREGATIONS.items()}
# the same names -> the aggregation through component sums, where it has one
LINEAR: dict[str, Linear] = {
    **common.LINEAR,
    **{
        f"{module.__name__.rsplit('.', 1)[1]}_{name}": form
        for module in (bbq, dialect, refusal, unqover)
        for name, form in module.LINEAR.items()
    },
}


def aggregation(name: str | None) -> Aggregation | None:
    """The function a record names (None for no name or a name this compsafe does not know)."""
    return AGGREGATIONS.get(name) if name else None


def name_of(function: Any) -> str | None:
    """The record name of one of these functions (None for any other function)."""
    return _NAMES.get(id(function))


def linear_form(name: str | None) -> Linear | None:
    """The aggregation a record names, through component sums (None: it has none)."""
    return LINEAR.get(name) if name else None
