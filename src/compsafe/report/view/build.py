"""The report's files from an analysis: report.md, report.html, results.csv, results_long.csv,
figures/*.png (the overview first), and optionally a W&B summary run."""

from __future__ import annotations

from pathlib import Path

from compsafe.report.data.catalogue import is_safety
from compsafe.report.data.cells import Analysis
from compsafe.report.stats.analysis import analyse
from compsafe.report.view.export import log_to_wandb, write_csv
from compsafe.report.view.figures import heatmaps, metric_vs_sparsity, safety_vs_perplexity
from compsafe.report.view.overview import draw_overview
from compsafe.report.view.page import Figure
from compsafe.report.view.render import document


def build_report(
    roots: list[Path],
    out: Path | None = None,
    iterations: int = 1000,
    bootstrap_seed: int = 0,
    wandb_mode: str | None = None,
    project: str = "compsafe",
) -> Path:
    """Analyse the sweeps and write every report file; returns the report folder."""
    folder = out or roots[0] / "report"
    figures_dir = folder / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for stale in figures_dir.glob("*.png"):  # ours, from an earlier report of this folder
        stale.unlink()
    analysis = analyse(roots, iterations=iterations, bootstrap_seed=bootstrap_seed)
    overview = draw_overview(analysis, figures_dir)
    figures = draw_figures(analysis, figures_dir)
    wide, _ = write_csv(analysis, folder)
    title = "compsafe report: " + ", ".join(str(r) for r in roots)
    page = document(analysis, figures, overview, title)
    (folder / "report.md").write_text(page.markdown(folder), encoding="utf-8")
    (folder / "report.html").write_text(page.html(folder), encoding="utf-8")
    if wandb_mode and wandb_mode != "none":
        paths = [f.path for f in ([overview] if overview else []) + figures]
        log_to_wandb(analysis, wide, paths, project, wandb_mode)
    return folder


def draw_figures(analysis: Analysis, folder: Path) -> list[Figure]:
    """Each metric vs sparsity, the group heatmaps, then each safety metric vs perplexity; the
    report groups them by dimension."""
    present = [m for _, m in analysis.metrics_present()]
    figures: list[Figure] = []
    for metric in present:
        figures += metric_vs_sparsity(analysis, metric, folder)
    figures += heatmaps(analysis, folder)
    figures += safety_vs_perplexity(analysis, [m for m in present if is_safety(m)], folder)
    return figures
