"""From sweep folders to numbers: each metric of each config, its interval, its change vs
dense, and which changes are significant after the false discovery rate control."""

from __future__ import annotations

import statistics
from pathlib import Path

from compsafe.report.data.catalogue import Catalogue
from compsafe.report.data.cells import Analysis, Cell
from compsafe.report.data.pairing import MetricKey, group_keys
from compsafe.report.data.provenance import mixed_environments
from compsafe.report.data.records import Row, collect, missing_jobs
from compsafe.report.data.replicates import group_replicates
from compsafe.report.stats.bootstrap import Bootstrap
from compsafe.report.stats.fill import CellMaker
from compsafe.report.stats.inference import control_fdr


def analyse(roots: list[Path], iterations: int = 1000, bootstrap_seed: int = 0) -> Analysis:
    """Every shown catalogue metric and group breakdown of every completed config, with
    intervals and changes vs dense; significance controlled for the false discovery rate over
    all of them."""
    rows = collect(roots)
    jobs = [r for r in rows if r.completed]
    configs, notes = group_replicates(jobs)
    analysis = Analysis(
        rows=configs,
        catalogue=Catalogue.from_rows(jobs),
        jobs=jobs,
        failed=[r for r in rows if not r.completed],
    )
    for root in roots:
        analysis.missing += [(root, name) for name in missing_jobs(root)]
    maker = CellMaker(Bootstrap(iterations, bootstrap_seed))
    shown = [m.key for m in analysis.catalogue.shown()]
    for row in analysis.rows:
        dense = analysis.dense_of(row)
        for key in shown + group_keys(row.record.get("metrics") or {}):
            cell = _cell(row, key)
            if cell is not None:
                maker.fill(cell, row, dense, MetricKey.parse(key))
                analysis.cells[(id(row), key)] = cell
    analysis.tested = control_fdr(analysis.cells.values())
    analysis.notes = notes + list(maker.notes)
    analysis.warnings = mixed_environments(jobs)
    return analysis


def _cell(row: Row, key: str) -> Cell | None:
    """A cell with the metric's value (the mean over the row's seeds), None when unmeasured."""
    values = row.values(key)
    if not values:
        return None
    cell = Cell(statistics.fmean(values), n_seeds=len(values))
    if len(values) > 1:
        cell.seed_sd = statistics.stdev(values)
    return cell
