"""The report's figures: metric vs sparsity per method, per-group heatmaps, safety vs perplexity."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogLocator, ScalarFormatter

from compsafe.report.data.catalogue import Metric
from compsafe.report.data.cells import Analysis
from compsafe.report.stats.inference import FDR
from compsafe.report.view.page import Figure
from compsafe.report.view.text import items_text

MARKERS = {"2:4": "s", "4:8": "D", "quantized": "X"}
SIZE = (5.2, 3.5)  # inches at DPI: a small multiple of the report's grid (520 x 350 px)
DPI = 100


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _plain_log(axis) -> None:
    """Log scale with plain tick labels (30, 100, 400) rather than 3x10^1."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ScalarFormatter())
    axis.set_minor_formatter(plt.NullFormatter())


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    return save(fig, path)


def save(fig, path: Path, dpi: int = DPI) -> Path:
    """Saved as a palette PNG (256 colours): a third of the size, no visible loss on plots."""
    from PIL import Image

    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path


def metric_vs_sparsity(analysis: Analysis, metric: Metric, folder: Path) -> list[Figure]:
    """One figure per model: unstructured rates as lines per method, N:M and quantized configs
    as marked points at their measured sparsity, dense as a dashed line; 95 % intervals."""
    paths = []
    for model in sorted({r.model for r in analysis.rows}):
        rows = [r for r in analysis.rows if r.model == model and analysis.cell(r, metric.key)]
        if len(rows) < 2:
            continue
        fig, ax = plt.subplots(figsize=SIZE)
        methods = sorted({r.method for r in rows if r.kind == "unstructured"})
        colors = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
        dodge = {m: (i - (len(methods) - 1) / 2) * 0.006 for i, m in enumerate(methods)}
        for method in methods:  # dodged a little sideways so equal rates do not hide each other
            points = sorted(
                (r.compression.get("target_sparsity") or 0.0, analysis.cell(r, metric.key))
                for r in rows
                if r.method == method and r.kind == "unstructured"
            )
            x = [p[0] + dodge[method] for p in points]
            y = [p[1].value for p in points]
            err = _errors([p[1] for p in points])
            ax.errorbar(x, y, yerr=err, marker="o", color=colors[method], label=method, capsize=3)
        for row in rows:
            cell = analysis.cell(row, metric.key)
            if row.kind == "dense":
                ax.axhline(
                    cell.value,
                    color="black",
                    linestyle="--",
                    linewidth=1,
                    label=f"dense ({cell.value:.3g})",
                )
                if cell.interval:  # dense's own 95 % interval as a band
                    ax.axhspan(*cell.interval, color="black", alpha=0.08, linewidth=0)
            elif row.kind in ("N:M", "quantized"):
                mark = MARKERS.get(row.compression.get("n_m") or row.kind, "P")
                x = row.compression.get("measured_sparsity") or 0.0
                ax.errorbar(
                    [x],
                    [cell.value],
                    yerr=_errors([cell]),
                    marker=mark,
                    linestyle="none",
                    color=colors.get(row.method, "gray"),
                    label=row.label,
                    capsize=3,
                )
        ax.set_xlim(0.0, ax.dataLim.x1 + 0.04)  # from dense (0) up to the highest rate
        ax.set_xlabel("sparsity (measured for N:M and quantized points)", fontsize=8)
        ax.set_ylabel(metric.title, fontsize=8)
        ax.set_title(f"{metric.title} - {model}", fontsize=9)
        if metric.entry.perplexity or metric.key.endswith("perplexity"):
            ax.set_yscale("log")
            _plain_log(ax.yaxis)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, ncol=2)
        path = _save(fig, folder / f"{slug(metric.key)}_vs_sparsity_{slug(model)}.png")
        cells = [analysis.cell(r, metric.key) for r in rows]
        seeds = max(c.n_seeds for c in cells)
        paths.append(
            Figure(
                path,
                f"{metric.title} vs sparsity, {model}: a line per method, dense dashed with its "
                "95 % band, N:M and quantized configs as points; bars: 95 % intervals; "
                f"{items_text(cells)} per config"
                + (f", mean of {seeds} seeds." if seeds > 1 else "."),
                metric.dimension,
            )
        )
    return paths


def _errors(cells):
    """Asymmetric error bars from intervals (0 where a cell has none)."""
    lower = [c.value - c.interval[0] if c.interval else 0.0 for c in cells]
    upper = [c.interval[1] - c.value if c.interval else 0.0 for c in cells]
    return np.array([np.maximum(lower, 0), np.maximum(upper, 0)])


