"""One cell's numbers from the kept items: the interval of a metric (or of one group of it, as
`bbq/bias_ambig/category=Age`) and its change vs dense, on the same documents or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from compsafe.report import seeded
from compsafe.report.inference import detectable_change, p_value
from compsafe.report.items import Items, Pairing, pair, read_items
from compsafe.report.stats import Resampled, Resampler, percentile_interval
from compsafe.report.tasks import ITEM_AGGREGATIONS, Aggregation, task_resample_by
from compsafe.results import ITEMS_DIR

if TYPE_CHECKING:
    from compsafe.report.analysis import Cell, Row

# What picks a job's documents: jobs differing here hold other items (compared when no items).
SUBSET_OPTIONS = ("sample_size", "seed")


@dataclass(frozen=True)
class MetricKey:
    """`<task key>/<metric>` or a group of it, `<task key>/<metric>/<field>=<value>`."""

    text: str  # as results.json writes it
    task_key: str
    metric: str
    group: tuple[str, str] | None = None  # (document field, its value as text)

    @classmethod
    def parse(cls, key: str) -> MetricKey | None:
        """None for keys that are neither (none in results.json today)."""
        parts = key.split("/", 2)
        if len(parts) == 2:
            return cls(key, parts[0], parts[1])
        if len(parts) == 3 and "=" in parts[2]:
            name, _, value = parts[2].partition("=")
            return cls(key, parts[0], parts[1], (name, value))
        return None


def group_keys(row: Row) -> list[str]:
    """The row's group breakdowns (`<task key>/<metric>/<field>=<value>`) in results.json."""
    keys = (row.record.get("metrics") or {}).keys()
    return [k for k in keys if (parsed := MetricKey.parse(k)) and parsed.group]


@dataclass
class CellMaker:
    """Fills cells from items read once per job and task, pairings made once per job pair, and
    resample statistics shared by a job's interval and its change; collects the report's notes
    on what could not be compared."""

    resampler: Resampler
    aggregations: dict[str, dict[str, Aggregation]]
    notes: dict[str, None] = field(default_factory=dict)  # ordered, without repeats
    _seeded: seeded.SeededStats | None = field(default=None, repr=False)
    _items: dict[tuple[int, str], Items | None] = field(default_factory=dict)
    _pairings: dict[tuple[int, int, str], Pairing | None] = field(default_factory=dict)

    def items(self, row: Row, task_key: str) -> Items | None:
        """A row's items of one task, read once however many of its metrics need them."""
        key = (id(row), task_key)
        if key not in self._items:
            self._items[key] = read_items(row.folder / ITEMS_DIR / f"{task_key}.jsonl")
        return self._items[key]

    def aggregation(self, row: Row, key: MetricKey) -> Aggregation | None:
        """The task YAML's aggregation, else one of ours (continuation perplexity); None where
        the job did not record the task."""
        task = row.task_name(key.task_key)
        return self.aggregations.get(task or "", {}).get(key.metric) or (
            ITEM_AGGREGATIONS.get(key.metric) if task else None
        )

    def fill(self, cell: Cell, row: Row, dense: Row | None, key: MetricKey) -> None:
        """The cell's interval, and its change vs dense where both jobs hold the same items,
        with its p-value and the smallest change its items could detect. A config run with
        several calibration seeds resamples seeds and documents together (`report.seeded`)."""
        aggregate = self.aggregation(row, key)
        by = task_resample_by(row.task_name(key.task_key))
        items = self.items(row, key.task_key) if aggregate else None
        positions = self._positions(items, key) if items else []
        cell.n_items = len(positions) if items else None
        if items and positions and by and self.resampler.units(items, positions, by) is None:
            self._note(
                key.task_key,
                f"{row.label} ({row.model}): items lack `{by}`, which "
                "the task resamples by (kept before it existed): no interval",
            )
        base = dense.metric(key.text) if dense is not None and dense is not row else None
        compared = base is not None and self._comparable(row, dense, key.task_key)
        if compared:
            cell.delta = cell.value - base
        if not (items and positions):
            return
        if row.seeded:
            change = self._fill_seeded(cell, row, dense if compared else None, key, positions)
        else:
            cell.interval = self.resampler.interval(items, key.metric, positions, aggregate, by)
            change = self._change(row, dense, key, positions) if compared else None
        if change is not None:
            cell.delta_interval = change.interval()
            cell.n_paired = change.items
            cell.p_value = p_value(change.stats, change.difference, change.units)
            cell.detectable = detectable_change(change.stats)

    def _change(
        self, row: Row, dense: Row, key: MetricKey, positions: list[int]
    ) -> Resampled | None:
        """Ours minus dense on the paired items of one job, jointly resampled."""
        items, dense_items = self.items(row, key.task_key), self.items(dense, key.task_key)
        aggregate = self.aggregation(row, key)
        if not (items and dense_items and aggregate):
            return None
        chosen = set(positions)
        pairs = [p for p in self._pairing(row, dense, key.task_key).pairs if p[0] in chosen]
        by = task_resample_by(row.task_name(key.task_key))
        return self.resampler.change_stats(items, dense_items, pairs, key.metric, aggregate, by)

    def _fill_seeded(
        self, cell: Cell, row: Row, dense: Row | None, key: MetricKey, positions: list[int]
    ) -> Resampled | None:
        """The interval over seeds and documents of a seeded config, and its change vs dense
        on the same document draws; a note where its seeds scored other documents."""
        head = self.items(row, key.task_key)
        aggregate = self.aggregation(row, key)
        by = task_resample_by(row.task_name(key.task_key))
        units = self.resampler.units(head, positions, by)
        columns = []
        for job in row.jobs:
            theirs = self.items(job, key.task_key)
            where = seeded.aligned(self._pairing(job, row, key.task_key), positions)
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
        if self._seeded is None:
            self._seeded = seeded.SeededStats(self.resampler.iterations, self.resampler.seed)
        draws = seeded.document_draws(units, self.resampler.iterations, self.resampler.seed)
        stats = self._seeded.value(columns, aggregate, draws)
        cell.interval = percentile_interval(stats)
        if dense is None:
            return None
        dense_items = self.items(dense, key.task_key)
        where = seeded.aligned(self._pairing(dense, row, key.task_key), positions)
        if where is None:
            return None
        memo = (id(dense_items), key.metric, tuple(where), by)
        base = self._seeded.dense(
            memo, [dense_items.values[key.metric][i] for i in where], aggregate, draws
        )
        with np.errstate(invalid="ignore"):
            change = stats - base
        return Resampled(cell.delta, change, len(positions), len(units))

    @staticmethod
    def _positions(items: Items, key: MetricKey) -> list[int]:
        """The items of the metric (of its group only, for a group key)."""
        positions = items.positions(key.metric)
        if key.group is None:
            return positions
        members = set(items.groups(key.group[0]).get(key.group[1], ()))
        return [p for p in positions if p in members]

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
    bench = (row.record.get("benchmarks") or {}).get(task_key) or {}
    options = bench.get("options") or {}
    return {"items": bench.get("samples"), **{k: options.get(k) for k in SUBSET_OPTIONS}}
