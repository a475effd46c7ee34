"""One cell's numbers from the kept items: the interval of a metric (or of one group of it, as
`bbq/bias_ambig/category=Age`) and its change vs dense, on the same documents or not at all.

Each job's record names the aggregation of every metric and the task's resampling unit; the
items come through the results contract, read once per job and task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compsafe.report.data.cells import Cell
from compsafe.report.data.pairing import MetricKey, Pairing, aligned, pair, positions
from compsafe.report.data.records import Row
from compsafe.report.stats.bootstrap import (
    Bootstrap,
    Resampled,
    aggregate_draws,
    percentile_interval,
)
from compsafe.report.stats.inference import detectable_change, p_value
from compsafe.results.aggregations import Aggregation, aggregation
from compsafe.results.files import job_items
from compsafe.results.items import Items, read_items

# What picks a job's documents: jobs differing here hold other items (compared when no items).
SUBSET_OPTIONS = ("sample_size", "seed")


def row_aggregation(row: Row, key: MetricKey) -> Aggregation | None:
    """The aggregation the row's record names for the metric (None: none it can recompute)."""
    entry = row.entry(key.task_key, key.metric)
    return aggregation(entry.aggregation) if entry else None


def resample_by(row: Row, task_key: str) -> str | None:
    task = row.tasks.get(task_key)
    return task.resample_by if task else None


@dataclass
class CellMaker:
    """Fills cells from items read once per job and task, pairings made once per job pair, and
    resample statistics shared by a job's interval and its change; collects the report's notes
    on what could not be compared."""

    bootstrap: Bootstrap
    notes: dict[str, None] = field(default_factory=dict)  # ordered, without repeats
    _items: dict[tuple[int, str], Items | None] = field(default_factory=dict)
    _pairings: dict[tuple[int, int, str], Pairing | None] = field(default_factory=dict)
    _dense: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)

    def items(self, row: Row, task_key: str) -> Items | None:
        """A row's items of one task, read once however many of its metrics need them."""
        key = (id(row), task_key)
        if key not in self._items:
            self._items[key] = read_items(job_items(row.folder, task_key))
        return self._items[key]

    def fill(self, cell: Cell, row: Row, dense: Row | None, key: MetricKey) -> None:
        """The cell's interval, and its change vs dense where both jobs hold the same items,
        with its p-value and the smallest change its items could detect. A config run with
        several calibration seeds resamples seeds and documents together."""
        aggregate = row_aggregation(row, key)
        by = resample_by(row, key.task_key)
        items = self.items(row, key.task_key) if aggregate else None
        chosen = positions(items, key) if items else []
        cell.n_items = len(chosen) if items else None
        if items and chosen and by and self.bootstrap.units(items, chosen, by) is None:
            self._note(
                key.task_key,
                f"{row.label} ({row.model}): items lack `{by}`, which "
                "the task resamples by (kept before it existed): no interval",
            )
        base = dense.metric(key.text) if dense is not None and dense is not row else None
        compared = base is not None and self._comparable(row, dense, key.task_key)
        if compared:
            cell.delta = cell.value - base
        if not (items and chosen):
            return
        if row.seeded:
            change = self._fill_seeded(cell, row, dense if compared else None, key, chosen)
        else:
            cell.interval = self.bootstrap.interval(items, key.metric, chosen, aggregate, by)
            change = self._change(row, dense, key, chosen) if compared else None
        if change is not None:
            cell.delta_interval = change.interval()
            cell.n_paired = change.items
            cell.p_value = p_value(change.stats, change.difference, change.units)
            cell.detectable = detectable_change(change.stats)

    def _change(self, row: Row, dense: Row, key: MetricKey, chosen: list[int]) -> Resampled | None:
        """Ours minus dense on the paired items of one job, jointly resampled."""
        items, dense_items = self.items(row, key.task_key), self.items(dense, key.task_key)
        aggregate = row_aggregation(row, key)
        if not (items and dense_items and aggregate):
            return None
        kept = set(chosen)
        pairs = [p for p in self._pairing(row, dense, key.task_key).pairs if p[0] in kept]
        by = resample_by(row, key.task_key)
        return self.bootstrap.change(items, dense_items, pairs, key.metric, aggregate, by)

    def _fill_seeded(
        self, cell: Cell, row: Row, dense: Row | None, key: MetricKey, chosen: list[int]
    ) -> Resampled | None:
        """The interval over seeds and documents of a seeded config, and its change vs dense
        on the same document draws; a note where its seeds scored other documents."""
        head = self.items(row, key.task_key)
        aggregate = row_aggregation(row, key)
        units = self.bootstrap.units(head, chosen, resample_by(row, key.task_key))
        columns = []
        for job in row.jobs:
            theirs = self.items(job, key.task_key)
            where = aligned(self._pairing(job, row, key.task_key), chosen)
            if where is None:
                self._note(
                    key.task_key,
                    f"{row.label} ({row.model}): its seeds scored other documents: "
                    "no interval over seeds",
                )
                return None
            columns.append([theirs.values[key.metric][i] for i in where])
        if units is None or len(units) < 2:
            return None
        draws = self.bootstrap.draws(units, reused=True)
        stats = self.bootstrap.two_stage(columns, aggregate, draws)
        cell.interval = percentile_interval(stats)
        if dense is None:
            return None
        dense_items = self.items(dense, key.task_key)
        where = aligned(self._pairing(dense, row, key.task_key), chosen)
        if where is None:
            return None
        memo = (id(dense_items), key.metric, tuple(where), units)
        if memo not in self._dense:  # every seeded config on the same documents reuses it
            values = [dense_items.values[key.metric][i] for i in where]
            self._dense[memo] = aggregate_draws(values, aggregate, draws)
        with np.errstate(invalid="ignore"):
            change = stats - self._dense[memo]
        return Resampled(cell.delta, change, len(chosen), len(units))

    def _pairing(self, row: Row, dense: Row, task_key: str) -> Pairing | None:
        """The two jobs' items paired by document (None when either kept none)."""
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

    def _note(self, task_key: str, text: str) -> None:
        self.notes[f"{task_key}: {text}."] = None


def _subset(row: Row, task_key: str) -> dict[str, Any]:
    """What a job recorded about which documents it drew: its item count and subset options."""
    bench = row.benchmark(task_key)
    options = bench.get("options") or {}
    return {"items": bench.get("samples"), **{k: options.get(k) for k in SUBSET_OPTIONS}}
