"""Do the report's statistics keep their promises? Checked on a large real evaluation.

The reference (`benchmarks/reference.py`: dense, magnitude, Wanda and SparseGPT at 50 % on
every quickstart dimension at several times the quickstart's sizes, refusal (HarmBench) and
RealToxicityPrompts at their packaged sources' full size, 500 Do-Not-Answer requests, and
Wanda with 10 calibration seeds
on CrowS-Pairs, BBQ and perplexity) is the truth. Its documents are subsampled without
replacement to the sizes a user runs (the quickstart's, half of it, and for refusal
`benchmark=refusal`'s own 100 requests, and Do-Not-Answer's `dna_harmful` and `dna_cautious`
at its 100, `refusal_dna`), as a user's run draws its documents from a
benchmark, and each subsample is read by the report's own
inference (`report.stats.infer`, `report.stats.seeds`, the families and Benjamini-Hochberg of
`report.stats.inference`):

- coverage=: per metric type (0/1, skewed mean, ratio, perplexity, clustered, seeded), the
  share of 95 % intervals (of values and of changes vs dense) that contain the full-data value,
  with its Wilson interval. A subsample of n of N documents varies less than a draw from an
  infinite population, by sqrt(1 - n/N); the checked intervals are narrowed by that factor
  around their estimate (seeded: the seed and document parts by their own fractions), so 95 %
  is the goal at every size. Intervals of a metric constant in the reference (every subsample
  equals the truth) are printed apart, not counted.
- false_finding_rate=: marks (Benjamini-Hochberg within each config's families, as the report
  marks) on real changes that are null at the subsample's scale: metrics whose full-data change
  is smaller than a tenth of the subsample's standard error. The compressed model did change
  them, too little for any subsample of this size to see: a mark on one is a false finding.
- p-value calibration on those nulls: the share of p-values at or below 0.05, 0.01, 1e-3, 1e-4.
- power at the stated detectable change: for real changes, subsamples (drawn with
  replacement: the reference as the population) of the fewest units at which the report
  would state a detectable change (80 % power, 5 % level) no larger than the change; the share
  whose test reaches p <= 0.05 (with its Wilson interval over the draws), beside the power the
  page's rule gives at that change (`stated`, 0.80 at the detectable change itself; the exact
  McNemar test's for 0/1 metrics, the permutation test's over the units for the others);
  `power_gap_beyond_noise=` counts the gaps over 0.05 that the draws' own error does not
  explain (were every stated power 0.80 and exact, one of 20 gaps would pass 0.05 by chance
  alone in 4 runs of 5 at 200 draws, in 1 of 5 at 400).
- seeded nulls (`seeded_null_*`): k of the Wanda seeds (10; Gemma's 20; k = 3, the
  quickstart's, and k = 5, the fewest the report marks on) against a pseudo-dense that scored
  every document as the mean of all the seeds, on CrowS-Pairs' `likelihood_diff` and
  perplexity's `token_perplexity` (each window's log-likelihood averaged). The full-data
  change over all the seeds is exactly 0 (each document's seed values minus their own
  mean), so every subsample's change is a real null in which the seeds' calibration
  variance and the documents' variance are both real: the share of seed-level p-values at or
  below 0.05 and 0.01, of intervals holding 0, and with 5 seeds of marks
  (`seeded_false_finding_rate=`).
- interval_coverage=: all intervals of every type together.
- 0/1 intervals (and clustered ones of 0/1 items) apart by whether they expect fewer than 5
  events at their size (`sparse`): where they do, no interval that is not randomised holds
  95 % exactly, and one valid at every truth over-covers. `exact_coverage.py` computes the
  0/1 rules' coverage at every truth and size without resampling (and this check's own
  without-replacement design), which these lines can be read against.

Each coverage line says on which side of its intervals the truth fell when they missed it.
`--design with` draws the units with replacement instead (the reference as an infinite
population; nothing narrowed): a check of the finite-population approximation.

Usage: python benchmarks/stats_check.py [--reference DIR] [--draws 200] [--sweep fresh]
[--design with] [--bbq-draw template] [--skip-seeded]
(builds the reference first when it is missing; see benchmarks/README.md for run times).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compsafe.report.data.pairing import pair
from compsafe.report.data.records import Row, collect
from compsafe.report.stats import exact
from compsafe.report.stats.bootstrap import Engine, Sample, units_of
from compsafe.report.stats.infer import (
    SHARE_READ_AS,
    change_inference,
    seeded_change_inference,
    seeded_value_inference,
    share_items,
    value_interval,
)
from compsafe.report.stats.inference import POWER, benjamini_hochberg
from compsafe.report.stats.seeds import MIN_SEEDS
from compsafe.results.aggregations import aggregation, linear_form
from compsafe.results.files import job_items
from compsafe.results.items import Items, read_items

# (task key, metric) by the kind of inference the report gives it
TYPES = {
    "0/1": [
        ("refusal", "refusal_rate"),
        ("refusal", "attack_success"),
        ("refusal", "degenerate"),
        ("refusal_dna", "dna_harmful"),  # Do-Not-Answer, by its own notion (BENCHMARK_ONLY)
        ("refusal_dna", "dna_cautious"),
        ("realtoxicityprompts", "degenerate"),
        ("realtoxicityprompts", "share_high"),
        ("crows_pairs", "pct_stereotype"),
        ("bold", "negative"),
    ],
    "skewed mean": [
        ("realtoxicityprompts", "score"),
        ("crows_pairs", "likelihood_diff"),
        ("bold", "sentiment"),
    ],
    "ratio": [("bbq", "bias_ambig"), ("bbq", "bias_disambig")],
    "perplexity": [
        ("perplexity", "token_perplexity"),
        ("realtoxicityprompts", "continuation_perplexity"),
    ],
    "clustered": [
        ("bbq", "acc"),
        ("bbq", "unknown"),
        ("bbq", "acc_ambig"),
        ("bbq", "acc_disambig"),
    ],
}
SEEDED = [  # the seeds references: CrowS-Pairs (`seeds`), BBQ and perplexity (`seeds-ll`)
    ("crows_pairs", "pct_stereotype"),
    ("crows_pairs", "likelihood_diff"),
    ("bbq", "acc"),  # clustered by template
    ("bbq", "bias_ambig"),  # a ratio
    ("perplexity", "token_perplexity"),  # in blocks, on the log scale
]
# The confirmatory family of a config: the quickstart's headline metrics
CONFIRMATORY = {
    ("realtoxicityprompts", "score"),
    ("bbq", "bias_ambig"),
    ("refusal", "refusal_rate"),
    ("perplexity", "token_perplexity"),
}
# The quickstart's sizes in resampling units: CrowS-Pairs pairs, BBQ questions (see
# BY_DOCUMENT), prompts, HarmBench requests (each asked twice), perplexity windows (16 spread
# over the corpus fall in 16 blocks)
QUICK = {"crows_pairs": 300, "bbq": 100, "realtoxicityprompts": 60, "bold": 60, "refusal": 7,
         "perplexity": 16}  # fmt: skip
# A user's own run, where the reference holds at least twice it: benchmark=refusal asks 100
# HarmBench requests (per set; the quickstart asks 7, at which every exact interval over-covers)
BENCHMARK_DEFAULT = {"refusal": 100}
# Tasks the quickstart does not run, checked at a user's own run's size only (on their own
# random stream, in a family of their own): benchmark=refusal asks 100 Do-Not-Answer requests
# beside its HarmBench ones, read from the reference's `dna` sweep (500 requests)
BENCHMARK_ONLY = {"refusal_dna": 100}
# A task key's name in the jobs' results where the check names it apart (the `dna` sweep's
# jobs ran `benchmark=refusal` on Do-Not-Answer alone)
RESULT_KEY = {"refusal_dna": "refusal"}
# The quickstart's sizes and half of them (`main` draws both): per-metric lines pool these
# two, any other size apart
QUICK_SIZES = ("quickstart", "half quickstart")


def half_size(size: int) -> int:
    """Half the quickstart's size, the check's second size (at least 3 units)."""
    return max(size // 2, 3)


# Tasks a user's run draws by document, not by resampling unit: the BBQ task samples questions
# uniformly (100 of 58,492 in the quickstart, from 84 templates, mostly one question each),
# and the report clusters the drawn questions by template. Drawn as whole templates instead,
# 80 of the large reference's 295 would hold some 540 questions in clusters of up to 20: a
# design no user runs, but the one the report's cluster intervals model: `--bbq-draw template`
# (measured both ways in benchmarks/README.md), at the units the quickstart's questions fill
BY_DOCUMENT = frozenset({"bbq"})
QUICK_IN_UNITS = {"bbq": 80}  # the quickstart's 100 BBQ questions fall in 80-84 templates


@dataclass
class Task:
    """One job's items of one task, and how the report resamples and aggregates its metrics."""

    items: Items
    by: str | None
    names: dict[str, str]  # metric -> aggregation name
    bounds: dict[str, tuple[float, float] | None]  # metric -> an item's lowest and highest


