"""The report's bootstrap engine applied to a plain list of values (for tests)."""

from __future__ import annotations

from compsafe.report.stats.bootstrap import Bootstrap
from compsafe.results.items import Items


def bootstrap_interval(values, aggregate, iterations=1000, bootstrap_seed=0, by=None):
    """95 % percentile interval of `aggregate` over resamples of `values` (single items, or
    clusters of the items sharing a label in `by`)."""
    docs = [{"unit": label} for label in by] if by is not None else []
    items = Items(list(range(len(values))), {"x": list(values)}, docs)
    engine = Bootstrap(iterations, bootstrap_seed)
    return engine.interval(items, "x", list(range(len(values))), aggregate, by and "unit")
