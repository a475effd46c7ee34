"""The report's content: its sections in order, each table, sentence and figure group, as one
document (`page.Document`) that becomes report.md and report.html."""

from __future__ import annotations

from itertools import groupby

from compsafe.report.data.catalogue import Metric
from compsafe.report.data.cells import Analysis
from compsafe.report.data.records import Row
from compsafe.report.stats.inference import FDR, METHODS
from compsafe.report.view import appendix
from compsafe.report.view import findings as finding
from compsafe.report.view.judge import judge_notes
from compsafe.report.view.overview import overview_table, summaries
from compsafe.report.view.page import (
    Document,
    Figure,
    Figures,
    Folded,
    Section,
    Table,
    TableCell,
    Text,
)
from compsafe.report.view.text import change_interval, fmt, legend, signed_change, tone

PAIRING = (
    "A change vs dense is computed on the same documents, matched by a hash of each document "
    "(not by position), and only when both jobs scored the same documents; otherwise (another "
    "sample size or seed) no change is shown and a note below says why. Tasks that declare "
    "`resample_by` (UnQover: `question`) are resampled by whole clusters of items sharing that "
    "document field. Group breakdowns (results_long.csv, heatmaps) get intervals and paired "
    "changes the same way."
)


SEEDS = (
    "Calibration seeds: jobs that differ only by `calibration.seed` are replicates of one "
    "config, shown as one row: the value is the mean over seeds, `±` the standard deviation "
    "between seeds, and the interval a seed-level t interval (between-seed variance with S - 1 "
    "degrees of freedom plus the documents' part, Satterthwaite) that covers both the "
    "calibration draw and the items. With fewer than 5 seeds the change's mark is withheld "
    "(`‡`): the between-seed variance is too uncertain to mark on. Methods without "
    "calibration give the same model for every seed: shown once, marked `no calibration`."
)


def cell_text(analysis: Analysis, row: Row, metric: Metric) -> str:
    """'0.123 ±0.004 [0.101, 0.145] (+0.020*)': value (mean over seeds, ± their SD), 95 %
    interval, change vs dense, * if significant after the false discovery rate control."""
    cell = analysis.cell(row, metric.key)
    if cell is None:
        return "-"
    text = fmt(cell.value)
    if cell.seed_sd is not None:
        text += f" ±{fmt(cell.seed_sd)}"
    if cell.interval:
        text += f" [{fmt(cell.interval[0])}, {fmt(cell.interval[1])}]"
    if cell.delta is not None:
        text += f" ({signed_change(cell)})"
    return text


def dimension_cell(analysis: Analysis, row: Row, metric: Metric) -> TableCell | str:
    """A dimension table's cell: `cell_text` in report.md; value, interval and change stacked
    in report.html, the change coloured by direction and the cell shaded when significant."""
    cell = analysis.cell(row, metric.key)
    if cell is None:
        return "-"
    value = fmt(cell.value) + (f" ±{fmt(cell.seed_sd)}" if cell.seed_sd is not None else "")
    interval = f"[{fmt(cell.interval[0])}, {fmt(cell.interval[1])}]" if cell.interval else ""
    change, title = "", f"{cell.n_items} items" if cell.n_items else ""
    if cell.delta is not None:
        change = f"{signed_change(cell)} vs dense"
        if cell.q_value is not None:
            title = tooltip(cell)
    lines = (value, interval, change)
    return TableCell(
        cell_text(analysis, row, metric), lines, "vmd", tone(metric, cell), cell.significant, title
    )


def tooltip(cell) -> str:
    """What stands behind a change: its interval, test, family, q-value, items, power."""
    text = f"change 95 % CI {change_interval(cell)}; {cell.test}, p = {cell.p_value:.2g}"
    if cell.p_error:
        text += f" (Monte Carlo SE {cell.p_error:.1g})"
    text += f"; {cell.family} family, q = {cell.q_value:.2g}; {cell.n_paired} items"
    text += f" in {cell.units} units" if cell.units != cell.n_paired else ""
    if cell.detectable:
        text += f"; detectable change {fmt(cell.detectable)} at level {cell.detectable_level:.2g}"
    for reason in (cell.withheld, cell.conditional and f"conditional on {cell.conditional}"):
        text += f"; {reason}" if reason else ""
    return text


def dimension_tables(analysis: Analysis, metrics: list[Metric]) -> list[Table]:
    """One table per task of the dimension (one table when it has few metrics), rows in collect
    order (per model: dense first, then by method), a model column when the report holds
    several models; rows with none of the table's metrics left out."""
    multi_model = analysis.multi_model
    split = len(metrics) > 7
    groups = (
        [list(g) for _, g in groupby(metrics, key=lambda m: m.task_key)] if split else [metrics]
    )
    tables = []
    for group in groups:
        header = ["config", *(["model"] if multi_model else []), *(m.title for m in group)]
        rows = [
            [row.display, *([row.model] if multi_model else [])]
            + [dimension_cell(analysis, row, m) for m in group]
            for row in analysis.rows
            if any(analysis.cell(row, m.key) for m in group)
        ]
        caption = f"**{_task_label(analysis, group[0].task_key)}**" if split else ""
        tables.append(Table(header, rows, caption))
    return tables


def _task_label(analysis: Analysis, task_key: str) -> str:
    for row in analysis.rows:
        bench = (row.record.get("benchmarks") or {}).get(task_key)
        if bench:
            return f"{bench.get('label') or task_key} ({bench.get('samples')} items)"
    return task_key