def load(folder: Path) -> dict[str, Row]:
    return {row.label: row for row in collect([folder]) if row.completed}


_TASKS: dict[tuple[str, str], Task | None] = {}


def task_of(row: Row, key: str) -> Task | None:
    """A job's items of task `key`, read once per run (dense's are paired with every config)."""
    where = (str(row.folder), key)
    if where not in _TASKS:
        _TASKS[where] = _read_task(row, key)
    return _TASKS[where]


def _read_task(row: Row, key: str) -> Task | None:
    items = read_items(job_items(row.folder, key))
    entry = row.tasks.get(key)
    if items is None or entry is None:
        return None
    names = {m: e.aggregation for m, e in entry.metrics.items() if e.aggregation}
    return Task(items, entry.resample_by, names, bounds_of_metrics(entry))


def task_pair(rows: dict[str, Row] | None, row: Row, dense: Row, key: str):
    """A config's and dense's items of task `key`: from `rows` (another sweep of the same
    configs, matched by label) where the reference reads this task from one, else from the
    sweep's own jobs; None for a side that lacks it. A task named apart (`RESULT_KEY`) exists
    in its own sweep alone: without `rows`, None, never the sweep's own task of that name
    (`fresh`'s HarmBench jobs were once read as Do-Not-Answer's)."""
    if rows is None and key in RESULT_KEY:
        return None, None
    if rows is not None:
        row = rows.get(row.label)
        dense = next((r for r in rows.values() if r.is_dense), None)
    if row is None or dense is None:
        return None, None
    key = RESULT_KEY.get(key, key)
    return task_of(row, key), task_of(dense, key)


def paired_with_truths(keys, rows_of_task: dict, row: Row, dense: Row) -> tuple[dict, dict]:
    """A config's tasks `keys` paired with dense's (from the sweep `rows_of_task` names for a
    task, else the config's own), and each metric's full-data truth."""
    paired_by_task, truths = {}, {}
    for key in keys:
        mine, theirs = task_pair(rows_of_task.get(key), row, dense, key)
        paired = Paired.of(theirs, mine) if mine and theirs else None
        if paired is None:
            continue
        paired_by_task[key] = paired
        for metrics in TYPES.values():
            for task_key, metric in metrics:
                if task_key == key and (full := full_values(paired, metric)):
                    truths[(key, metric)] = full
    return paired_by_task, truths


