"""From sweep folders to numbers: each metric of each config, its interval, its change vs dense."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compsafe.report.catalogue import DIMENSIONS, Metric
from compsafe.report.cells import CellMaker, MetricKey, group_keys
from compsafe.report.inference import control_fdr
from compsafe.report.provenance import mixed_environments
from compsafe.report.replicates import group_replicates, seed_of
from compsafe.report.stats import Resampler
from compsafe.report.table import collect
from compsafe.report.tasks import task_aggregations
from compsafe.results import COMPLETED, FAILED_FILE, JOBS_FILE, RESULTS_FILE


@dataclass
class Row:
    """One job: a compression config of one model in one sweep. As a report row, the first job
    of its config, with every job of the config (one per calibration seed) as `replicates`."""

    sweep: Path
    folder: Path
    record: dict[str, Any]
    replicates: list[Row] = field(default_factory=list, repr=False)  # several jobs only
    collapsed: bool = False  # its replicates are one job: the method uses no calibration

    @property
    def jobs(self) -> list[Row]:
        """The jobs this row stands for, by seed (itself alone when it has no replicates)."""
        return self.replicates or [self]

    @property
    def seeded(self) -> bool:
        """Several calibration seeds of one calibrated config: shown as their mean."""
        return len(self.replicates) > 1 and not self.collapsed

    @property
    def seed(self) -> Any:
        """The job's calibration seed (None where it recorded none)."""
        return seed_of(self.record)

    @property
    def display(self) -> str:
        """The label, with its seeds when several, or "no calibration" when collapsed."""
        if self.seeded:
            return f"{self.label} (seeds {', '.join(str(j.seed) for j in self.jobs)})"
        if self.collapsed:
            return f"{self.label} (no calibration, {len(self.jobs)} jobs)"
        return self.label

    def values(self, key: str) -> list[float]:
        """The metric of each job this row stands for (its seeds; one value otherwise)."""
        jobs = self.jobs if self.seeded else [self]
        return [v for v in (j.metric(key) for j in jobs) if v is not None]

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
    significant: bool = False  # q <= 0.05 over every change of the report
    p_value: float | None = None  # two-sided bootstrap p of the change vs dense
    q_value: float | None = None  # Benjamini-Hochberg over the report's p-values
    detectable: float | None = None  # smallest change detectable (80 % power, 5 % level)
    n_items: int | None = None  # items of the value
    n_paired: int | None = None  # items of the change: paired with dense's
    seed_sd: float | None = None  # between calibration seeds (SD), seeded configs only
    n_seeds: int = 1


@dataclass
class Analysis:
    """Every config's cells, and the jobs that failed or never ran."""

    rows: list[Row]  # one per config: replicates over seeds are one row
    jobs: list[Row] = field(default_factory=list)  # every completed job
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)
    failed: list[Row] = field(default_factory=list)
    missing: list[tuple[Path, str]] = field(default_factory=list)  # (sweep, job folder name)
    tested: int = 0  # changes vs dense with a p-value: the family the FDR is controlled over
    warnings: list[str] = field(default_factory=list)  # jobs from other machines or versions
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why

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


def analyse(roots: list[Path], iterations: int = 1000, seed: int = 0) -> Analysis:
    """Every catalogue metric and group breakdown of every completed config, with intervals and
    changes vs dense; significance controlled for the false discovery rate over all of them."""
    rows = [Row(_sweep_of(folder, roots), folder, record) for folder, record in collect(roots)]
    jobs = [r for r in rows if r.completed]
    configs, notes = group_replicates(jobs)
    analysis = Analysis(rows=configs, jobs=jobs, failed=[r for r in rows if not r.completed])
    for root in roots:
        analysis.missing += [(root, name) for name in missing_jobs(root)]
    maker = CellMaker(Resampler(iterations, seed), task_aggregations())
    metrics = [m.key for metrics in DIMENSIONS.values() for m in metrics]
    for row in analysis.rows:
        dense = analysis.dense_of(row)
        for key in metrics + group_keys(row):
            values = row.values(key)
            if not values:
                continue
            cell = Cell(statistics.fmean(values), n_seeds=len(values))
            if len(values) > 1:
                cell.seed_sd = statistics.stdev(values)
            maker.fill(cell, row, dense, MetricKey.parse(key))
            analysis.cells[(id(row), key)] = cell
    analysis.tested = control_fdr(analysis.cells.values())
    analysis.notes = notes + list(maker.notes)
    analysis.warnings = mixed_environments(jobs)
    return analysis


def _sweep_of(folder: Path, roots: list[Path]) -> Path:
    """The root a job folder was found under: rows are compared with dense per sweep."""
    for root in roots:
        if folder == root or root in folder.parents:
            return root
    return folder.parent


def group_cells(
    analysis: Analysis, task_key: str, metric: str, field: str
) -> dict[tuple[int, str], Cell]:
    """{(row, group value): cell} of one group breakdown, for rows with a change vs dense."""
    prefix = f"{task_key}/{metric}/{field}="
    out: dict[tuple[int, str], Cell] = {}
    for row in analysis.rows:
        for key in row.record.get("metrics") or {}:
            cell = analysis.cell(row, key) if key.startswith(prefix) else None
            if cell is not None and cell.delta is not None:
                out[(id(row), key[len(prefix) :])] = cell
    return out
