"""One cell's numbers from the kept items: the interval of a metric (or of one group of it, as
`bbq/bias_ambig/category=Age`) and its change vs dense, on the same documents or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compsafe.report.items import Items, Pairing, pair, read_items
from compsafe.report.stats import Resampler, significant
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
        """The cell's interval, and its change vs dense where both jobs hold the same items."""
        aggregate = self.aggregation(row, key)
        by = task_resample_by(row.task_name(key.task_key))
        items = self.items(row, key.task_key) if aggregate else None
        positions = self._positions(items, key) if items else []
        if items and positions:
            if by is not None and self.resampler.units(items, positions, by) is None:
                self._note(
                    key.task_key,
                    f"{row.label} ({row.model}): items lack `{by}`, which "
                    "the task resamples by (kept before it existed): no interval",
                )
            cell.interval = self.resampler.interval(items, key.metric, positions, aggregate, by)
        base = dense.metric(key.text) if dense is not None and dense is not row else None
        if base is None or not self._comparable(row, dense, key.task_key):
            return
        cell.delta = cell.value - base
        dense_items = self.items(dense, key.task_key) if aggregate else None
        if items and dense_items:
            chosen = set(positions)
            pairs = [p for p in self._pairing(row, dense, key.task_key).pairs if p[0] in chosen]
            cell.delta_interval = self.resampler.change(
                items, dense_items, pairs, key.metric, aggregate, by
            )
            cell.significant = significant(cell.delta_interval)

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