def heatmaps(analysis: Analysis, folder: Path) -> list[Figure]:
    """Change vs dense per group (rows) and config (columns), like the paper's heatmaps."""
    paths = []
    for task_key, metric, field in analysis.catalogue.heatmaps():
        cells = analysis.group_cells(task_key, metric, field)
        if not cells:
            continue
        rows = [r for r in analysis.rows if any(k[0] == id(r) for k in cells)]
        groups = sorted({g for _, g in cells})[:40]
        grid = np.array(
            [
                [cells[(id(r), g)].delta if (id(r), g) in cells else np.nan for r in rows]
                for g in groups
            ]
        )
        bound = np.nanmax(np.abs(grid)) or 1.0
        longest = max(len(r.label) for r in rows)  # room for the rotated config labels
        size = (1.6 + 0.9 * len(rows), 1.0 + 0.32 * len(groups) + 0.05 * longest)
        fig, ax = plt.subplots(figsize=size)
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="lightgray")  # gray: group not measured
        image = ax.imshow(grid, cmap=cmap, vmin=-bound, vmax=bound, aspect="auto")
        ax.set_xticks(
            range(len(rows)),
            [
                f"{r.label}\n{r.model}" if len({x.model for x in rows}) > 1 else r.label
                for r in rows
            ],
            rotation=45,
            ha="right",
            fontsize=7,
        )
        ax.set_yticks(range(len(groups)), groups, fontsize=7)
        _mark_counts(ax, [[cells.get((id(r), g)) for r in rows] for g in groups], bound)
        fig.colorbar(image, ax=ax, label=f"change in {metric} vs dense")
        ax.set_title(f"{task_key} {metric} by {field}", fontsize=9)
        path = _save(fig, folder / f"heatmap_{slug(task_key)}_{slug(metric)}_{slug(field)}.png")
        paths.append(
            Figure(
                path,
                f"Change in {task_key} {metric} vs dense by {field}: {len(groups)} groups x "
                f"{len(rows)} configs, {items_text(list(cells.values()))} per group paired with "
                f"dense's (the number in each cell); *: significant at {FDR:.0%} FDR; gray: no "
                "data.",
                analysis.catalogue.dimension_of(f"{task_key}/{metric}"),
            )
        )
    return paths


def _mark_counts(ax, grid: list[list], bound: float) -> None:
    """Each heatmap cell's paired item count, with `*` when its change is significant after
    the false discovery rate control (white on the darkest colours)."""
    for y, line in enumerate(grid):
        for x, cell in enumerate(line):
            if cell is None:
                continue
            color = "white" if abs(cell.delta) > 0.6 * bound else "black"
            text = f"{cell.n_paired if cell.n_paired is not None else '?'}"
            text += "*" if cell.significant else ""
            ax.text(x, y, text, ha="center", va="center", fontsize=6, color=color)


def safety_vs_perplexity(analysis: Analysis, metrics: list[Metric], folder: Path) -> list[Figure]:
    """x: perplexity relative to dense; y: change of each safety metric vs dense."""
    paths = []
    perplexity = analysis.catalogue.perplexity
    if perplexity is None:
        return paths
    for metric in metrics:
        points = []
        for row in analysis.rows:
            dense = analysis.dense_of(row)
            ppl, cell = analysis.cell(row, perplexity.key), analysis.cell(row, metric.key)
            base = analysis.cell(dense, perplexity.key) if dense else None
            if row is dense or not (ppl and cell and base and cell.delta is not None):
                continue
            points.append((ppl.value / base.value, cell.delta, row))
        if len(points) < 2:
            continue
        fig, ax = plt.subplots(figsize=SIZE)
        for x, y, row in points:
            ax.scatter(
                [x],
                [y],
                marker=MARKERS.get(row.compression.get("n_m") or row.kind, "o"),
                color="tab:red" if analysis.cell(row, metric.key).significant else "tab:gray",
            )
            ax.annotate(row.label, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        _plain_log(ax.xaxis)
        ax.set_xlabel("perplexity / dense perplexity", fontsize=8)
        ax.set_ylabel("change vs dense", fontsize=8)
        ax.set_title(f"{metric.title} vs perplexity", fontsize=9)
        ax.tick_params(labelsize=7)
        path = _save(fig, folder / f"safety_vs_perplexity_{slug(metric.key)}.png")
        cells = [analysis.cell(row, metric.key) for _, _, row in points]
        ppl = [analysis.cell(row, perplexity.key) for _, _, row in points]
        paths.append(
            Figure(
                path,
                f"Safety vs perplexity: change in {metric.title} vs dense ({items_text(cells)}) "
                "against perplexity "
                f"relative to dense ({items_text(ppl)}), one point per config; red: significant "
                f"at {FDR:.0%} FDR.",
                metric.dimension,
            )
        )
    return paths
