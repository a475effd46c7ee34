"""The inference of one metric on one sample: the value's interval, a change's interval and
test. The report's cells call these; benchmarks/stats_check.py calls them on subsamples of a
large real evaluation to check that they keep their promises.

- A 0/1 metric (lm-eval's mean of 0/1 items, resampled item by item): Wilson's interval for the
  value, Newcombe's paired interval and McNemar's exact test for a change.
- A 0/1 metric over clusters of items (BBQ's questions by template): the cluster bootstrap's
  interval for the value (widened to the bounds' where fewer than MIN_INTERVAL_UNITS
  clusters' shares differ from the most common one, as below, counted in Kish's effective
  number of clusters); for a change, Newcombe's paired interval over the effective number of
  items (n over the design effect the cluster bootstrap measures, with Korn and Graubard's
  degrees-of-freedom factor) and the cluster permutation test.
- A share of counts (BBQ's accuracy per context condition) is read as the mean of its 0/1
  items over the items it counts (`share_items`), and gets a proportion's inference.
- Any other: bootstrap intervals over the resampling units (`bootstrap.py`: the symmetric
  bootstrap-t, or BCa) and a paired permutation test; a perplexity's change on the log scale
  (the log of the ratio).
- A mean of single items where fewer than MIN_INTERVAL_UNITS items differ from the most common
  value, which more than half share (a sentiment of mostly empty answers: 0 but for 2 of 30):
  the bootstrap cannot see a spread its resamples lack (on real subsamples such intervals
  missed the full-data value up to a fifth of the time). The interval then follows from the
  metric's declared bounds (`MetricEntry.bounds`): the mean is the common value c plus the
  share of other items times their distance from c, at most Wilson's upper bound for that
  share times the distance to either bound. Without bounds, no interval. A metric whose
  bounds are not [0, 1] is never read as 0/1 (a sentiment whose items are all 0).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from compsafe.report.stats import exact
from compsafe.report.stats.bootstrap import MIN_INTERVAL_UNITS, Engine, Sample
from compsafe.report.stats.permutation import PermutationTest, permutation_budget
from compsafe.report.stats.power import McNemarBasis, PermutationBasis, PowerBasis
from compsafe.report.stats.seeds import SeedInference, seeded_change, seeded_value, with_documents
from compsafe.results.aggregations import linear_form

Bounds = tuple[float, float] | None
SHARE_READ_AS = "mean"  # a share of counts is read as lm-eval's mean of its 0/1 items


def share_items(aggregation_name: str | None) -> Callable[[Any], float | None] | None:
    """How an item of a share of counts (`Linear.share`: BBQ's accuracy in ambiguous contexts,
    the correct among the ambiguous questions) reads as a 0/1 item, None where the share does
    not count it; None for any other aggregation. Read so, a share gets a proportion's
    inference (Wilson's, McNemar's, the bounds' where its items nearly all agree) instead of a
    ratio's bootstrap, which gave [0, 0] to a category with no correct answer."""
    form = linear_form(aggregation_name)
    return form.share_item if form and form.share else None


def _proportion(sample: Sample, aggregation_name: str | None, bounds: Bounds = None) -> bool:
    """lm-eval's mean of 0/1 items, of a metric whose declared range (if any) is [0, 1] (a
    sentiment in [-1, 1] whose items happen to be all 0 is no share of anything)."""
    if aggregation_name != "mean" or bounds not in (None, (0.0, 1.0)):
        return False
    return all(v in (0, 1) for v in sample.values if v is not None)


def _items_per_unit(sample: Sample) -> int:
    return max((sum(sample.values[i] is not None for i in u) for u in sample.units), default=0)


def is_binary(sample: Sample, aggregation_name: str | None, bounds: Bounds = None) -> bool:
    """A proportion: lm-eval's mean of 0/1 items, at most one valued item per resampling unit
    (a request's direct item, say, where its attacked ones count for another metric)."""
    return _proportion(sample, aggregation_name, bounds) and _items_per_unit(sample) <= 1


def is_clustered_binary(
    sample: Sample, aggregation_name: str | None, bounds: Bounds = None
) -> bool:
    """A proportion over clusters of items (BBQ's questions by template)."""
    return _proportion(sample, aggregation_name, bounds) and _items_per_unit(sample) > 1


def _effective(n: int, clustered_se: float | None, binomial_variance: float, units: int) -> float:
    """The effective number of items of a clustered proportion: n over the design effect, the
    cluster bootstrap's variance (expanded to the usual one) over the binomial variance
    `binomial_variance` / n; the design effect taken as at least 1 (Korn and Graubard 1998)."""
    if not clustered_se or binomial_variance <= 0 or units < 2:
        return float(n)
    clustered = exact.usual_standard_error(clustered_se, units) ** 2
    return n / max(1.0, clustered * n / binomial_variance)


def _df_adjustment(n: int, clusters: int, alpha: float) -> float:
    """Korn and Graubard's (1998) degrees-of-freedom factor for an effective number of items:
    (t(n - 1) / t(clusters - 1))^2 at the interval's level. The design effect is estimated from
    the clusters, so its interval needs t's tails over clusters - 1 df, not over the items:
    without it, simulated changes over 8 templates of 3 questions were covered 0.93 of the
    time, with it 0.96 (tests/test_report_clusters.py); on real subsamples of 7 refusal
    requests of 2 answers each, `degenerate` change 0.931 -> 0.967 (benchmarks/README.md).
    With many templates it is near 1 (84 in the quickstart's BBQ: intervals 0.3 % wider)."""
    if clusters < 2 or n < 2:
        return 1.0
    level = 1 - alpha / 2
    return float((student_t.ppf(level, n - 1) / student_t.ppf(level, clusters - 1)) ** 2)


def _one_value(values: list[float]) -> tuple[float, int] | None:
    """(the most common value, how many differ from it) where at least MIN_INTERVAL_UNITS
    values are given, more than half share one and fewer than MIN_INTERVAL_UNITS differ."""
    if len(values) < MIN_INTERVAL_UNITS:
        return None
    common, count = Counter(values).most_common(1)[0]
    differing = len(values) - count
    return (common, differing) if differing < min(MIN_INTERVAL_UNITS, count) else None


def _mostly_one_value(values: list[float], aggregation_name: str | None, sample: Sample):
    """`_one_value` of a mean of single items (fewer than MIN_INTERVAL_UNITS units get no
    interval in any case); None otherwise."""
    if aggregation_name != "mean" or _items_per_unit(sample) > 1:
        return None
    if len(sample.units) < MIN_INTERVAL_UNITS:
        return None
    return _one_value(values)


def _unit_means(values: list, units) -> tuple[list[int], list[float]]:
    """(valued items, their mean) of each unit holding a value."""
    sizes, means = [], []
    for unit in units:
        valued = [values[i] for i in unit if values[i] is not None]
        if valued:
            sizes.append(len(valued))
            means.append(sum(valued) / len(valued))
    return sizes, means


def _kish(sizes) -> float:
    """Kish's effective number of units of these sizes: (sum of sizes)^2 / sum of squares."""
    sizes = np.asarray(sizes, dtype=float)
    return float(sizes.sum() ** 2 / np.sum(sizes**2))


def _kish_mass_point(sizes: list[int], means: list[float]) -> tuple[float, float, float] | None:
    """`mass_point` over clusters, counted in Kish's effective number of clusters, (sum of
    sizes)^2 / sum of squared sizes: the number of items whose mean varies as much as the
    clusters' item-weighted mean does when a cluster's items all agree. The share that
    differs is the items' share in the clusters that differ, so a template of 20 questions
    weighs as 20 (BBQ's templates hold 1 to 20 questions). With clusters of one size both
    are the clusters' counts (a refusal request's two answers)."""
    found = _one_value(means)
    if found is None:
        return None
    common = found[0]
    total = sum(sizes)
    effective = _kish(sizes)
    differing = sum(m for m, x in zip(sizes, means, strict=True) if x != common) / total
    return common, differing * effective, effective


def _clustered_mass_point(sample: Sample) -> tuple[float, float, float] | None:
    """`_kish_mass_point` of a proportion's cluster shares."""
    return _kish_mass_point(*_unit_means(sample.values, sample.units))


def _clustered_change_mass_point(mine: Sample, dense: Sample):
    """`_kish_mass_point` of a clustered change's per-cluster mean differences (4 of 7
    refusal requests whose two answers both flipped, 3 unchanged: Newcombe's interval over
    the effective items excluded 0 where the cluster permutation test gives 0.125)."""
    differences = [
        a - b if a is not None and b is not None else None
        for a, b in zip(mine.values, dense.values, strict=True)
    ]
    return _kish_mass_point(*_unit_means(differences, mine.units))


def mass_point(sample: Sample, aggregation_name: str | None, bounds: Bounds):
    """(the common value, the units that differ from it, the units) where that decides the
    value's interval (from the bounds, or none without them); None where Wilson's or the
    bootstrap's does. Two cases: a mean of single items (not 0/1 ones), all but fewer than
    MIN_INTERVAL_UNITS of them at one value; a proportion over clusters whose cluster shares
    are so, counted as `_clustered_mass_point` says (7 refusal requests whose two answers
    split one and one: the cluster bootstrap sees no spread and gave [0.5, 0.5], and on the
    `fresh` reference such values were covered 0.72 of the time; BBQ categories whose every
    question got the same answer: [0, 0], benchmarks/README.md)."""
    if is_binary(sample, aggregation_name, bounds):
        return None
    if is_clustered_binary(sample, aggregation_name, bounds):
        if len(sample.units) < MIN_INTERVAL_UNITS:
            return None
        return _clustered_mass_point(sample)
    values = [v for v in sample.values if v is not None]
    found = _mostly_one_value(values, aggregation_name, sample)
    return (*found, len(values)) if found else None


def _bounded(common: float, differing: float, n: float, bounds: tuple[float, float], alpha: float):
    """The mean of n items, all but `differing` at `common`, the rest within `bounds`: c plus
    at most Wilson's upper bound of the share that differ times the distance to each bound."""
    share = exact.wilson(differing, n, alpha)[1]
    return common + share * (bounds[0] - common), common + share * (bounds[1] - common)


def rule_value_interval(
    sample: Sample, aggregation_name: str | None, alpha: float = 0.05, bounds: Bounds = None
) -> tuple[float, float] | None:
    """The value's interval where a rule, not the bootstrap, gives it: Wilson's (modified at
    the edges) for a proportion of single items; the bounds' where nearly every item (or
    cluster) has one value (`mass_point`; a share's bounds for clusters of 0/1 items,
    declared or not). None where the bootstrap gives it, or a mass point has no bounds."""
    if is_binary(sample, aggregation_name, bounds):
        values = [v for v in sample.values if v is not None]
        return exact.modified_wilson(sum(values), len(values), alpha)
    mass = mass_point(sample, aggregation_name, bounds)
    if mass is None:
        return None
    if is_clustered_binary(sample, aggregation_name, bounds):
        return _bounded(*mass, (0.0, 1.0), alpha)
    return _bounded(*mass, bounds, alpha) if bounds else None


def unit_share_interval(sample: Sample, alpha: float = 0.05) -> tuple[float, float] | None:
    """The interval a statistic that is scale x a share + offset (`Linear.unit_share`) has at
    least: the share's modified Wilson interval over the effective number of its trials
    (Kish's, over the units' trial counts: a template of 20 questions weighs as 20), mapped.
    BBQ's disambiguated bias score of a group whose answered questions all went against the
    stereotype was -1 with the bootstrap's [-1, -1]; best-of-k with every behaviour broken,
    1 with [1, 1]."""
    form, sums = sample.form, sample.sums
    if form is None or form.unit_share is None or sums is None:
        return None
    successes, trials = (np.asarray(x, dtype=float) for x in form.unit_share(sums))
    total = float(trials.sum())
    if total <= 0:
        return None
    effective = _kish(trials)
    share = float(successes.sum()) / total
    low, high = exact.modified_wilson(share * effective, effective, alpha)
    scale, offset = form.share_scale
    ends = sorted((scale * low + offset, scale * high + offset))
    return ends[0], ends[1]


def value_interval(
    engine: Engine,
    sample: Sample,
    aggregation_name: str | None,
    alpha: float = 0.05,
    bounds: Bounds = None,
) -> tuple[float, float] | None:
    """The value's interval (None under two units): `rule_value_interval`'s where a rule
    gives it (for clusters of 0/1 items never narrower than the cluster bootstrap's, whose
    spread, where it sees one, can reach past the bound's on one side); the bootstrap's
    otherwise (clusters of 0/1 items too: on real BBQ subsamples the cluster bootstrap
    covered better than Wilson's over an effective number of items), never narrower than a
    share's own where the model decides its denominator (`unit_share_interval`) and the
    bootstrap gives one."""
    if len(sample.units) < 2:
        return None
    binary = is_binary(sample, aggregation_name, bounds)
    if not binary and mass_point(sample, aggregation_name, bounds) is None:
        found = engine.value(sample).interval(alpha)
        return exact.hull(unit_share_interval(sample, alpha), found) if found else None
    rule = rule_value_interval(sample, aggregation_name, alpha, bounds)
    if is_clustered_binary(sample, aggregation_name, bounds):
        return exact.hull(rule, engine.value(sample).interval(alpha))
    return rule


def _bounded_change(mine: Sample, dense: Sample, aggregation_name: str | None, bounds: Bounds):
    """The interval (a function of alpha) of a change whose paired differences nearly all
    share one value, from the differences' bounds; a function giving None without bounds;
    None where the bootstrap can see the spread."""
    if aggregation_name != "mean":
        return None
    differences = [
        a - b for a, b in zip(mine.values, dense.values, strict=True)
        if a is not None and b is not None
    ]  # fmt: skip
    mostly = _mostly_one_value(differences, aggregation_name, mine)
    if mostly is None:
        return None
    if not bounds:
        return lambda alpha: None
    spread = (bounds[0] - bounds[1], bounds[1] - bounds[0])
    return lambda alpha: _bounded(*mostly, len(differences), spread, alpha)


def _paired_counts(mine: Sample, dense: Sample) -> list[int]:
    """Items (both 1, ours only, dense only, neither) over the items both jobs valued."""
    pairs = [
        (a, b) for a, b in zip(mine.values, dense.values, strict=True)
        if a is not None and b is not None
    ]  # fmt: skip
    return [sum(1 for a, b in pairs if (a, b) == c) for c in ((1, 1), (1, 0), (0, 1), (0, 0))]


def _clustered_interval(mine: Sample, dense: Sample, spread: float | None):
    """Newcombe's paired interval over the effective number of items of a clustered change
    (a function of alpha; `spread`: the change's cluster bootstrap standard error), or None."""
    counts = _paired_counts(mine, dense)
    n = sum(counts)
    if n < 2 or len(mine.units) < MIN_INTERVAL_UNITS:  # no design effect from 3 clusters
        return None
    up, down = counts[1] / n, counts[2] / n
    variance = up + down - (up - down) ** 2
    clusters = len(mine.units)
    scale = _effective(n, spread, variance, clusters) / n

    def interval_at(alpha: float) -> tuple[float, float] | None:
        shrink = scale * _df_adjustment(n, clusters, alpha)
        return exact.newcombe_paired(*(c * shrink for c in counts), alpha=alpha)

    return interval_at


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


def rule_change_interval(
    engine: Engine,
    mine: Sample,
    dense: Sample,
    aggregation_name: str | None,
    log: bool,
    bounds: Bounds = None,
    spread: float | None = None,
) -> Callable[[float], tuple[float, float] | None] | None:
    """The change's interval (a function of alpha) where a rule, not the bootstrap's
    percentiles, gives it: Newcombe's paired interval for 0/1 items, widened where needed
    to the one the exact McNemar test implies (`exact.paired_interval`); over the effective
    number of items for clusters of them; the differences' bounds where they nearly all
    share one value (a function giving None without bounds), and for clusters whose mean
    differences nearly all share one, at least the bounds' over the clusters. None
    otherwise. `spread`: the change's cluster bootstrap standard error, where the caller
    has it (drawn here otherwise)."""
    if is_binary(mine, aggregation_name, bounds) and is_binary(dense, aggregation_name, bounds):
        counts = _paired_counts(mine, dense)
        return lambda alpha: exact.paired_interval(*counts, alpha=alpha)
    if is_clustered_binary(mine, aggregation_name, bounds) and is_clustered_binary(
        dense, aggregation_name, bounds
    ):
        if spread is None:
            spread = engine.change(mine, dense, log).standard_error
        newcombe = _clustered_interval(mine, dense, spread)
        mass = _clustered_change_mass_point(mine, dense)
        if mass is None:
            return newcombe
        return lambda alpha: exact.hull(
            _bounded(*mass, (-1.0, 1.0), alpha), newcombe(alpha) if newcombe else None
        )
    return None if log else _bounded_change(mine, dense, aggregation_name, bounds)


def _agreeing_with(test: PermutationTest, interval_at):
    """`interval_at`, reaching 0 at any level alpha where the permutation test's p is above
    it, so an interval never excludes a change its test does not. Two causes on the
    quickstart report (2026-12-06): an exhaustive test over k units that differ cannot go
    below 2 / 2^k (0.0625 at 5), where the bootstrap's interval over 5 prompts excluded 0
    (12 group cells); and a bootstrap-t interval over 6-18 units that excluded 0 beside a
    permutation p above 0.05 (3 cells). The p is read when the interval is asked for, after
    the false discovery control has given the test the resamples its marks need."""

    def at(alpha: float):
        found = interval_at(alpha)
        p_value = test.p_value
        agrees = found is None or p_value is None or p_value <= alpha
        return found if agrees else exact.hull(found, (0.0, 0.0))

    return at


def change_inference(
    engine: Engine,
    mine: Sample,
    dense: Sample,
    aggregation_name: str | None,
    log: bool,
    bounds: Bounds = None,
) -> ChangeInference | None:
    """Ours minus dense (log ratio where `log`) on paired samples (the same units); `bounds`:
    the lowest and highest value of an item (see the module's docstring)."""
    if len(mine.units) < 2:
        return None
    if is_binary(mine, aggregation_name, bounds) and is_binary(dense, aggregation_name, bounds):
        counts = _paired_counts(mine, dense)
        spread = engine.change(mine, dense).standard_error
        interval_at = rule_change_interval(engine, mine, dense, aggregation_name, log, bounds)
        return ChangeInference(
            estimate=(counts[1] - counts[2]) / sum(counts),
            interval=interval_at(0.05),
            p_value=exact.mcnemar(counts[1], counts[2]),
            test="exact McNemar",
            interval_at=interval_at,
            basis=McNemarBasis(sum(counts), spread, min(counts[1], counts[2]) / sum(counts)),
        )
    distribution = engine.change(mine, dense, log)
    test = PermutationTest(mine, dense, log, engine.bootstrap_seed)
    test.run(permutation_budget(mine)[0])
    spread = distribution.standard_error
    rule = rule_change_interval(engine, mine, dense, aggregation_name, log, bounds, spread)
    interval_at = _agreeing_with(test, rule or distribution.interval)
    return ChangeInference(
        estimate=distribution.estimate,
        interval=interval_at(0.05),
        p_value=test.p_value,
        test="permutation (exhaustive)" if test.exact else "permutation",
        interval_at=interval_at,
        basis=PermutationBasis(
            test, distribution.standard_error, math.copysign(1.0, distribution.estimate or 1.0)
        ),
        log=log,
        p_error=test.monte_carlo_error,
    )


def seeded_value_inference(
    engine: Engine,
    samples: list[Sample],
    aggregation_name: str | None,
    bounds: Bounds = None,
    finite: tuple[float, float] = (0.0, 0.0),
) -> SeedInference | None:
    """The mean over seeds (`seeds.seeded_value`), its documents' part at least the seeds'
    rule intervals where every seed has one (`seeds.with_documents`)."""
    rules = [
        lambda alpha, s=s: rule_value_interval(s, aggregation_name, alpha, bounds) for s in samples
    ]
    found = seeded_value(engine, samples, finite)
    limits = _limits(samples[0], aggregation_name, bounds)
    return with_documents(found, rules, math.sqrt(1 - finite[1]), limits)


def seeded_change_inference(
    engine: Engine,
    samples: list[Sample],
    dense: Sample,
    aggregation_name: str | None,
    log: bool,
    bounds: Bounds = None,
    finite: tuple[float, float] = (0.0, 0.0),
) -> SeedInference | None:
    """The mean over seeds of each seed's change vs dense (`seeds.seeded_change`), its
    documents' part at least the seeds' rule intervals where every seed has one."""
    rules = [rule_change_interval(engine, s, dense, aggregation_name, log, bounds) for s in samples]
    found = seeded_change(engine, samples, dense, log, finite)
    limits = None if log else _limits(dense, aggregation_name, bounds)
    if limits:
        limits = (limits[0] - limits[1], limits[1] - limits[0])
    return with_documents(found, rules, math.sqrt(1 - finite[1]), limits)


def _limits(sample: Sample, aggregation_name: str | None, bounds: Bounds):
    """What a metric's value can be: its declared bounds, a share's [0, 1]; None unknown."""
    if bounds:
        return bounds
    return (0.0, 1.0) if _proportion(sample, aggregation_name, bounds) else None
