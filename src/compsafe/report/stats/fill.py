"""One cell's numbers from the kept items: the value's interval, and the change vs dense on the
same documents with its test, or not at all.

Which inference a cell gets follows from its metric and its config:
- a 0/1 metric (a mean of 0/1 items, resampled by item): Wilson's interval for the value,
  Newcombe's paired interval for the change, McNemar's exact test;
- a 0/1 metric over clusters (BBQ by template): the cluster bootstrap's interval for the value,
  Newcombe's over the effective number of items for the change, the cluster permutation test;
- any other metric: bootstrap intervals over the task's resampling units (the symmetric
  bootstrap-t, or BCa where it cannot be had), a paired
  permutation test (its resamples extended later where a mark depends on them), a perplexity's
  change as a ratio on the log scale;
- a config with several calibration seeds: the seed as a unit (`seeds.py`);
- a calibrated method's single job: the same, said to be conditional on its one calibration.
A change whose items lack a value in either job (a metric of fluent text only) rests on the
items both have: the cell then shows that change, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compsafe.report.data.cells import Cell
from compsafe.report.data.pairing import MetricKey, Pairing, aligned, pair, positions
from compsafe.report.data.records import Row
from compsafe.report.stats.bootstrap import MIN_INTERVAL_UNITS, Engine, Sample, units_of
from compsafe.report.stats.flips import flips as answer_flips
from compsafe.report.stats.infer import (
    SHARE_READ_AS,
    change_inference,
    mass_point,
    seeded_change_inference,
    seeded_value_inference,
    share_items,
    value_interval,
)
from compsafe.report.stats.power import SeedBasis
from compsafe.report.stats.seeds import MIN_SEEDS
from compsafe.results.aggregations import aggregation, linear_form
from compsafe.results.files import job_items
from compsafe.results.items import Items, read_items

# What picks a job's documents: jobs differing here hold other items (compared when no items).
SUBSET_OPTIONS = ("sample_size", "seed")
MIN_UNITS = 30  # a group's change is marked only on at least this many resampling units


@dataclass
class Metric:
    """How one row computes one metric: its aggregation and resampling unit, from its record."""

    name: str | None
    by: str | None
    bounds: tuple[float, float] | None = None  # an item's lowest and highest value
    item: Callable[[Any], Any] | None = None  # a share's item as a 0/1 one (`share_items`)

    def values(self, items: Items, metric: str, where: list[int]) -> list[Any]:
        raw = [items.values[metric][p] for p in where]
        return [self.item(v) for v in raw] if self.item else raw

    def counted(self, items: Items, metric: str, where: list[int]) -> list[int]:
        """The positions whose item the metric counts (a share's: those it is over)."""
        if self.item is None:
            return where
        return [
            p
            for p, v in zip(where, self.values(items, metric, where), strict=True)
            if v is not None
        ]

    @property
    def aggregate(self):
        return aggregation(self.name)

    @property
    def linear(self):
        return linear_form(self.name)

    @property
    def log(self) -> bool:
        return bool(self.linear and self.linear.log_scale)


def metric_of(row: Row, key: MetricKey) -> Metric | None:
    entry = row.entry(key.task_key, key.metric)
    task = row.tasks.get(key.task_key)
    if entry is None or aggregation(entry.aggregation) is None:
        return None
    by = task.resample_by if task else None
    item = share_items(entry.aggregation)
    if item is not None:
        return Metric(SHARE_READ_AS, by, (0.0, 1.0), item)
    return Metric(entry.aggregation, by, entry.bounds)


@dataclass
class CellMaker:
    """Fills cells from items read once per job and task and pairings made once per job pair;
    collects the report's notes on what could not be compared."""

    engine: Engine
    notes: dict[str, None] = field(default_factory=dict)  # ordered, without repeats
    _items: dict[tuple[int, str], Items | None] = field(default_factory=dict)
    _pairings: dict[tuple[int, int, str], Pairing | None] = field(default_factory=dict)

    def items(self, row: Row, task_key: str) -> Items | None:
        key = (id(row), task_key)
        if key not in self._items:
            self._items[key] = read_items(job_items(row.folder, task_key))
        return self._items[key]

    def fill(self, cell: Cell, row: Row, dense: Row | None, key: MetricKey) -> None:
        metric = metric_of(row, key)
        items = self.items(row, key.task_key) if metric else None
        chosen = metric.counted(items, key.metric, positions(items, key)) if items else []
        cell.n_items = len(chosen) if items else None
        cell.is_group = key.group is not None
        base = dense.metric(key.text) if dense is not None and dense is not row else None
        compared = base is not None and self._comparable(row, dense, key.task_key)
        if compared:
            cell.delta = cell.value - base
        if not (items and chosen):
            return
        units = units_of(items, chosen, metric.by)
        if units is None:
            self._note(
                key.task_key,
                f"{row.label} ({row.model}): items lack `{metric.by}`, "
                "which the task resamples by (kept before it existed): no interval",
            )
            return
        if row.seeded:
            self._fill_seeded(cell, row, dense if compared else None, key, metric, chosen)
            return
        sample = self._sample(items, key.metric, chosen, units, metric)
        self._value(cell, sample, metric, f"{key.task_key}: {key.text} of {row.label}")
        if row.compression.get("calibration") and not row.is_dense:
            cell.conditional = f"one calibration draw (seed {row.seed})"
        if compared:
            self._change(cell, row, dense, key, metric, chosen, base)

    @staticmethod
    def _sample(items: Items, metric: str, where: list[int], units, how: Metric) -> Sample:
        return Sample(how.values(items, metric, where), units, how.aggregate, how.linear)

    def _value(self, cell: Cell, sample: Sample, metric: Metric, where: str) -> None:
        cell.interval = value_interval(self.engine, sample, metric.name, bounds=metric.bounds)
        if mass_point(sample, metric.name, metric.bounds) is not None:
            self._note(
                where,
                f"fewer than {MIN_INTERVAL_UNITS} items (or clusters) differ from the most "
                "common value: "
                + ("interval from the metric's bounds" if metric.bounds else "no interval"),
            )
        elif cell.interval is None and len(sample.units) >= MIN_INTERVAL_UNITS:
            share = self.engine.value(sample).nonfinite
            self._note(where, f"interval withheld: {share:.0%} of its resamples are not finite")
        elif cell.interval is None and len(sample.units) >= 2:
            self._note(
                where,
                f"interval withheld: {len(sample.units)} resampling units (a bootstrap needs "
                f"at least {MIN_INTERVAL_UNITS})",
            )

    def _pairs(self, row: Row, dense: Row, key: MetricKey, chosen: list[int], metric: Metric):
        """(ours, dense) positions of the documents both jobs have a value of the metric for."""
        ours, theirs = self.items(row, key.task_key), self.items(dense, key.task_key)
        pairing = self._pairing(row, dense, key.task_key)
        if not (ours and theirs and pairing) or pairing.refusal:
            return None
        kept = set(chosen)
        mine, other = ours.values.get(key.metric), theirs.values.get(key.metric)
        if mine is None or other is None:
            return None
        valued = [j for _, j in pairing.pairs if other[j] is not None]
        theirs_kept = set(metric.counted(theirs, key.metric, valued))
        return [(i, j) for i, j in pairing.pairs if i in kept and j in theirs_kept]

    def _change(self, cell, row, dense, key, metric, chosen, base) -> None:
        pairs = self._pairs(row, dense, key, chosen, metric)
        if not pairs or len(pairs) < 2:
            return
        ours, theirs = self.items(row, key.task_key), self.items(dense, key.task_key)
        mine_pos, dense_pos = [i for i, _ in pairs], [j for _, j in pairs]
        units = units_of(ours, mine_pos, metric.by)
        mine = self._sample(ours, key.metric, mine_pos, units, metric)
        other = self._sample(theirs, key.metric, dense_pos, units, metric)
        cell.n_paired, cell.units = len(pairs), len(units)
        cell.eligible = not cell.is_group or len(units) >= MIN_UNITS
        cell.paired_only = len(pairs) < (cell.n_items or 0)
        if cell.paired_only:  # what is tested: the change on the items both jobs have
            cell.delta = mine.statistic() - other.statistic()
        if len(units) < 2:
            return
        found = change_inference(self.engine, mine, other, metric.name, metric.log, metric.bounds)
        if found is None:
            return
        cell.p_value, cell.p_error, cell.test = found.p_value, found.p_error, found.test
        cell.power_basis, cell.change_at = found.basis, found.interval_at
        if metric.log and math.isfinite(found.estimate):
            cell.ratio = math.exp(found.estimate)  # the estimate, with or without an interval
        if found.interval is None:
            return
        if metric.log:
            cell.ratio_interval = tuple(math.exp(x) for x in found.interval)
            low, high = (base * (r - 1) for r in cell.ratio_interval)
            cell.delta_interval = (cell.delta, low, high)
        else:
            cell.delta_interval = (cell.delta, *found.interval)

    def _fill_seeded(self, cell, row, dense, key, metric, chosen) -> None:
        """The seed as a unit: per-seed values and changes on the same documents."""
        head = self.items(row, key.task_key)
        units = units_of(head, chosen, metric.by)
        samples = []
        for job in row.jobs:
            theirs = self.items(job, key.task_key)
            where = aligned(self._pairing(job, row, key.task_key), chosen)
            if where is None or theirs is None:
                self._note(
                    key.task_key,
                    f"{row.label} ({row.model}): its seeds scored other "
                    "documents: no interval over seeds",
                )
                return
            samples.append(self._sample(theirs, key.metric, where, units, metric))
        if len(units) < 2:
            return
        value = seeded_value_inference(self.engine, samples, metric.name, metric.bounds)
        cell.interval = value.interval() if value else None
        if (
            value
            and cell.value is not None
            and not math.isclose(value.estimate, cell.value, rel_tol=1e-6, abs_tol=1e-9)
        ):
            cell.interval = None  # a metric of fluent text only: each seed's own items
            self._note(
                key.task_key,
                f"{row.label} ({row.model}): {key.text}: its seeds valued different items "
                "(fluent text only): no interval over seeds around the seeds' mean",
            )  # fmt: skip
        if len(samples) < MIN_SEEDS:
            cell.withheld = f"{len(samples)} calibration seeds < {MIN_SEEDS}"
        if dense is None:
            return
        dense_items = self.items(dense, key.task_key)
        where = aligned(self._pairing(dense, row, key.task_key), chosen)
        if where is None or dense_items is None:
            return
        reference = self._sample(dense_items, key.metric, where, units, metric)
        change = seeded_change_inference(
            self.engine, samples, reference, metric.name, metric.log, metric.bounds
        )
        cell.n_paired, cell.units = len(chosen), len(units)
        cell.eligible = not cell.is_group or len(units) >= MIN_UNITS
        if change is None:
            return
        interval = change.interval()
        if metric.log and interval is not None:
            cell.ratio = math.exp(change.estimate)
            cell.ratio_interval = tuple(math.exp(x) for x in interval)
            base = reference.statistic()
            cell.delta_interval = (
                cell.delta,
                base * (cell.ratio_interval[0] - 1),
                base * (cell.ratio_interval[1] - 1),
            )
        elif interval is not None:
            cell.delta_interval = (cell.delta, *interval)
        cell.change_at = change.interval
        cell.p_value, cell.test = change.p_value, f"seed-level t ({change.df:.1f} df)"
        cell.power_basis = SeedBasis(len(samples), change.standard_error, change.df)

    def flips(self, rows: list[Row], dense_of) -> dict:
        """Per (row, task key): the answers that changed vs dense (multiple-choice tasks)."""
        out = {}
        for row in rows:
            dense = dense_of(row)
            if dense is None or dense is row:
                continue
            for task_key in row.tasks:
                ours, theirs = self.items(row, task_key), self.items(dense, task_key)
                pairing = self._pairing(row, dense, task_key) if ours and theirs else None
                if pairing is None or pairing.refusal:
                    continue
                found = answer_flips(row, task_key, ours, theirs, pairing)
                if found is not None:
                    out[(id(row), task_key)] = found
        return out

    def _pairing(self, row: Row, dense: Row, task_key: str) -> Pairing | None:
        key = (id(row), id(dense), task_key)
        if key not in self._pairings:
            ours, theirs = self.items(row, task_key), self.items(dense, task_key)
            self._pairings[key] = pair(ours, theirs) if ours and theirs else None
        return self._pairings[key]

    def _comparable(self, row: Row, dense: Row, task_key: str) -> bool:
        """Both jobs scored the same documents: by their items, else (no items kept) by the
        item count and subset options they recorded. A note says why not."""
        pairing = self._pairing(row, dense, task_key)
        if pairing is not None:
            reason = pairing.refusal
        else:
            ours, theirs = _subset(row, task_key), _subset(dense, task_key)
            reason = None if ours == theirs else f"other items than dense ({ours} vs {theirs})"
        if reason:
            self._note(task_key, f"{row.label} ({row.model}) not compared with dense: {reason}")
        return reason is None

    def _note(self, where: str, text: str) -> None:
        self.notes[f"{where}: {text}."] = None


def _subset(row: Row, task_key: str) -> dict[str, Any]:
    bench = row.benchmark(task_key)
    options = bench.get("options") or {}
    return {"items": bench.get("samples"), **{k: options.get(k) for k in SUBSET_OPTIONS}}
