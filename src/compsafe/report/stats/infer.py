"""The inference of one metric on one sample: the value's interval, a change's interval and
test. The report's cells call these; benchmarks/stats_check.py calls them on subsamples of a
large real evaluation to check that they keep their promises.

- A 0/1 metric (lm-eval's mean of 0/1 items, resampled item by item): Wilson's interval for the
  value, Newcombe's paired interval and McNemar's exact test for a change.
- Any other: BCa bootstrap intervals over the resampling units and a paired permutation test;
  a perplexity's change on the log scale (the log of the ratio).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compsafe.report.stats import exact
from compsafe.report.stats.bootstrap import Engine, Sample
from compsafe.report.stats.permutation import PermutationTest, permutation_budget
from compsafe.report.stats.power import McNemarBasis, PermutationBasis, PowerBasis


def is_binary(sample: Sample, aggregation_name: str | None) -> bool:
    """A proportion: lm-eval's mean of 0/1 items, at most one valued item per resampling unit
    (a request's direct item, say, where its attacked ones count for another metric)."""
    if aggregation_name != "mean":
        return False
    valued = [[i for i in u if sample.values[i] is not None] for u in sample.units]
    if any(len(v) > 1 for v in valued):
        return False
    return all(v in (0, 1) for v in sample.values if v is not None)


def value_interval(
    engine: Engine, sample: Sample, aggregation_name: str | None, alpha: float = 0.05
) -> tuple[float, float] | None:
    """The value's interval (None under two units)."""
    if len(sample.units) < 2:
        return None
    if is_binary(sample, aggregation_name):
        values = [v for v in sample.values if v is not None]
        return exact.wilson(sum(values), len(values), alpha)
    return engine.value(sample).interval(alpha)


@dataclass
class ChangeInference:
    """A change vs dense: its estimate (a difference, or a log ratio), interval and test."""

    estimate: float
    interval: tuple[float, float] | None
    p_value: float | None
    test: str
    interval_at: Callable[[float], tuple[float, float] | None]
    basis: PowerBasis  # what the false discovery control may extend and needs for power
    log: bool = False
    p_error: float = 0.0


def change_inference(
    engine: Engine, mine: Sample, dense: Sample, aggregation_name: str | None, log: bool
) -> ChangeInference | None:
    """Ours minus dense (log ratio where `log`) on paired samples (the same units)."""
    if len(mine.units) < 2:
        return None
    if is_binary(mine, aggregation_name) and is_binary(dense, aggregation_name):
        pairs = list(zip(mine.values, dense.values, strict=True))
        counts = [sum(1 for a, b in pairs if (a, b) == c) for c in ((1, 1), (1, 0), (0, 1), (0, 0))]
        spread = engine.change(mine, dense).standard_error
        return ChangeInference(
            estimate=(counts[1] - counts[2]) / sum(counts),
            interval=exact.newcombe_paired(*counts),
            p_value=exact.mcnemar(counts[1], counts[2]),
            test="exact McNemar",
            interval_at=lambda alpha, c=counts: exact.newcombe_paired(*c, alpha=alpha),
            basis=McNemarBasis(sum(counts), spread, (counts[1] + counts[2]) / sum(counts)),
        )
    distribution = engine.change(mine, dense, log)
    test = PermutationTest(mine, dense, log, engine.bootstrap_seed)
    test.run(permutation_budget(mine)[0])
    return ChangeInference(
        estimate=distribution.estimate,
        interval=distribution.interval(),
        p_value=test.p_value,
        test="permutation (exhaustive)" if test.exact else "permutation",
        interval_at=distribution.interval,
        basis=PermutationBasis(test, distribution.standard_error),
        log=log,
        p_error=test.monte_carlo_error,
    )
