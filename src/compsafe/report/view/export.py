"""The report's numbers for other tools: results.csv, results_long.csv, a W&B summary run."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from compsafe.naming import sweep_group_name
from compsafe.report.data.cells import Analysis
from compsafe.report.data.records import Row

BASE_COLUMNS = [
    "sweep",
    "folder",
    "model",
    "config",
    "method",
    "pattern",
    "target_sparsity",
    "measured_sparsity",
    "overall_sparsity",
    "targeted_share",
    "status",
]
LONG_COLUMNS = [
    *BASE_COLUMNS,
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "delta_vs_dense",
    "delta_ci_low",
    "delta_ci_high",
    "ratio_vs_dense",
    "ratio_ci_low",
    "ratio_ci_high",
    "test",
    "p_value",
    "p_monte_carlo_se",
    "family",
    "q_value",
    "q_value_by",
    "significant",
    "eligible",
    "withheld",
    "conditional_on",
    "paired_only",
    "detectable_change",
    "detectable_at_level",
    "n_items",
    "n_paired",
    "units",
    "seeds",
    "seed_sd",
]


def write_csv(analysis: Analysis, folder: Path) -> tuple[Path, Path]:
    """Wide (one row per job, one column per metric) and long (one row per job and metric)."""
    wide, long = folder / "results.csv", folder / "results_long.csv"
    _write_wide(analysis, wide)
    _write_long(analysis, long)
    return wide, long


def _base(row: Row, status: str | None) -> list[Any]:
    """The columns that say which job a row is (BASE_COLUMNS)."""
    c = row.compression
    return [
        str(row.sweep),
        row.folder.name,
        row.model,
        row.label,
        row.method,
        c.get("n_m") or c.get("pattern"),
        c.get("target_sparsity"),
        c.get("measured_sparsity"),
        c.get("overall_sparsity"),
        c.get("targeted_share"),
        status,
    ]


def _write_wide(analysis: Analysis, path: Path) -> None:
    """Every job (each seed of a config its own row), failed ones included, with every metric
    any job recorded."""
    keys = sorted({k for r in analysis.jobs for k in (r.record.get("metrics") or {})})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*BASE_COLUMNS, "calibration_seed", *keys])
        for row in analysis.jobs + analysis.failed:
            metrics = row.record.get("metrics") or {}
            base = _base(row, row.record.get("status"))
            writer.writerow([*base, row.seed, *(metrics.get(k) for k in keys)])


def _write_long(analysis: Analysis, path: Path) -> None:
    """Every config's metrics (the mean over its seeds, where several), with intervals, change
    vs dense (a perplexity's ratio too), the test, p- and q-values (Benjamini-Hochberg and
    Benjamini-Yekutieli within the cell's family), whether it is marked and why not, the
    detectable change and the level it is computed at."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(LONG_COLUMNS)
        for row in analysis.rows:
            for key, value in sorted((row.record.get("metrics") or {}).items()):
                cell = analysis.cell(row, key)
                shown = cell.value if cell is not None else value
                writer.writerow(
                    [*_base(row, "completed"), key, shown, *_long_cells(analysis, row, key)]
                )


def _long_cells(analysis: Analysis, row: Row, key: str) -> list[Any]:
    """The LONG_COLUMNS after `value` (None: none)."""
    cell = analysis.cell(row, key)
    if cell is None:
        return [None] * (len(LONG_COLUMNS) - LONG_COLUMNS.index("value") - 1)
    interval = cell.interval or (None, None)
    delta = cell.delta_interval or (None, None, None)
    ratio = cell.ratio_interval or (None, None)
    seeds = " ".join(str(j.seed) for j in row.jobs) if row.seeded else row.seed
    if row.collapsed:
        seeds = "no calibration"
    tested = cell.p_value is not None
    return [
        *interval,
        cell.delta,
        delta[1],
        delta[2],
        cell.ratio,
        *ratio,
        cell.test,
        cell.p_value,
        cell.p_error if tested else None,
        cell.family,
        cell.q_value,
        cell.q_by,
        cell.significant if tested else None,
        cell.eligible if tested else None,
        cell.withheld,
        cell.conditional,
        cell.paired_only if cell.delta is not None else None,
        cell.detectable,
        cell.detectable_level,
        cell.n_items,
        cell.n_paired,
        cell.units,
        seeds,
        cell.seed_sd,
    ]


def log_to_wandb(
    analysis: Analysis, wide_csv: Path, figures: list[Path], project: str, mode: str
) -> None:
    """One summary run in the sweep's group (named as the jobs' group): the results table and
    every figure."""
    import wandb

    from compsafe.tracking import resolve_mode

    group = sweep_group_name(analysis.rows[0].sweep) if analysis.rows else None
    run = wandb.init(
        project=project,
        group=group,
        job_type="report",
        name="report",
        dir=str(wide_csv.parent),
        mode=resolve_mode(mode),
        reinit="finish_previous",
    )
    try:
        with open(wide_csv, encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        run.log({"results": wandb.Table(columns=rows[0], data=rows[1:])})
        run.log({p.stem: wandb.Image(str(p)) for p in figures})
    finally:
        wandb.finish()