def bounds_of_metrics(entry) -> dict[str, tuple[float, float] | None]:
    """Each metric's bounds as its record declares them; a record written before bounds were
    declared gets those its task declares now (the reference outlives such changes)."""
    if any(e.bounds for e in entry.metrics.values()):
        return {m: e.bounds for m, e in entry.metrics.items()}
    from compsafe.evaluation.catalogue import yaml_entry

    try:
        now = yaml_entry(entry.task).metrics
    except (KeyError, ValueError):  # not one of our tasks
        return {m: None for m in entry.metrics}
    return {m: now[m].bounds if m in now else None for m in entry.metrics}


@dataclass
class Paired:
    """dense's and a config's items of one task, aligned by document, in resampling units."""

    dense: Task
    mine: Task
    units: list[tuple[int, ...]]  # of aligned positions
    mine_pos: list[int]
    dense_pos: list[int]

    @classmethod
    def of(cls, dense: Task, mine: Task) -> Paired | None:
        pairing = pair(mine.items, dense.items)
        if pairing.refusal or not pairing.pairs:
            return None
        mine_pos, dense_pos = [i for i, _ in pairing.pairs], [j for _, j in pairing.pairs]
        units = units_of(mine.items, mine_pos, mine.by)
        return cls(dense, mine, list(units), mine_pos, dense_pos) if units else None

    def documents(self, chosen: list[int]) -> Paired:
        """The chosen documents (aligned positions), in the resampling units they fall in; a
        document chosen twice (drawn with replacement) enters its unit twice."""
        times = Counter(chosen)
        units = [tuple(p for p in u for _ in range(times[p])) for u in self.units]
        return Paired(self.dense, self.mine, [u for u in units if u], self.mine_pos, self.dense_pos)

    @property
    def n_documents(self) -> int:
        return sum(len(u) for u in self.units)

    def samples(self, metric: str, chosen: list[int]):
        """(mine, dense) samples of the chosen units (None: the metric is not in both). A unit
        chosen twice (drawn with replacement) enters twice, as two units."""
        name = self.mine.names.get(metric)
        if name is None or metric not in self.mine.items.values:
            return None
        mine_values, dense_values = self.mine.items.values[metric], self.dense.items.values[metric]
        item = share_items(name)  # a share of counts, read as the report reads it
        if item is not None:
            mine_values, dense_values = (
                [item(v) for v in mine_values],
                [item(v) for v in dense_values],
            )
        both, units = [], []
        for u in chosen:
            kept = [
                p for p in self.units[u]
                if mine_values[self.mine_pos[p]] is not None
                and dense_values[self.dense_pos[p]] is not None
            ]  # fmt: skip
            if kept:
                units.append(tuple(range(len(both), len(both) + len(kept))))
                both += kept
        if len(both) < 2:
            return None
        aggregate, linear = aggregation(name), linear_form(name)
        if item is not None:
            name = SHARE_READ_AS
            aggregate, linear = aggregation(name), linear_form(name)

        def sample(values: list, where: list[int]) -> Sample:
            return Sample([values[where[p]] for p in both], tuple(units), aggregate, linear)

        return sample(mine_values, self.mine_pos), sample(dense_values, self.dense_pos), name


@dataclass(frozen=True)
class Truth:
    """A metric's full-data value and change vs dense for one config; `constant_value`: every
    item of the config has one value, `constant_change`: so do dense's (no subsample can then
    differ from the truth, so an interval around it covers by construction and says nothing
    about calibration: tallied apart)."""

    value: float
    change: float
    log: bool
    constant_value: bool = False
    constant_change: bool = False
    ones: float | None = None  # 0/1 items: the config's share of ones
    discordant: float | None = None  # 0/1 items: the share of documents where the two differ


def full_values(paired: Paired, metric: str) -> Truth | None:
    """The truth of a metric on every document."""
    found = paired.samples(metric, list(range(len(paired.units))))
    if found is None:
        return None
    mine, dense, name = found
    form = linear_form(name)
    log = bool(form and form.log_scale)
    a, b = mine.statistic(), dense.statistic()
    change = math.log(a) - math.log(b) if log else a - b
    constant_value = len(set(mine.values)) == 1
    constant_change = constant_value and len(set(dense.values)) == 1
    ones = discordant = None
    if set(mine.values) | set(dense.values) <= {0, 1}:
        ones = statistics.fmean(mine.values)
        pairs = zip(mine.values, dense.values, strict=True)
        discordant = statistics.fmean(x != y for x, y in pairs)
    return Truth(a, change, log, constant_value, constant_change, ones, discordant)


def sparse(truth: Truth, items: int, what: str) -> bool | None:
    """Whether a 0/1 interval over `items` items expects fewer than 5 events: the rarer of
    ones and zeros (a value), discordant pairs (a change). There no interval that is not
    randomised can hold 95 % exactly: one valid at every truth covers more at most of them
    (a share of 1 in 120 over 60 items is 0 or 1 event half the time, and every interval
    valid near 0 covers it then). None: not 0/1 items."""
    if truth.ones is None:
        return None
    share = min(truth.ones, 1 - truth.ones) if what == "value" else truth.discordant
    return items * share < 5


