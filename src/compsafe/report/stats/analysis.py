"""From sweep folders to numbers: each metric of each config, its interval, its change vs
dense, and which changes are marked (families and the false discovery rate: `inference`)."""

from __future__ import annotations

import statistics
from pathlib import Path

from compsafe.report.data.catalogue import Catalogue
from compsafe.report.data.cells import Analysis, Cell
from compsafe.report.data.pairing import MetricKey, group_keys
from compsafe.report.data.provenance import mixed_environments
from compsafe.report.data.records import Row, collect, missing_jobs
from compsafe.report.data.replicates import group_replicates
from compsafe.report.stats.bootstrap import Engine
from compsafe.report.stats.fill import CellMaker
from compsafe.report.stats.inference import control_fdr


def analyse(roots: list[Path], iterations: int = 2000, bootstrap_seed: int = 0) -> Analysis:
    """Every shown metric of the catalogue and its group breakdowns, for every completed
    config, with intervals and changes vs dense; marks under the false discovery rate."""
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
    maker = CellMaker(Engine(iterations, bootstrap_seed))
    shown = [m.key for m in analysis.catalogue.shown()]
    families: dict[int, list[tuple[Cell, bool]]] = {}
    for row in analysis.rows:
        dense = analysis.dense_of(row)
        groups = [k for k in group_keys(row.record.get("metrics") or {})
                  if k.rsplit("/", 1)[0] in shown]  # fmt: skip
        for key in shown + groups:
            cell = _cell(row, key)
            if cell is None:
                continue
            maker.fill(cell, row, dense, MetricKey.parse(key))
            analysis.cells[(id(row), key)] = cell
        present = {key for (rid, key) in analysis.cells if rid == id(row)}
        confirmatory = set(analysis.catalogue.confirmatory(present))
        families[id(row)] = [
            (analysis.cells[(id(row), k)], k in confirmatory)
            for k in shown + groups
            if (id(row), k) in analysis.cells
        ]
    analysis.tested, analysis.marked_by = control_fdr(families)
    analysis.flips = maker.flips(analysis.rows, analysis.dense_of)
    borrowed = [
        f"{row.label} ({row.model}) compared with the dense job of {dense.sweep}: its own "
        "sweep has none"
        for row in analysis.rows
        if not row.is_dense and (dense := analysis.dense_of(row)) and dense.sweep != row.sweep
    ]
    analysis.notes = notes + borrowed + list(maker.notes)
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