def document(
    analysis: Analysis, figures: list[Figure], overview: Figure | None, title: str
) -> Document:
    """The report: summary and contents; overview; findings; a section per dimension; figures
    by dimension; data and methods; calibration seeds; detectable change; failed jobs."""
    models = sorted({r.model for r in analysis.rows})
    marked = sum(c.significant for c in analysis.cells.values())
    intro = [
        Text(
            f"Models: {', '.join(models) or '-'}. Configs: {len(analysis.rows)} "
            f"({len(analysis.jobs)} completed jobs), {len(analysis.failed)} failed, "
            f"{len(analysis.missing)} missing. {marks_sentence(analysis)}"
        ),
        *[Text(f"> **Warning**: {w}") for w in analysis.warnings],
    ]
    present = analysis.metrics_present()
    dimensions = list(dict.fromkeys(d for d, _ in present))
    sections = [_overview(analysis, overview), _findings(analysis)]
    for dimension in dimensions:
        tables = dimension_tables(analysis, [m for d, m in present if d == dimension])
        judges = [Text(note) for note in judge_notes(analysis, dimension)]
        sections.append(Section(dimension, [Text(CELLS), *judges, *tables]))
    flipped = appendix.flip_section(analysis)
    sections += [flipped] if flipped else []
    sections += _figures(figures, dimensions)
    sections.append(Section("Data and methods", _methods(analysis, marked)))
    optional = (appendix.seed_section(analysis), appendix.power_section(analysis))
    sections += [section for section in optional if section]
    failed = appendix.failed_and_missing(analysis)
    sections.append(Section("Failed and missing jobs", failed))
    return Document(title, intro, sections)


CELLS = (
    "Each cell: value (mean over seeds `±` their SD where seeded) [95 % interval], change vs "
    "dense (a perplexity's as a ratio). " + legend() + "."
)


def marks_sentence(analysis: Analysis) -> str:
    """How many changes were tested and marked, per family, with the BY count beside."""
    from compsafe.report.data.cells import CONFIRMATORY, EXPLORATORY

    parts = []
    for family in (CONFIRMATORY, EXPLORATORY):
        tested = analysis.tested.get(family, 0)
        if tested:
            marked = sum(c.significant for c in analysis.cells.values() if c.family == family)
            by = analysis.marked_by.get(family, 0)
            parts.append(
                f"{family}: {marked} of {tested} changes vs dense marked at a {FDR:.0%} false "
                f"discovery rate (Benjamini-Hochberg within each config; {by} under "
                "Benjamini-Yekutieli)"
            )
    return ("Marks, " + "; ".join(parts) + ".") if parts else "No change vs dense was tested."


def _overview(analysis: Analysis, overview: Figure | None) -> Section:
    blocks = [Figures([overview], wide=True)] if overview else []
    blocks += [Text("\n".join(f"- {s}" for s in summaries(analysis)))]
    blocks += [Folded("The overview as a table", [overview_table(analysis)])]
    return Section("Overview", blocks)


def _findings(analysis: Analysis) -> Section:
    blocks = []
    for dimension, lines in finding.by_dimension(analysis).items():
        blocks.append(Text(f"**{dimension}**\n\n" + "\n".join(f"- {line}" for line in lines)))
    if not blocks:
        blocks.append(Text(finding.NO_FINDING))
    group_level = finding.group_level(analysis)
    if group_level:
        summary = f"Group-level findings ({len(group_level)})"
        blocks.append(Folded(summary, [Text("\n".join(f"- {f}" for f in group_level))]))
    return Section("Findings", blocks)


def _figures(figures: list[Figure], dimensions: list[str]) -> list[Section]:
    """A section heading, then a grid of small multiples per dimension."""
    if not figures:
        return []
    order = [*dimensions, *sorted({f.dimension for f in figures} - set(dimensions))]
    sections = [Section("Figures", [Text(f"{len(figures)} figures, by dimension.")])]
    for dimension in order:
        mine = [f for f in figures if f.dimension == dimension]
        if mine:
            sections.append(Section(f"Figures: {dimension or 'other'}", [Figures(mine)], 3))
    return sections


def _methods(analysis: Analysis, marked: int) -> list:
    blocks = []
    data_notes = _data_notes(analysis)
    if data_notes:
        blocks.append(Text("Data: " + "; ".join(data_notes) + "."))
    blocks += [
        Text(f"Cells: value [95 % interval] (change vs dense). {marks_sentence(analysis)}"),
        Text(PAIRING),
        Text(METHODS),
    ]
    if any(r.seeded or r.collapsed for r in analysis.rows):
        blocks.append(Text(SEEDS))
    if analysis.notes:
        notes = Text("\n".join(f"- {note}" for note in analysis.notes))
        head = Text("Not compared or without interval:")
        folded = Folded(f"Not compared or without interval ({len(analysis.notes)})", [notes])
        blocks += [head, notes] if len(analysis.notes) <= 5 else [folded]
    return blocks


def _data_notes(analysis: Analysis) -> list[str]:
    """Each benchmark's data (task and item count), as the first job using it recorded it."""
    seen = {}
    for row in analysis.rows:
        for key, bench in (row.record.get("benchmarks") or {}).items():
            seen.setdefault(
                key,
                f"{key}: {bench.get('label') or bench.get('task')} ({bench.get('samples')} items)",
            )
    return list(seen.values())