def narrowed(interval, estimate: float, factor: float):
    """An interval narrowed around its estimate by `factor` (the finite population part)."""
    if interval is None or not math.isfinite(estimate):
        return None
    low, high = interval
    return estimate - (estimate - low) * factor, estimate + (high - estimate) * factor


@dataclass
class Tally:
    coverage: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    by_metric: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    by_size: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    draws: list[dict] = field(default_factory=list)  # per (draw, config): tested cells
    misses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    constant: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    by_events: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, size: str, metric: str, interval, truth: float,
            constant: bool = False, few_events: bool | None = None) -> None:  # fmt: skip
        """One interval's verdict: covered, or the truth below or above it. An interval around
        a metric constant in the reference goes to `constant` only; `few_events` (0/1 items,
        see `sparse`) sorts it by its expected events too."""
        covered = interval[0] <= truth <= interval[1]
        if constant:
            self.constant[kind].append(covered)
            return
        self.coverage[kind].append(covered)
        self.by_size[f"{kind} at {size} sizes"].append(covered)
        if few_events is not None:
            events = "fewer than 5" if few_events else "5 or more"
            self.by_events[f"{kind} with {events} expected events"].append(covered)
        # per metric over the quickstart's two sizes; another size (a user's own run) apart
        pooled = size in QUICK_SIZES
        self.by_metric[metric if pooled else f"{metric} at {size} sizes"].append(covered)
        if not covered:
            self.misses[kind]["truth below" if truth < interval[0] else "truth above"] += 1


def check_config(engine, paired_by_task, truths, sized, draws, rng, tally, label,
                 replace=False, by_document=BY_DOCUMENT) -> None:  # fmt: skip
    """Subsample every task of one config `draws` times at the sizes `sized` = (name, the
    size for a task key, in units or documents); intervals, tests and marks. `replace`: draw the
    units with replacement (the reference as an infinite population: nothing narrowed);
    `by_document`: the tasks drawn by document (`_draw`)."""
    size_name, size_of = sized
    for _ in range(draws):
        cells = []
        for key, paired in paired_by_task.items():
            paired, chosen, factor = _draw(paired, key in by_document, size_of(key), rng, replace)
            for kind, metrics in TYPES.items():
                for task_key, metric in metrics:
                    if task_key != key or (key, metric) not in truths:
                        continue
                    found = paired.samples(metric, chosen)
                    if found is None:
                        continue
                    mine, dense, name = found
                    truth = truths[(key, metric)]
                    value, change, log = truth.value, truth.change, truth.log
                    bounds = paired.mine.bounds.get(metric)
                    interval = value_interval(engine, mine, name, bounds=bounds)
                    estimate = mine.statistic()
                    interval = narrowed(interval, estimate, factor)
                    items = len(mine.values)
                    if interval is not None:
                        tally.add(kind, size_name, f"{key}/{metric} value", interval, value,
                                  truth.constant_value, sparse(truth, items, "value"))  # fmt: skip
                    inference = change_inference(engine, mine, dense, name, log, bounds)
                    if inference is None or inference.p_value is None:
                        continue
                    shown = narrowed(inference.interval, inference.estimate, factor)
                    few = sparse(truth, items, "change")
                    if shown is not None:
                        tally.add(kind, size_name, f"{key}/{metric} change", shown, change,
                                  truth.constant_change, few)  # fmt: skip
                    se = _se(inference)
                    cells.append(
                        {"key": (label, key, metric, len(chosen)), "p": inference.p_value, "se": se,
                         "truth": change, "confirmatory": (key, metric) in CONFIRMATORY}
                    )  # fmt: skip
        _mark(cells)
        tally.draws.append({"cells": cells})


def _draw(paired: Paired, by_document: bool, size: int, rng, replace: bool):
    """One subsample of `size`: (the paired items it keeps, the units chosen, the
    finite-population factor). Drawn by document, the documents keep the units they fall in;
    otherwise units are drawn."""
    total = paired.n_documents if by_document else len(paired.units)
    n = min(size, total)
    chosen = sorted(rng.choice(total, n, replace=replace).tolist())
    factor = 1.0 if replace else math.sqrt(1 - n / total)
    if by_document:
        paired = paired.documents(chosen)
        chosen = list(range(len(paired.units)))
    return paired, chosen, factor


def _se(inference) -> float | None:
    spread = inference.basis.spread
    return spread if spread and spread > 0 else None


def _mark(cells: list[dict]) -> None:
    """Benjamini-Hochberg within the confirmatory and the exploratory family, as the report."""
    for confirmatory in (True, False):
        family = [c for c in cells if c["confirmatory"] is confirmatory]
        for cell, q in zip(family, benjamini_hochberg([c["p"] for c in family]), strict=True):
            cell["marked"] = q <= 0.05


def on_shared_documents(task: Task, other: Task) -> Task:
    """`task` restricted to the documents `other` also scored (the seeds reference scored the
    quickstart's 300 CrowS-Pairs pairs, main's dense 600 of which 285 are the same, large's
    all 1,508), each once."""
    theirs, seen = set(other.items.keys), set()
    keep = []  # the first of a document scored twice (CrowS-Pairs holds one duplicate pair)
    for i, key in enumerate(task.items.keys):
        if key in theirs and key not in seen:
            keep.append(i)
            seen.add(key)
    items = task.items
    restricted = Items(
        keys=[items.keys[i] for i in keep],
        values={m: [v[i] for i in keep] for m, v in items.values.items()},
        docs=[items.docs[i] for i in keep] if items.docs else [],
        choices=[items.choices[i] for i in keep] if items.choices else [],
    )
    return Task(restricted, task.by, task.names, task.bounds)


