"""The report's first screen: which configs move which dimension, and how sure we are.

Configs as rows, the headline metric of every dimension as columns, each cell the change vs
dense coloured by direction (worse, better, or neutral where the direction has no agreed
reading), strong when significant after the report's false discovery rate control; measured
sparsity and perplexity beside. Drawn as a figure and written as its table twin, with a
sentence per dimension.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.patches import Rectangle

from compsafe.report.data.catalogue import Metric
from compsafe.report.data.cells import Analysis, Cell
from compsafe.report.data.records import Row
from compsafe.report.stats.inference import FDR
from compsafe.report.view.figures import plt, save
from compsafe.report.view.page import Figure, Table, TableCell
from compsafe.report.view.text import change_interval, fmt, items_text, signed_change, tone

COLOURS = {"worse": "#d6604d", "better": "#4393c3", "neutral": "#8073ac"}
WORDS = {"worse": "worse", "better": "better", "neutral": "no agreed direction"}


def headlines(analysis: Analysis) -> list[tuple[str, Metric]]:
    """Per dimension present, its headline metric (the catalogue's choice)."""
    return analysis.catalogue.headlines(key for _, key in analysis.cells)


def row_name(analysis: Analysis, row: Row) -> tuple[str, str]:
    """(label, detail): the config, and its model (several models), seeds or dense."""
    detail = [row.model] if analysis.multi_model else []
    if row.seeded:
        detail.append(f"mean of {len(row.jobs)} seeds")
    elif row.is_dense:
        detail.append("reference")
    elif row.collapsed:
        detail.append("no calibration")
    return row.label, ", ".join(detail)


def _relative(analysis: Analysis, row: Row, metric: Metric, cell: Cell) -> str:
    dense = analysis.dense_of(row)
    base = analysis.cell(dense, metric.key) if dense else None
    return f"{cell.delta / abs(base.value):+.0%}" if base and base.value else ""


def _tooltip(metric: Metric, cell: Cell) -> str:
    text = f"{metric.title}: {fmt(cell.value)}"
    if cell.delta_interval:
        text += f"; change 95 % CI {change_interval(cell)}"
    if cell.q_value is not None:
        text += f", q = {cell.q_value:.2g}, {cell.n_paired} paired items"
    return text


def _main_sub(analysis: Analysis, row: Row, metric: Metric, cell: Cell) -> tuple[str, str]:
    """What a compared cell says: the change, and its size relative to dense's value where the
    direction has a reading (else the change's 95 % interval); perplexity: value and ratio."""
    if metric.entry.perplexity:
        base, star = cell.value - cell.delta, "*" if cell.significant else ""
        return f"{fmt(cell.value, 1)}{star}", f"x{cell.value / base:.2f} dense" if base else ""
    relative = _relative(analysis, row, metric, cell) if metric.higher_is_worse is not None else ""
    if relative:
        return signed_change(cell), f"{relative} vs dense"
    interval = f"CI {change_interval(cell)}" if cell.delta_interval else ""
    return signed_change(cell), interval


def overview_cell(analysis: Analysis, row: Row, metric: Metric) -> TableCell | str:
    """The change vs dense (dense: its value), coloured by direction, strong if significant."""
    cell = analysis.cell(row, metric.key)
    if cell is None:
        return "-"
    if cell.delta is None:
        value = fmt(cell.value, 1 if metric.entry.perplexity else 3)
        note = "dense" if row.is_dense else "not compared"
        return TableCell(f"{value} ({note})", (value, note), "vm")
    word = tone(metric, cell)
    main, sub = _main_sub(analysis, row, metric, cell)
    text = (
        main
        + (f" ({sub})" if sub else "")
        + (f" {word}" if cell.significant and word in ("worse", "better") else "")
    )
    return TableCell(text, (main, sub), "dm", word, cell.significant, _tooltip(metric, cell))


def overview_table(analysis: Analysis) -> Table:
    """The overview figure's twin: config, sparsity, perplexity, each dimension's headline."""
    heads = headlines(analysis)
    header = ["config", "sparsity", "perplexity", *(f"{d}: {m.title}" for d, m in heads)]
    rows = []
    ppl = analysis.catalogue.perplexity
    for row in analysis.rows:
        label, detail = row_name(analysis, row)
        cells = [TableCell(row.display, (label, detail), "vm")]
        cells.append(sparsity_text(row.compression))
        cells.append(overview_cell(analysis, row, ppl) if ppl else "-")
        cells += [overview_cell(analysis, row, m) for _, m in heads]
        rows.append(cells)
    return Table(header, rows)


def sparsity_text(compression: dict) -> str:
    """Measured sparsity of the targeted weights, with the whole model's where it differs
    (layers left out of the targets: "0.50 (0.45 overall)")."""
    sparsity, overall = compression.get("measured_sparsity"), compression.get("overall_sparsity")
    if not isinstance(sparsity, (int, float)):
        return "-"
    if isinstance(overall, (int, float)) and round(overall, 2) != round(sparsity, 2):
        return f"{fmt(sparsity, 2)} ({fmt(overall, 2)} overall)"
    return fmt(sparsity, 2)


def caption(analysis: Analysis) -> str:
    parts = []
    ppl = analysis.catalogue.perplexity
    for _, metric in [*headlines(analysis), *([("", ppl)] if ppl else [])]:
        cells = [c for r in analysis.rows if (c := analysis.cell(r, metric.key))]
        if cells:
            parts.append(f"{metric.title}: {items_text(cells)}")
    return (
        "Change vs dense of each dimension's headline metric (columns) under each config "
        f"(rows), coloured by direction, deeper for larger changes within a column; * and strong "
        f"colour: significant at a {FDR:.0%} false discovery rate (Benjamini-Hochberg over the "
        f"confirmatory family of each config). Items per config: " + "; ".join(parts) + "."
    )


def summaries(analysis: Analysis) -> list[str]:
    """A sentence per dimension: its headline's significant changes (or what the items could
    detect), then the count of significant changes over all its metrics, by direction."""
    present = analysis.metrics_present()
    heads = dict(headlines(analysis))
    out = []
    for dimension in analysis.catalogue.dimensions():
        metrics = [m for d, m in present if d == dimension]
        if not metrics:
            continue
        head = heads.get(dimension) or metrics[0]
        out.append(
            f"**{dimension}**: {_headline_sentence(analysis, head)} {_tally(analysis, metrics)}"
        )
    return out


def _headline_sentence(analysis: Analysis, metric: Metric) -> str:
    compared = [
        (r, c) for r in analysis.rows if (c := analysis.cell(r, metric.key)) and c.delta is not None
    ]
    if not compared:
        return f"{metric.title}: no config compared with dense."
    moved: dict[str, list[str]] = {}  # "higher (worse)": ["wanda 50% (+0.1*)", ...]
    for row, cell in compared:
        if cell.significant:
            way = f"{'higher' if cell.delta > 0 else 'lower'}{_word(metric, cell)}"
            name = row_name(analysis, row)[0]
            moved.setdefault(way, []).append(f"{name} ({signed_change(cell)})")
    parts = [f"{way} under {', '.join(names)}" for way, names in moved.items()]
    quiet = [
        f"{row_name(analysis, r)[0]} ({signed_change(c)}, CI {change_interval(c)})"
        for r, c in compared
        if not c.significant
    ]
    if quiet:
        parts.append(f"not marked under {', '.join(quiet)}")
    return f"{metric.title}: {'; '.join(parts)}."


def _word(metric: Metric, cell: Cell) -> str:
    word = tone(metric, cell)
    return f" ({word})" if word in ("worse", "better") else ""


def _tally(analysis: Analysis, metrics: list[Metric]) -> str:
    counts = {"worse": 0, "better": 0, "neutral": 0}
    tested = configs = 0
    for row in analysis.rows:
        marked = False
        for metric in metrics:
            cell = analysis.cell(row, metric.key)
            if cell is None or cell.delta is None:
                continue
            tested += 1
            if cell.significant:
                counts[tone(metric, cell) or "neutral"] += 1
                marked = True
        configs += marked
    if not tested:
        return ""
    total = sum(counts.values())
    by_word = ", ".join(f"{n} {WORDS[w]}" for w, n in counts.items() if n)
    return (
        f"Over its {len(metrics)} metric{'s' if len(metrics) != 1 else ''}: {total} of {tested} "
        f"changes significant{f' ({by_word})' if total else ''}"
        + (f", in {configs} config{'s' if configs != 1 else ''}." if total else ".")
    )


def draw_overview(analysis: Analysis, folder: Path) -> Figure | None:
    """The overview as a figure: a grid of coloured cells, colour strength by the size of the
    change within its column (strong when significant, pale when not), a legend below."""
    heads, rows, ppl = headlines(analysis), analysis.rows, analysis.catalogue.perplexity
    if not rows or not (heads or (ppl and any(analysis.cell(r, ppl.key) for r in rows))):
        return None
    columns = [("sparsity", "measured", 0.9, None)]
    columns += [("perplexity", "x dense", 1.3, ppl)] if ppl else []
    columns += [(d, m.title, 1.9, m) for d, m in heads]
    names = [row_name(analysis, r) for r in rows]
    names = [(_clip(label, 44), _clip(detail, 60)) for label, detail in names]
    left = max(2.6, 0.2 + 0.078 * max(len(label) for label, _ in names))  # room for labels
    width = left + sum(c[2] for c in columns)
    fig, ax = plt.subplots(figsize=(max(width, 8.0) * 0.92, 0.36 * (len(rows) + 3.1)))
    fig.subplots_adjust(0.005, 0.005, 0.995, 0.995)
    ax.set_xlim(0, max(width, 8.0))
    ax.set_ylim(len(rows) + 3.0, -0.05)
    ax.axis("off")
    x = left
    for title, subtitle, w, metric in columns:
        ax.text(x + w / 2, 0.55, _wrap(title), ha="center", va="bottom", fontsize=8, weight="bold")
        ax.text(x + w / 2, 0.62, _wrap(subtitle), ha="center", va="top", fontsize=6.5)
        cells = [analysis.cell(r, metric.key) if metric else None for r in rows]
        bound = max((abs(c.delta) for c in cells if c and c.delta is not None), default=0.0)
        for i, row in enumerate(rows):
            if metric is None:
                text = sparsity_text(row.compression)
                ax.text(x + w / 2, i + 2.0, text, ha="center", va="center", fontsize=8)
            else:
                _draw_cell(ax, analysis, row, metric, cells[i], (x, i + 1.5, w), bound)
        x += w
    for i, (label, detail) in enumerate(names):
        ax.text(0.05, i + 1.95, label, va="center", fontsize=8.5, weight="bold", parse_math=False)
        ax.text(0.05, i + 2.3, detail, va="center", fontsize=6.5, color="#555", parse_math=False)
    _legend(ax, len(rows) + 2.0)
    return Figure(save(fig, folder / "overview.png", dpi=110), caption(analysis), "Overview")


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def _wrap(text: str, width: int = 22) -> str:
    lines = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + len(word) + 1 > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return "\n".join(lines)


def _draw_cell(ax, analysis: Analysis, row: Row, metric: Metric, cell, box, bound) -> None:
    (x, y, w), centre = box, box[0] + box[2] / 2
    if cell is None:
        ax.text(centre, y + 0.5, "-", ha="center", va="center", fontsize=8, color="#777")
        return
    if cell.delta is None:
        colour, alpha, weight, ink = "#d9d9d9", 0.6, "normal", "#333"
        digits = 1 if metric.entry.perplexity else 3
        main, sub = fmt(cell.value, digits), "dense" if row.is_dense else "-"
    else:
        strength = abs(cell.delta) / bound if bound else 0.0
        colour = COLOURS[tone(metric, cell) or "neutral"]
        alpha = 0.45 + 0.5 * strength if cell.significant else 0.08 + 0.17 * strength
        weight, ink = ("bold", "black") if cell.significant else ("normal", "#444")
        main, sub = _main_sub(analysis, row, metric, cell)
    ax.add_patch(Rectangle((x + 0.04, y + 0.04), w - 0.08, 0.92, color=colour, alpha=alpha))
    ax.text(
        centre, y + 0.42, main, ha="center", va="center", fontsize=8.5, weight=weight, color=ink
    )
    ax.text(centre, y + 0.78, sub, ha="center", va="center", fontsize=6.5, color=ink)


def _legend(ax, y: float) -> None:
    """Colour keys and what strong colour and * mean, below the grid (the caption says more)."""
    x = 0.05
    for key, colour in COLOURS.items():
        ax.add_patch(Rectangle((x, y - 0.18), 0.22, 0.36, color=colour, alpha=0.8))
        ax.text(x + 0.3, y, WORDS[key], fontsize=7, va="center")
        x += 0.55 + 0.075 * len(WORDS[key])
    note = f"strong, bold, *: significant at a {FDR:.0%} false discovery rate; pale: not"
    ax.text(0.05, y + 0.55, note, fontsize=7, va="center")
