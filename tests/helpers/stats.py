"""The report's resampling engine applied to a plain list of values (for tests)."""

from __future__ import annotations

from compsafe.report.stats.bootstrap import Engine, Sample, clusters, singles
from compsafe.results.aggregations import linear_form, name_of


def sample(values, aggregate, by=None) -> Sample:
    """Values as one job's sample: single items, or clusters of the items sharing a label in
    `by`; the aggregation's linear form when it is one of the registered ones."""
    units = clusters(by) if by is not None else singles(len(values))
    return Sample(list(values), units, aggregate, linear_form(name_of(aggregate)))


def bootstrap_interval(values, aggregate, iterations=1000, bootstrap_seed=0, by=None):
    """The report's 95 % BCa interval of `aggregate` over resamples of `values`."""
    return Engine(iterations, bootstrap_seed).value(sample(values, aggregate, by)).interval()
