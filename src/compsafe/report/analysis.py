"""From sweep folders to numbers: each metric of each config, its interval, its change vs dense."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compsafe.report.catalogue import DIMENSIONS, Metric
from compsafe.report.stats import (
    ITEM_AGGREGATIONS,
    Aggregation,
    Items,
    bootstrap_interval,
    paired_difference,
    read_items,
    significant,
    task_aggregations,
)
from compsafe.report.table import collect
from compsafe.results import COMPLETED, FAILED_FILE, ITEMS_DIR, JOBS_FILE, RESULTS_FILE


@dataclass
class Row:
    """One job: a compression config of one model in one sweep."""

    sweep: Path
    folder: Path
    record: dict[str, Any]

    @property
    def compression(self) -> dict[str, Any]:
        return self.record.get("compression") or {}

    @property
    def model(self) -> str:
        return (self.record.get("model") or {}).get("name") or "?"

    @property
    def label(self) -> str:
        return self.compression.get("label") or self.compression.get("method") or "?"

    @property
    def method(self) -> str:
        return self.compression.get("method") or "?"

    @property
    def is_dense(self) -> bool:
        return self.method == "none"

    @property
    def completed(self) -> bool:
        return self.record.get("status") == COMPLETED

    @property
    def kind(self) -> str:
        """unstructured | N:M | quantized | dense, for figures."""
        if self.is_dense:
            return "dense"
        if self.compression.get("quantize"):  # a quantizer alone records itself here too
            return "quantized"
        return "N:M" if self.compression.get("pattern") == "N:M" else "unstructured"

    def metric(self, key: str) -> float | None:
        value = (self.record.get("metrics") or {}).get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def task_option(self, task_key: str, name: str) -> Any:
        task = (self.record.get("benchmarks") or {}).get(task_key) or {}
        return (task.get("options") or {}).get(name)

    def task_name(self, task_key: str) -> str | None:
        return ((self.record.get("benchmarks") or {}).get(task_key) or {}).get("task")


@dataclass
class Cell:
    """One metric of one config: what a report table cell shows."""

    value: float
    interval: tuple[float, float] | None = None
    delta: float | None = None  # vs dense of the same model and sweep
    delta_interval: tuple[float, float, float] | None = None
    significant: bool = False


@dataclass
class Analysis:
    """Every config's cells, and the jobs that failed or never ran."""

    rows: list[Row]
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)
    failed: list[Row] = field(default_factory=list)
    missing: list[tuple[Path, str]] = field(default_factory=list)  # (sweep, job folder name)

    def dense_of(self, row: Row) -> Row | None:
        for other in self.rows:
            if other.is_dense and other.sweep == row.sweep and other.model == row.model:
                return other
        return None

    def metrics_present(self) -> list[tuple[str, Metric]]:
        """Metrics some job measured; EMT and toxicity probability only where some job sampled
        k > 1 continuations (with k = 1 they repeat the mean score and the share >= 0.5)."""
        present = {key for (_, key) in self.cells}
        return [
            (dim, m)
            for dim, metrics in DIMENSIONS.items()
            for m in metrics
            if m.key in present and (not m.needs_samples or self.sampled(m.task_key))
        ]

    def sampled(self, task_key: str) -> bool:
        return any((r.task_option(task_key, "samples_per_prompt") or 1) > 1 for r in self.rows)

    def cell(self, row: Row, key: str) -> Cell | None:
        return self.cells.get((id(row), key))


def missing_jobs(sweep: Path) -> list[str]:
    """Jobs the sweep asked for (jobs.json) that left no record."""
    listing = sweep / JOBS_FILE
    if not listing.is_file():
        return []
    names = json.loads(listing.read_text(encoding="utf-8"))
    return [
        n for n in names if not any((sweep / n / f).is_file() for f in (RESULTS_FILE, FAILED_FILE))
    ]


def _items(row: Row, task_key: str, cache: dict[tuple[int, str], Items | None]) -> Items | None:
    """A row's items of one task, read once however many of its metrics need them."""
    key = (id(row), task_key)
    if key not in cache:
        cache[key] = read_items(row.folder / ITEMS_DIR / f"{task_key}.jsonl")
    return cache[key]


def analyse(roots: list[Path], iterations: int = 1000, seed: int = 0) -> Analysis:
    """Every catalogue metric of every completed job, with intervals and changes vs dense."""
    rows = [Row(_sweep_of(folder, roots), folder, record) for folder, record in collect(roots)]
    analysis = Analysis(
        rows=[r for r in rows if r.completed], failed=[r for r in rows if not r.completed]
    )
    for root in roots:
        analysis.missing += [(root, name) for name in missing_jobs(root)]
    aggregations = task_aggregations()
    items_cache: dict[tuple[int, str], Items | None] = {}
    metrics = [m for metrics in DIMENSIONS.values() for m in metrics]
    for row in analysis.rows:
        dense = analysis.dense_of(row)
        for metric in metrics:
            value = row.metric(metric.key)
            if value is None:
                continue
            cell = Cell(value)
            aggregate = _aggregation(row, metric, aggregations)
            items = _items(row, metric.task_key, items_cache) if aggregate else None
            if items and metric.name in items.values:
                cell.interval = bootstrap_interval(
                    items.values[metric.name], aggregate, iterations, seed
                )
            if dense is not None and dense is not row and dense.metric(metric.key) is not None:
                cell.delta = value - dense.metric(metric.key)
                dense_items = _items(dense, metric.task_key, items_cache) if aggregate else None
                if items and dense_items:
                    cell.delta_interval = paired_difference(
                        items, dense_items, metric.name, aggregate, iterations, seed
                    )
                    cell.significant = significant(cell.delta_interval)
            analysis.cells[(id(row), metric.key)] = cell
    return analysis


def _aggregation(
    row: Row, metric: Metric, aggregations: dict[str, dict[str, Aggregation]]
) -> Aggregation | None:
    """How to recompute the metric from items: its task YAML's aggregation, else one of ours
    (continuation perplexity); None where the job did not record the task."""
    task = row.task_name(metric.task_key)
    return aggregations.get(task or "", {}).get(metric.name) or (
        ITEM_AGGREGATIONS.get(metric.name) if task else None
    )


def _sweep_of(folder: Path, roots: list[Path]) -> Path:
    """The root a job folder was found under: rows are compared with dense per sweep."""
    for root in roots:
        if folder == root or root in folder.parents:
            return root
    return folder.parent


def group_deltas(
    analysis: Analysis, task_key: str, metric: str, field: str
) -> dict[tuple[int, str], float]:
    """{(row, group value): change vs dense} for one group breakdown."""
    prefix = f"{task_key}/{metric}/{field}="
    out: dict[tuple[int, str], float] = {}
    for row in analysis.rows:
        dense = analysis.dense_of(row)
        if dense is None or row is dense:
            continue
        for key, value in (row.record.get("metrics") or {}).items():
            base = (dense.record.get("metrics") or {}).get(key)
            if key.startswith(prefix) and isinstance(base, (int, float)):
                out[(id(row), key[len(prefix) :])] = float(value) - float(base)
    return out
