"""`compsafe-report SWEEP_DIR [SWEEP_DIR ...]`: tables, figures, intervals and findings.

Writes into `<first sweep>/report/` (or `--out`): report.md, report.html (self-contained: an
overview at the top, contents, findings and tables by dimension, figures in a grid),
results.csv (one row per job, one column per metric), results_long.csv, figures/*.png (the
overview first); with `--wandb`, logs the tables and figures to one summary run in the sweep's
W&B group.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compsafe.report.analysis import Analysis, analyse
from compsafe.report.catalogue import safety_metrics
from compsafe.report.export import log_to_wandb, write_csv
from compsafe.report.figures import heatmaps, metric_vs_sparsity, safety_vs_perplexity
from compsafe.report.overview import draw_overview
from compsafe.report.page import Figure
from compsafe.report.render import document


def build_report(
    roots: list[Path],
    out: Path | None = None,
    iterations: int = 1000,
    seed: int = 0,
    wandb_mode: str | None = None,
    project: str = "compsafe",
) -> Path:
    """Analyse the sweeps and write every report file; returns the report folder."""
    folder = out or roots[0] / "report"
    figures_dir = folder / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for stale in figures_dir.glob("*.png"):  # ours, from an earlier report of this folder
        stale.unlink()
    analysis = analyse(roots, iterations=iterations, seed=seed)
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
    figures += safety_vs_perplexity(analysis, safety_metrics(present), folder)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compsafe-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="+", type=Path, help="sweep folders (or job folders)")
    parser.add_argument("--out", type=Path, help="report folder (default: <first sweep>/report)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--wandb",
        default="none",
        choices=["none", "auto", "offline", "online"],
        help="log tables and figures to a W&B summary run",
    )
    parser.add_argument("--project", default="compsafe")
    args = parser.parse_args(argv)
    for sweep in args.sweeps:
        if not sweep.is_dir():
            print(f"compsafe-report: error: {sweep}: no such folder", file=sys.stderr)
            return 2
    folder = build_report(
        args.sweeps, args.out, args.bootstrap, args.seed, args.wandb, args.project
    )
    print(f"Report written to {folder / 'report.md'} and {folder / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
