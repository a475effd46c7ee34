"""The report as text: cells, one Markdown table per dimension, report.md and report.html."""

from __future__ import annotations

import base64
import statistics
from pathlib import Path

from compsafe.report.analysis import Analysis, Row
from compsafe.report.catalogue import DIMENSIONS, Metric
from compsafe.report.inference import FDR, METHODS

PAIRING = (
    "A change vs dense is computed on the same documents, matched by a hash of each document "
    "(not by position), and only when both jobs scored the same documents; otherwise (another "
    "sample size or seed) no change is shown and a note below says why. Tasks that declare "
    "`resample_by` (UnQover: `question`) are resampled by whole clusters of items sharing that "
    "document field. Group breakdowns (results_long.csv, heatmaps) get intervals and paired "
    "changes the same way."
)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as the report writes it: fixed digits, one decimal from 100 up; '-' if none."""
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


SEEDS = (
    "Calibration seeds: jobs that differ only by `calibration.seed` are replicates of one "
    "config, shown as one row: the value is the mean over seeds, `±` the standard deviation "
    "between seeds, and the interval a two-stage bootstrap (seeds with replacement, then "
    "documents) that covers both the calibration draw and the items. Methods without "
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
        sign, star = ("+" if cell.delta >= 0 else ""), ("*" if cell.significant else "")
        text += f" ({sign}{fmt(cell.delta)}{star})"
    return text


def markdown_table(analysis: Analysis, metrics: list[Metric]) -> list[str]:
    """Rows in collect order (per model: dense first, then by method); a model column when the
    report holds several models; rows with none of the metrics left out."""
    multi_model = len({r.model for r in analysis.rows}) > 1
    header = ["config", *(["model"] if multi_model else []), *(m.title for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in analysis.rows:
        if not any(analysis.cell(row, m.key) for m in metrics):
            continue
        cells = [
            row.display,
            *([row.model] if multi_model else []),
            *(cell_text(analysis, row, m) for m in metrics),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(
    analysis: Analysis, findings: list[str], figures: list[Path], folder: Path, title: str
) -> str:
    """report.md: summary, data, findings, a table per dimension, seeds, power, failures,
    figures."""
    lines = [f"# {title}", ""]
    models = sorted({r.model for r in analysis.rows})
    marked = sum(c.significant for c in analysis.cells.values())
    lines += [
        f"Models: {', '.join(models) or '-'}. Configs: {len(analysis.rows)} "
        f"({len(analysis.jobs)} completed jobs), {len(analysis.failed)} failed, "
        f"{len(analysis.missing)} missing.",
        "",
        *[f"> **Warning**: {w}" for w in analysis.warnings],
        *([""] if analysis.warnings else []),
        "Cells: value [95 % bootstrap interval] (change vs dense; `*` when significant at a "
        f"{FDR:.0%} false discovery rate, Benjamini-Hochberg over the {analysis.tested} "
        f"change{'s' if analysis.tested != 1 else ''} of this report: {marked} marked).",
        "",
        PAIRING,
        "",
        METHODS,
        "",
    ]
    if any(r.seeded or r.collapsed for r in analysis.rows):
        lines += [SEEDS, ""]
    data_notes = _data_notes(analysis)
    if data_notes:
        lines += ["Data: " + "; ".join(data_notes) + ".", ""]
    if analysis.notes:
        lines += ["Not compared or without interval:", ""]
        lines += [f"- {note}" for note in analysis.notes] + [""]
    lines += ["## Findings", ""] + [f"- {f}" for f in findings] + [""]
    lines += _dimension_tables(analysis)
    lines += seed_table(analysis)
    lines += power_table(analysis)
    lines += _failed_and_missing(analysis)
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({p.relative_to(folder).as_posix()})" for p in figures]
    return "\n".join(lines) + "\n"


def seed_table(analysis: Analysis) -> list[str]:
    """Per seeded config and headline metric: each seed's value, their SD, the change vs
    dense, and how large the seed spread is against that change."""
    seeded = [r for r in analysis.rows if r.seeded]
    if not seeded:
        return []
    lines = [
        "## Calibration seeds",
        "",
        "How much of each change vs dense is the calibration draw: the SD between seeds "
        "against the change (a ratio near or above 1 means another seed could erase it).",
        "",
        "| config | metric | per seed | mean ± SD | change vs dense | SD / abs(change) |",
        "|---|---|---|---|---|---|",
    ]
    for row in seeded:
        for _, metric in analysis.metrics_present():
            cell = analysis.cell(row, metric.key)
            if cell is None or cell.seed_sd is None:
                continue
            per_seed = ", ".join(f"{j.seed}: {fmt(j.metric(metric.key))}" for j in row.jobs)
            ratio = abs(cell.seed_sd / cell.delta) if cell.delta else None
            lines.append(
                f"| {row.label} | {metric.title} | {per_seed} | {fmt(cell.value)} "
                f"±{fmt(cell.seed_sd)} | {fmt(cell.delta)}{'*' if cell.significant else ''} "
                f"| {fmt(ratio, 2)} |"
            )
    return [*lines, ""]


def power_table(analysis: Analysis) -> list[str]:
    """Per headline metric: its items and the smallest change vs dense they detect with 80 %
    power at the 5 % level (median over the configs compared with dense, and the range)."""
    lines = []
    for dimension, metric in analysis.metrics_present():
        cells = [analysis.cell(r, metric.key) for r in analysis.rows]
        detectable = [c.detectable for c in cells if c and c.detectable is not None]
        if not detectable:
            continue
        items = sorted({c.n_paired for c in cells if c and c.n_paired})
        largest = max(abs(c.delta) for c in cells if c and c.delta is not None)
        lines.append(
            f"| {dimension} | {metric.title} | {', '.join(map(str, items))} | "
            f"{fmt(statistics.median(detectable))} | {fmt(min(detectable))} - "
            f"{fmt(max(detectable))} | {fmt(largest)} |"
        )
    if not lines:
        return []
    return [
        "## Detectable change",
        "",
        "The smallest change vs dense each metric's items detect with 80 % power at the 5 % "
        "level (two-sided): a change below it that is not marked may be real but too small for "
        "this sample. README, Statistics, tells how many items a run needs for a given effect.",
        "",
        "| dimension | metric | items | detectable change (median) | range over configs "
        "| largest change seen |",
        "|---|---|---|---|---|---|",
        *lines,
        "",
    ]


def _dimension_tables(analysis: Analysis) -> list[str]:
    """A section per dimension that some job measured, in catalogue order."""
    lines = []
    present = analysis.metrics_present()
    for dimension in DIMENSIONS:
        metrics = [m for d, m in present if d == dimension]
        if metrics:
            lines += [f"## {dimension}", "", *markdown_table(analysis, metrics), ""]
    return lines


def _failed_and_missing(analysis: Analysis) -> list[str]:
    """A partial sweep is reported, not refused: say which jobs failed or never ran."""
    if not (analysis.failed or analysis.missing):
        return []
    lines = ["## Failed and missing jobs", ""]
    lines += [f"- failed: `{r.folder}`: {r.record.get('error')}" for r in analysis.failed]
    lines += [f"- missing: `{sweep / name}`" for sweep, name in analysis.missing]
    return [*lines, ""]


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


def html(markdown_text: str, folder: Path) -> str:
    """Self-contained HTML: tables rendered, images embedded as data URIs."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown_text)
    for image in sorted(folder.rglob("*.png")):
        encoded = base64.b64encode(image.read_bytes()).decode()
        body = body.replace(
            f'src="{image.relative_to(folder).as_posix()}"',
            f'src="data:image/png;base64,{encoded}"',
        )
    style = (
        "body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
        "padding:3px 6px}img{max-width:100%}"
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>compsafe report</title>"
        f"<style>{style}</style>{body}"
    )
