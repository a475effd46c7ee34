"""The report's sections after the dimensions' tables: what changed item by item, the
calibration seeds' spread, the detectable change per metric, failed and missing jobs."""

from __future__ import annotations

import statistics

from compsafe.report.data.cells import Analysis
from compsafe.report.view.page import Folded, Section, Table, Text
from compsafe.report.view.text import fmt
from compsafe.results.record import failure_reason


def flip_section(analysis: Analysis) -> Section | None:
    """Per config and multiple-choice task: the share of answers that changed vs dense, and
    the moves to and away from each answer the task names."""
    rows = []
    for row in analysis.rows:
        for (rid, task_key), found in analysis.flips.items():
            if rid != id(row):
                continue
            moves = "; ".join(
                f"{name}: +{m.to} / -{m.away} (p = {m.p_value:.2g})"
                for name, m in found.moves.items()
            )
            rows.append(
                [row.display, task_key, str(found.paired), f"{found.rate:.1%}", moves or "-"]
            )
    if not rows:
        return None
    intro = Text(
        "An aggregate can hold while answers change: per config and multiple-choice task, the "
        "share of answers that differ from dense's on the same documents, and how many moved to "
        "and away from each named answer, with McNemar's exact p-value (descriptive: not part of "
        "the marked families)."
    )
    header = ["config", "task", "documents", "answers changed", "moves (to / away)"]
    return Section("What changed, item by item", [intro, Table(header, rows)])


def seed_section(analysis: Analysis) -> Section | None:
    """Per seeded config and metric: each seed's value, their SD, the change vs dense, and how
    large the seed spread is against that change."""
    rows = []
    for row in (r for r in analysis.rows if r.seeded):
        for _, metric in analysis.metrics_present():
            cell = analysis.cell(row, metric.key)
            if cell is None or cell.seed_sd is None:
                continue
            per_seed = ", ".join(f"{j.seed}: {fmt(j.metric(metric.key))}" for j in row.jobs)
            ratio = abs(cell.seed_sd / cell.delta) if cell.delta else None
            rows.append(
                [
                    row.label,
                    metric.title,
                    per_seed,
                    f"{fmt(cell.value)} ±{fmt(cell.seed_sd)}",
                    f"{fmt(cell.delta)}{'*' if cell.significant else ''}",
                    fmt(ratio, 2),
                ]
            )
    if not rows:
        return None
    header = ["config", "metric", "per seed", "mean ± SD", "change vs dense", "SD / abs(change)"]
    intro = Text(
        "How much of each change vs dense is the calibration draw: the SD between seeds "
        "against the change (a ratio near or above 1 means another seed could erase it)."
    )
    return Section(
        "Calibration seeds", [intro, Folded(f"Per seed ({len(rows)} rows)", [Table(header, rows)])]
    )


def power_section(analysis: Analysis) -> Section | None:
    """Per metric: its items and the smallest change vs dense they detect with 80 % power at
    the level its family's marks need (the exact McNemar test's power for 0/1 metrics, the
    permutation test's for the others; median over the configs compared with dense, and the
    range)."""
    rows = []
    for dimension, metric in analysis.metrics_present():
        cells = [analysis.cell(r, metric.key) for r in analysis.rows]
        detectable = [c.detectable for c in cells if c and c.detectable is not None]
        if not detectable:
            continue
        items = sorted({c.n_paired for c in cells if c and c.n_paired})
        largest = max(abs(c.delta) for c in cells if c and c.delta is not None)
        rows.append(
            [
                dimension,
                metric.title,
                ", ".join(map(str, items)),
                fmt(statistics.median(detectable)),
                f"{fmt(min(detectable))} - {fmt(max(detectable))}",
                fmt(largest),
            ]
        )
    if not rows:
        return None
    intro = Text(
        "The smallest change vs dense each metric's items would mark with 80 % power at the "
        "level its family's marks needed (per config; the median and range over configs): a "
        "change below it that is not marked may be real but too small for this sample; it "
        "shrinks as 1/sqrt(items) (compsafe's docs/report.md#how-many-items-a-run-needs). For a "
        "0/1 metric it comes from the exact McNemar test's own power; for any other from the "
        "permutation test's (a t approximation over the units, not stated where fewer than 20 "
        "units differ between the jobs: there the test is too coarse to approximate). Checked "
        "on real subsamples in compsafe's benchmarks/README.md: where it errs, it states "
        "a larger change than needed (heavy-tailed metrics)."
    )
    header = ["dimension", "metric", "items", "detectable change (median)", "range over configs"]
    return Section("Detectable change", [intro, Table([*header, "largest change seen"], rows)])


def failed_and_missing(analysis: Analysis) -> list:
    """A partial sweep is reported, not refused: say which jobs failed or never ran."""
    if not (analysis.failed or analysis.missing):
        return [Text("None: every job the sweep listed left a completed record.")]
    lines = [
        f"- failed: `{r.folder}`: {' '.join(failure_reason(r.record).split())}"
        for r in analysis.failed
    ]
    lines += [f"- missing: `{sweep / name}`" for sweep, name in analysis.missing]
    return [Text("\n".join(lines))]
