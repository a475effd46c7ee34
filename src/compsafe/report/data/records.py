"""Job records as report rows: one per job, read through the results contract.

A `Row` is one job (a compression config of one model in one sweep); as a report row it is the
first job of its config and holds every job of the config (one per calibration seed) as its
`replicates`. Everything a row says about a metric (its value, title, aggregation, resampling
unit) comes from the job's own record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from compsafe.results.catalogue import MetricEntry, TaskEntry, task_entries
from compsafe.results.files import FAILED_FILE, JOBS_FILE, RESULTS_FILE, job_folders
from compsafe.results.record import COMPLETED, load_record


def calibration_seed(record: dict[str, Any]) -> Any:
    """The job's calibration seed: from its resolved config, else from what compression used;
    None where it recorded none."""
    calibration = (record.get("config") or {}).get("calibration")
    if not isinstance(calibration, dict):
        calibration = (record.get("compression") or {}).get("calibration")
    return calibration.get("seed") if isinstance(calibration, dict) else None


@dataclass(eq=False)
class Row:
    """One job; as a report row, the first job of its config with all of them as `replicates`."""

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
        return calibration_seed(self.record)

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

    @cached_property
    def tasks(self) -> dict[str, TaskEntry]:
        """The job's tasks as its record describes them (catalogue entries), by task key."""
        return task_entries(self.record)

    def entry(self, task_key: str, metric: str) -> MetricEntry | None:
        task = self.tasks.get(task_key)
        return task.metrics.get(metric) if task else None

    def benchmark(self, task_key: str) -> dict[str, Any]:
        """What the job recorded of one task: options, item count, label, details."""
        return (self.record.get("benchmarks") or {}).get(task_key) or {}


def config_order(row: Row) -> tuple:
    """Dense first, then by method, pattern and rate; model and folder break ties."""
    compression = row.compression
    method = compression.get("method") or ""
    return (
        (row.record.get("model") or {}).get("name") or "",
        method != "none",
        compression.get("quantize") not in (None, method),  # pruned, then quantized: after
        method,
        compression.get("pattern") or "",
        compression.get("target_sparsity") or 0.0,
        str(row.folder),
    )


def _sweep_of(folder: Path, roots: list[Path]) -> Path:
    """The root a job folder was found under: rows are compared with dense per sweep."""
    for root in roots:
        if folder == root or root in folder.parents:
            return root
    return folder.parent


def collect(roots: list[Path]) -> list[Row]:
    """Every job record (completed or failed) under the roots, in config order. Raises
    `results.record.OutdatedRecord` for a record of another schema."""
    rows = []
    for root in roots:
        for folder in job_folders(root):
            record = load_record(folder)
            if record is not None:
                rows.append(Row(_sweep_of(folder, roots), folder, record))
    return sorted(rows, key=config_order)


def missing_jobs(sweep: Path) -> list[str]:
    """Jobs the sweep asked for (jobs.json) that left no record."""
    import json

    listing = sweep / JOBS_FILE
    if not listing.is_file():
        return []
    names = json.loads(listing.read_text(encoding="utf-8"))
    return [
        n for n in names if not any((sweep / n / f).is_file() for f in (RESULTS_FILE, FAILED_FILE))
    ]