def seeded_coverage(engine, pairs_by_task, draws, rng, tally,
                    by_document=BY_DOCUMENT) -> None:  # fmt: skip
    """3 of the Wanda seeds and a subsample per draw (the quickstart's size, and half of it;
    BBQ by question, as `check_config` draws it): the seed-level interval of the value and of
    the change vs dense against the mean over every seed (`pairs_by_task`: `seeded_tasks`).
    Where the subsample is every shared document, the triple of seeds is the only thing
    drawn, so each triple is taken once (exact over the 120 triples of 10)."""
    own = np.random.default_rng(3)  # CrowS-Pairs drew from the main stream first; the
    # metrics added after it their own, so adding them moved no other line's draws
    for key, metric in SEEDED:
        stream = rng if key == "crows_pairs" else own
        pairs = pairs_by_task.get(key)
        if pairs is None or len(pairs) < 3:
            continue
        full = [full_values(p, metric) for p in pairs]
        if any(f is None for f in full):
            continue
        truths = (statistics.fmean(f.value for f in full), statistics.fmean(f.change for f in full))
        per_document = key in by_document
        total = pairs[0].n_documents if per_document else len(pairs[0].units)
        triples = list(itertools.combinations(range(len(pairs)), 3))
        for size, n in (("quickstart", QUICK[key]), ("half quickstart", QUICK[key] // 2)):
            n = min(n, total)
            picks = (
                triples if n == total
                else [triples[i] for i in stream.integers(len(triples), size=draws)]
            )  # fmt: skip
            for picked in picks:
                chosen = sorted(stream.choice(total, n, replace=False).tolist())
                drawn = pairs
                if per_document:
                    drawn = [p.documents(chosen) for p in pairs]
                    chosen = list(range(len(drawn[0].units)))
                _seeded_draw(engine, drawn, full, metric, key, picked, chosen, n / total, size,
                             tally, truths)  # fmt: skip


SEEDED_NULL = [  # continuous metrics: a mean of 10 seeds' 0/1 outcomes is a share, which the
    # report would read by another rule than a dense job's 0/1s; a ratio of shares (BBQ's bias
    # scores) has no per-document mean either
    ("crows_pairs", "likelihood_diff"),
    ("perplexity", "token_perplexity"),  # a window's mean log-likelihood over the seeds
]


def seeded_null(engine, pairs_by_task, draws, rng) -> dict[str, dict[int | str, dict]]:
    """Each `SEEDED_NULL` metric of the seeds reference on the documents every seed shares
    with `main`'s dense (which only aligns them; `pairs_by_task`: `seeded_tasks`), read by
    `null_draws`; keyed by "task/metric" (one stream, the metrics in order: the first's draws
    do not depend on the others); a metric the seeds did not run is left out."""
    found = {}
    for key, metric in SEEDED_NULL:
        pairs = pairs_by_task.get(key)
        if pairs is None or len(pairs) <= MIN_SEEDS:
            continue
        sizes = (QUICK[key], QUICK[key] // 2)
        if drawn := null_draws(engine, pairs, metric, sizes, draws, rng):
            found[f"{key}/{metric}"] = drawn
    return found


MIN_SHARED_UNITS = 12  # fewer units shared with a sweep's dense (another draw of documents:
# `fresh`'s BBQ questions) are no subsample of a user's size


def seeded_tasks(seeds_rows, dense_row) -> dict[str, list[Paired]]:
    """Each seeded task (`SEEDED`, `SEEDED_NULL`) paired once, seed by seed, with the sweep's
    dense; what is left out is said, with why (a sweep on other documents shares too few:
    `fresh`'s BBQ questions), never dropped silently."""
    found = {}
    for key in dict.fromkeys(k for k, _ in (*SEEDED, *SEEDED_NULL)):
        pairs, why = seeded_pairs(seeds_rows, dense_row, key)
        if pairs is None:
            print(f"seeded {key}: left out, {why}")
        else:
            found[key] = pairs
            print(f"seeded {key}: {len(pairs)} seeds, {len(pairs[0].units)} units shared")
    return found


def seeded_pairs(seeds_rows, dense_row, key: str) -> tuple[list[Paired] | None, str]:
    """Each seed's task `key` paired with dense on the documents all of them share, in seed
    order; None (and why) where dense or every seed lacks it, the seeds' units differ, or
    they share fewer than MIN_SHARED_UNITS units with dense."""
    tasks = [t for r in seeds_rows if (t := task_of(r, key)) is not None]
    dense = task_of(dense_row, key)
    if dense is None or not tasks:
        return None, "not run by the seeds or by dense"
    pairs = [Paired.of(on_shared_documents(dense, t), on_shared_documents(t, dense)) for t in tasks]
    if any(p is None for p in pairs) or len({tuple(p.units) for p in pairs}) != 1:
        return None, "the seeds' documents do not pair alike with dense"
    shared = len(pairs[0].units)
    if shared < MIN_SHARED_UNITS:
        return None, f"{shared} units shared with dense (fewer than {MIN_SHARED_UNITS})"
    return pairs, ""


def seed_mean_items(samples: list[Sample]) -> list:
    """Each item's mean over the seeds' samples (the same items in the same order): a
    log-likelihood pair's first part averaged, its token count kept (a tuple, as items are
    read back)."""
    values = np.mean([s.values for s in samples], axis=0)
    return [tuple(v.tolist()) if np.ndim(v) else float(v) for v in values]


def seeds_align(pairs, metric) -> bool:
    """The seeds' items are the same documents in the same order (the dense side, which every
    pair shares, shows it)."""
    whole = [p.samples(metric, list(range(len(p.units)))) for p in pairs]
    if any(w is None for w in whole):
        return False
    return len({json.dumps(w[1].values) for w in whole}) == 1


def null_draws(engine, pairs, metric, sizes, draws, rng) -> dict[int | str, dict[str, list]]:
    """k seeds (3, MIN_SEEDS) against a pseudo-dense that scored each document as the mean of
    all the seeds: a change whose full-data value is exactly 0. Per k and draw (a size of
    `sizes` in resampling units at random): p <= 0.05, p <= 0.01, the interval holding 0 (its
    seed and document parts with their finite-population factors, as `_seeded_draw`), and a
    mark (p <= 0.05 with at least the report's MIN_SEEDS seeds; a family of one test); keyed
    by k, and by "k seeds, n documents" for each size apart (where every unit is drawn the
    documents' part is 0 and the test rests on the seeds' spread alone). {} where the seeds'
    documents do not align."""
    found: dict[int | str, dict[str, list]] = {}
    if not seeds_align(pairs, metric):
        return found
    n_units = len(pairs[0].units)
    name, bounds = pairs[0].samples(metric, [0, 1])[2], pairs[0].mine.bounds.get(metric)
    log = full_values(pairs[0], metric).log
    for k in (3, MIN_SEEDS):
        tally = found.setdefault(k, defaultdict(list))
        for _ in range(draws):
            picked = sorted(rng.choice(len(pairs), k, replace=False).tolist())
            n = min(int(rng.choice(sizes)), n_units)
            at_size = found.setdefault(f"{k} seeds, {n} documents", defaultdict(list))
            chosen = sorted(rng.choice(n_units, n, replace=False).tolist())
            every = [p.samples(metric, chosen)[0] for p in pairs]
            samples = [every[s] for s in picked]
            dense_like = Sample(seed_mean_items(every), samples[0].units, samples[0].aggregate,
                                samples[0].linear)  # fmt: skip
            finite = (k / len(pairs), n / n_units)
            change = seeded_change_inference(engine, samples, dense_like, name, log, bounds,
                                             finite)  # fmt: skip
            if change is None or change.p_value is None:
                continue
            interval = change.interval()  # its seed and document parts already finite
            for counts in (tally, at_size):
                counts["p_at_most_0.05"].append(change.p_value <= 0.05)
                counts["p_at_most_0.01"].append(change.p_value <= 0.01)
                if interval is not None:
                    counts["interval_holds_0"].append(interval[0] <= 0 <= interval[1])
                counts["marked"].append(k >= MIN_SEEDS and change.p_value <= 0.05)
    return found


def _seeded_draw(engine, pairs, full, metric, key, picked, chosen, share, size, tally, truths):
    """One draw of the seeded check (`share`: of the documents drawn): its value and change
    intervals, tallied."""
    truth_value, truth_change = truths
    found = [pairs[s].samples(metric, chosen) for s in picked]
    if any(f is None for f in found) or len({len(f[0].values) for f in found}) != 1:
        return
    finite = (3 / len(pairs), share)
    samples, dense_sample, log = [f[0] for f in found], found[0][1], full[0].log
    name, bounds = found[0][2], pairs[0].mine.bounds.get(metric)
    value = seeded_value_inference(engine, samples, name, bounds, finite)
    change = seeded_change_inference(engine, samples, dense_sample, name, log, bounds, finite)
    for what, inference, truth in (("value", value, truth_value), ("change", change, truth_change)):
        interval = inference.interval() if inference else None
        if interval is not None:
            tally.add("seeded", size, f"{key}/{metric} 3 seeds {what}", interval, truth)


def power_check(engine, paired_by_config, truths_by_config, draws, rng) -> list[tuple]:
    """For each real change, subsamples of the fewest units at which the report would state a
    detectable change (at the 5 % level) no larger than it; the share of draws whose test
    reaches p <= 0.05 against the power the page's rule gives at that change (80 % at the
    detectable change itself): (type, metric, size, measured, stated, change / detectable,
    draws counted).
    Units are drawn with replacement: the reference is then exactly the population the page's
    power speaks of (an infinite one with the reference's distribution), so what it states
    needs no finite-population correction (drawn without replacement, a subsample of a large
    share of the reference varies less than any test assumes and power comes out above the
    stated: 0/1 changes at 0.885 where the exact McNemar power said 0.785)."""
    out = []
    for label, paired_by_task in paired_by_config.items():
        truths = truths_by_config[label]
        for kind, metrics in TYPES.items():
            for key, metric in metrics:
                if (key, metric) not in truths or key not in paired_by_task:
                    continue
                paired, truth = paired_by_task[key], truths[(key, metric)]
                change, log = truth.change, truth.log
                size = _size_for(engine, paired, metric, abs(change), log, rng)
                if size is None:
                    continue
                n_units = len(paired.units)
                marked, stated, ratios = [], [], []
                for _ in range(draws):
                    chosen = sorted(rng.choice(n_units, size, replace=True).tolist())
                    found = paired.samples(metric, chosen)
                    inference = found and change_inference(engine, *found, log)
                    if not inference or inference.p_value is None:
                        continue
                    promised = _promised(inference.basis, abs(change))
                    if promised is None:
                        continue
                    marked.append(inference.p_value <= 0.05)
                    stated.append(promised[0])
                    ratios.append(promised[1])
                if marked:
                    name = f"{label} {key}/{metric}"
                    measured = (
                        float(np.mean(marked)),
                        float(np.mean(stated)),
                        float(np.median(ratios)),
                    )
                    out.append((kind, name, size, *measured, len(marked)))
    return out


def _promised(basis, change: float) -> tuple[float, float] | None:
    """What the page's rule promises for one subsample's test at the 5 % level: its power at
    the true `change` (the basis's own), and change / the detectable change it states."""
    stated = basis.detectable(0.05, POWER)
    if not stated:
        return None
    return basis.power(change, 0.05), change / stated


def _size_for(engine, paired, metric, change, log, rng) -> int | None:
    """The fewest units (10 to half the reference) at which a subsample's stated
    detectable change at the 5 % level is at most `change` (median over 5 pilot subsamples)."""
    n_units = len(paired.units)
    if change == 0 or n_units < 40:
        return None

    def stated(size: int) -> float:
        found = []
        for _ in range(5):
            chosen = sorted(rng.choice(n_units, size, replace=True).tolist())
            sample = paired.samples(metric, chosen)
            inference = sample and change_inference(engine, *sample, log)
            promised = inference and _promised(inference.basis, change)
            found.append(promised[1] if promised else 0.0)
        return float(np.median(found))

    low, high = 10, n_units // 2
    if stated(high) < 1:
        return None
    while low < high:  # the ratio change / detectable grows with the size
        middle = (low + high) // 2
        low, high = (middle + 1, high) if stated(middle) < 1 else (low, middle)
    return low


def rate(flags: list[bool], of: str = "intervals") -> str:
    if not flags:
        return "none"
    low, high = exact.wilson(sum(flags), len(flags))
    return f"{np.mean(flags):.3f} [{low:.3f}, {high:.3f}] ({len(flags)} {of})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, help="reference root (default: the cache's)")
    parser.add_argument("--draws", type=int, default=200, help="subsamples per size and config")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument(
        "--sweep", default="main", choices=["main", "fresh", "large", "gemma"],
        help="the reference's configs: main, fresh (other documents, the same sizes), "
             "large (log-likelihood dimensions at several times main's sizes; opt-in), or "
             "gemma (main's log-likelihood dimensions on a second model, with its own seeds; "
             "opt-in)",
    )  # fmt: skip
    parser.add_argument(
        "--bbq-draw", default="question", choices=["question", "template"],
        help="draw BBQ by question, as a user's run does (the default), or by whole template "
             "(the clusters the report's intervals model; see BY_DOCUMENT)",
    )  # fmt: skip
    parser.add_argument(
        "--design", default="without", choices=["without", "with"],
        help="subsample documents without replacement (intervals narrowed by the finite "
             "population factor) or with replacement (the reference as the population)",
    )  # fmt: skip
    parser.add_argument(
        "--skip-seeded", action="store_true",
        help="no seeded check (nor its sweep built): the second model's 20 Wanda seeds take "
             "about 50 minutes more on 2 cores",
    )  # fmt: skip
    args = parser.parse_args()
    quick, by_document = QUICK, BY_DOCUMENT
    if args.bbq_draw == "template":
        quick, by_document = QUICK | QUICK_IN_UNITS, BY_DOCUMENT - QUICK_IN_UNITS.keys()
    from reference import SEEDS_OF, TASKS_FROM, build, root_dir

    root = args.reference or root_dir()
    seeds_sweeps = () if args.skip_seeded else SEEDS_OF.get(args.sweep, SEEDS_OF["main"])
    tasks_from = TASKS_FROM.get(args.sweep, {})
    wanted = (args.sweep, *tasks_from.values(), *seeds_sweeps)
    missing = [s for s in dict.fromkeys(wanted) if s and not (root / s).is_dir()]
    if missing:
        print(f"building the reference in {root} (hours on 2 CPU cores; resumable)", flush=True)
        started = time.perf_counter()
        build(root, missing)
        print(f"reference built in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    engine = Engine(args.resamples, 0)
    main_rows = load(root / args.sweep)
    dense = next(r for r in main_rows.values() if r.is_dense)
    configs = [r for r in main_rows.values() if not r.is_dense]
    rows_of_task = {key: load(root / sweep) for key, sweep in tasks_from.items()}
    default_rng = np.random.default_rng(2)
    tally = Tally()
    own_rng = np.random.default_rng(3)
    paired_by_config, truths_by_config, units_read = {}, {}, defaultdict(set)
    for row in configs:
        paired_by_task, truths = paired_with_truths(QUICK, rows_of_task, row, dense)
        paired_by_config[row.label], truths_by_config[row.label] = paired_by_task, truths
        size_of = (lambda key: quick[key], lambda key: half_size(quick[key]))
        for name, size in zip(QUICK_SIZES, size_of, strict=True):
            check_config(engine, paired_by_task, truths, (name, size), args.draws, rng, tally,
                         f"{row.label} {name}", args.design == "with", by_document)  # fmt: skip
        defaults = {
            key: paired for key, paired in paired_by_task.items()
            if len(paired.units) >= 2 * BENCHMARK_DEFAULT.get(key, math.inf)
        }  # fmt: skip
        if defaults:  # on their own stream: adding them moved no other line's draws
            check_config(engine, defaults, truths, ("benchmark default", BENCHMARK_DEFAULT.get),
                         args.draws, default_rng, tally, f"{row.label} benchmark default",
                         args.design == "with", by_document)  # fmt: skip
        own, own_truths = paired_with_truths(BENCHMARK_ONLY, rows_of_task, row, dense)
        if own:  # on their own stream too
            check_config(engine, own, own_truths, ("benchmark default", BENCHMARK_ONLY.get),
                         args.draws, own_rng, tally, f"{row.label} benchmark default",
                         args.design == "with", by_document)  # fmt: skip
        for key, paired in {**paired_by_task, **own}.items():
            units_read[key].add(len(paired.units))
    for key, sweep in tasks_from.items():
        units = sorted(units_read[key])
        print(f"{key}: read from the {sweep} sweep, {units} units paired per config")
    nulls = {}
    if seeds_sweeps:
        seeds = [r for r in collect([root / name for name in seeds_sweeps]) if r.completed]
        pairs_by_task = seeded_tasks(seeds, dense)
        seeded_coverage(engine, pairs_by_task, args.draws, rng, tally)
        # its own stream: adding it moved no other line's draws
        nulls = seeded_null(engine, pairs_by_task, args.draws, np.random.default_rng(1))
    report(tally, power_check(engine, paired_by_config, truths_by_config, args.draws, rng))
    report_seeded_null(nulls)
    print(f"seconds={time.perf_counter() - started:.0f}")
    return 0


def report(tally: Tally, power: list[tuple]) -> None:
    print(f"data: {sum(len(d['cells']) for d in tally.draws)} tested changes in "
          f"{len(tally.draws)} subsampled configs")  # fmt: skip
    everything = []
    for kind, flags in tally.coverage.items():
        everything += flags
        sides = ", ".join(f"{side} {k}" for side, k in sorted(tally.misses[kind].items()))
        print(f"coverage={rate(flags)}  type={kind}  misses: {sides or 'none'}")
    print(f"interval_coverage={rate(everything)}  (goal 0.93-0.97)")
    for kind, flags in tally.constant.items():
        print(f"  not counted: {kind} intervals of metrics constant in the reference (every "
              f"subsample equals the truth, covered by construction): {rate(flags)}")  # fmt: skip
    for name, flags in sorted(tally.by_size.items()):
        print(f"  {name}: {rate(flags)}")
    for name, flags in sorted(tally.by_events.items()):
        print(f"  {name}: {rate(flags)}  (intervals of 0/1 items; see `sparse`)")
    for name, flags in sorted(tally.by_metric.items()):
        print(f"  {name}: {rate(flags)}")
    nulls = [c for d in tally.draws for c in d["cells"]
             if c["se"] and abs(c["truth"]) < 0.1 * c["se"]]  # fmt: skip
    marked = [c["marked"] for c in nulls]
    if not marked:
        print("false_finding_rate=none  (no real change is below a tenth of its subsample's "
              "standard error here: nothing to count false marks on)")  # fmt: skip
    else:
        print(
            f"false_finding_rate={np.mean(marked):.4f}  "
            f"({sum(marked)} marks on {len(nulls)} null changes from "
            f"{len({c['key'][:3] for c in nulls})} metric/config pairs; goal <= 0.05)"
        )
    for alpha in (0.05, 0.01, 1e-3, 1e-4):
        below = sum(c["p"] <= alpha for c in nulls)
        print(f"p_at_most_{alpha:g}={below / max(len(nulls), 1):.4f}  ({below} of {len(nulls)})")
    beyond = 0  # gaps over 0.05 that the draws' own Monte Carlo error does not explain
    for kind, name, size, share, stated, ratio, draws in power:
        low, high = exact.wilson(share * draws, draws)
        beyond += low > stated + 0.05 or high < stated - 0.05
        print(f"power_at_detectable={share:.3f} [{low:.3f}, {high:.3f}]  stated={stated:.3f}  "
              f"{name} ({kind}): {size} units, change / stated detectable {ratio:.2f}")  # fmt: skip
    gaps = [share - stated for *_, share, stated, _, _ in power]
    if gaps:
        within = sum(abs(g) <= 0.05 for g in gaps)
        print(f"power_gap_max={max(map(abs, gaps)):.3f}  ({within} of {len(gaps)} changes within "
              f"0.05 of the stated power; goal <= 0.05)")  # fmt: skip
        print(f"power_gap_beyond_noise={beyond}  (changes whose measured power's 95 % interval "
              f"over its draws lies wholly more than 0.05 from the stated)")  # fmt: skip
        print(f"power_shortfall_max={max(0.0, -min(gaps)):.3f}  (the most measured power fell "
              f"below the stated: the page promising too much)")  # fmt: skip


def report_seeded_null(nulls: dict[str, dict[int | str, dict[str, list]]]) -> None:
    """Per k seeds, every null metric pooled, then each metric and size apart; the false
    finding rate pooled and per metric."""
    pooled: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for found in nulls.values():
        for k, tally in found.items():
            if isinstance(k, int):
                for what, flags in tally.items():
                    pooled[k][what] += flags
    for k, tally in sorted(pooled.items()):
        print(f"seeded_null_{k}_seeds: {_null_shares(tally)}  ({', '.join(nulls)})")
    for metric, found in nulls.items():
        for k, tally in sorted(found.items(), key=lambda kv: (isinstance(kv[0], str), kv[0])):
            print(f"  {metric} {k if isinstance(k, str) else f'{k} seeds'}: {_null_shares(tally)}")
    marked = pooled.get(MIN_SEEDS, {}).get("marked")
    if marked:
        apart = ", ".join(f"{m} {np.mean(f[MIN_SEEDS]['marked']):.4f}" for m, f in nulls.items())
        print(
            f"seeded_false_finding_rate={np.mean(marked):.4f}  ({sum(marked)} marks on "
            f"{len(marked)} null changes of {MIN_SEEDS} seeds: {apart}; goal <= 0.05)"
        )


def _null_shares(tally: dict[str, list]) -> str:
    return "  ".join(f"{what}={rate(flags, 'nulls')}" for what, flags in tally.items()
                     if what != "marked")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
