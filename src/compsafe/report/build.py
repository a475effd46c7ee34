"""`compsafe-report SWEEP_DIR [SWEEP_DIR ...]`: tables, figures, intervals and findings.

Writes into `<first sweep>/report/` (or `--out`): report.md, report.html (self-contained),
results.csv (one row per job, one column per metric), results_long.csv, figures/*.png; with
`--wandb`, logs the tables and figures to one summary run in the sweep's W&B group.
"""

from __future__ import annotations

import argparse
import base64
import csv
import logging
import sys
from pathlib import Path

from compsafe.report.analysis import Analysis, Row, analyse, group_deltas
from compsafe.report.catalogue import DIMENSIONS, HEATMAPS, PERPLEXITY, Metric
from compsafe.report.figures import heatmaps, metric_vs_sparsity, safety_vs_perplexity

log = logging.getLogger(__name__)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def cell_text(analysis: Analysis, row: Row, metric: Metric) -> str:
    """'0.123 [0.101, 0.145] (+0.020*)': value, 95 % interval, change vs dense, * if significant."""
    cell = analysis.cell(row, metric.key)
    if cell is None:
        return "-"
    text = _fmt(cell.value)
    if cell.interval:
        text += f" [{_fmt(cell.interval[0])}, {_fmt(cell.interval[1])}]"
    if cell.delta is not None:
        sign, star = ("+" if cell.delta >= 0 else ""), ("*" if cell.significant else "")
        text += f" ({sign}{_fmt(cell.delta)}{star})"
    return text


def ordered_rows(analysis: Analysis) -> list[Row]:
    """Per model: dense first, then grouped by method (the collect order)."""
    return analysis.rows


def markdown_table(analysis: Analysis, metrics: list[Metric]) -> list[str]:
    multi_model = len({r.model for r in analysis.rows}) > 1
    header = ["config", *(["model"] if multi_model else []), *(m.title for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ordered_rows(analysis):
        if not any(analysis.cell(row, m.key) for m in metrics):
            continue
        cells = [
            row.label,
            *([row.model] if multi_model else []),
            *(cell_text(analysis, row, m) for m in metrics),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def findings(analysis: Analysis, top: int = 3) -> list[str]:
    """The largest significant changes vs dense per dimension, and divergent group effects."""
    out = []
    present = analysis.metrics_present()
    for dimension in DIMENSIONS:
        changes = []
        for row in analysis.rows:
            for metric in (m for d, m in present if d == dimension):
                cell = analysis.cell(row, metric.key)
                if cell and cell.significant and cell.delta is not None:
                    dense = analysis.dense_of(row)
                    base = analysis.cell(dense, metric.key).value if dense else None
                    relative = cell.delta / abs(base) if base else None
                    changes.append((relative, row, metric, cell))
        by_size = sorted(changes, key=lambda c: -abs(c[0] if c[0] is not None else c[3].delta))
        for relative, row, metric, cell in by_size[:top]:
            versus = f"{relative:+.0%} vs dense" if relative is not None else "dense is 0"
            if metric.higher_is_worse is not None:
                versus += ", worse" if (cell.delta > 0) == metric.higher_is_worse else ", better"
            out.append(
                f"{dimension}: {metric.title} {'rises' if cell.delta > 0 else 'falls'} "
                f"by {_fmt(abs(cell.delta))} ({versus}) under {row.label} "
                f"({row.model}); 95 % CI of the change "
                f"[{_fmt(cell.delta_interval[1])}, {_fmt(cell.delta_interval[2])}]."
            )
    out += divergent_impacts(analysis)
    return out or ["No change vs dense is significant at 95 % (or no dense baseline was found)."]


def divergent_impacts(analysis: Analysis, threshold: float = 0.02) -> list[str]:
    """Groups whose metric moves in opposite directions as compression grows (the paper's
    "divergent impact"): at a method's highest unstructured rate, some groups gain and others
    lose by more than `threshold`."""
    out = []
    for task_key, metric, field in HEATMAPS:
        deltas = group_deltas(analysis, task_key, metric, field)
        for model in sorted({r.model for r in analysis.rows}):
            for method in sorted({r.method for r in analysis.rows if r.kind == "unstructured"}):
                rows = [
                    r
                    for r in analysis.rows
                    if r.model == model and r.method == method and r.kind == "unstructured"
                ]
                if not rows:
                    continue
                top = max(rows, key=lambda r: r.compression.get("target_sparsity") or 0)
                mine = {g: d for (rid, g), d in deltas.items() if rid == id(top)}
                up = max(mine.items(), key=lambda kv: kv[1], default=None)
                down = min(mine.items(), key=lambda kv: kv[1], default=None)
                if up and down and up[1] > threshold and down[1] < -threshold:
                    out.append(
                        f"Divergent impact: {task_key} {metric} by {field} under "
                        f"{top.label} ({model}): {up[0]} {'+'}{_fmt(up[1])}, "
                        f"{down[0]} {_fmt(down[1])}."
                    )
    return out


def write_csv(analysis: Analysis, folder: Path) -> tuple[Path, Path]:
    """Wide (one row per job, one column per metric) and long (one row per job and metric)."""
    keys = sorted({k for r in analysis.rows for k in (r.record.get("metrics") or {})})
    wide, long = folder / "results.csv", folder / "results_long.csv"
    base_columns = [
        "sweep",
        "folder",
        "model",
        "config",
        "method",
        "pattern",
        "target_sparsity",
        "measured_sparsity",
        "status",
    ]

    def base(row: Row, status: str) -> list:
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
            status,
        ]

    with open(wide, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(base_columns + keys)
        for row in analysis.rows + analysis.failed:
            metrics = row.record.get("metrics") or {}
            writer.writerow(base(row, row.record.get("status")) + [metrics.get(k) for k in keys])
    with open(long, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                *base_columns,
                "metric",
                "value",
                "ci_low",
                "ci_high",
                "delta_vs_dense",
                "delta_ci_low",
                "delta_ci_high",
                "significant",
            ]
        )
        for row in analysis.rows:
            for key, value in sorted((row.record.get("metrics") or {}).items()):
                cell = analysis.cell(row, key)
                interval = cell.interval if cell and cell.interval else (None, None)
                delta = cell.delta_interval if cell and cell.delta_interval else (None, None, None)
                writer.writerow(
                    [
                        *base(row, "completed"),
                        key,
                        value,
                        *interval,
                        cell.delta if cell else None,
                        delta[1],
                        delta[2],
                        cell.significant if cell else None,
                    ]
                )
    return wide, long


def markdown(analysis: Analysis, figures: list[Path], folder: Path, title: str) -> str:
    lines = [f"# {title}", ""]
    models = sorted({r.model for r in analysis.rows})
    lines += [
        f"Models: {', '.join(models) or '-'}. Jobs: {len(analysis.rows)} completed, "
        f"{len(analysis.failed)} failed, {len(analysis.missing)} missing.",
        "",
        "Cells: value [95 % bootstrap interval over items] (change vs dense; `*` when the "
        "paired 95 % interval of the change excludes 0).",
        "",
    ]
    data_notes = _data_notes(analysis)
    if data_notes:
        lines += ["Data: " + "; ".join(data_notes) + ".", ""]
    lines += ["## Findings", ""] + [f"- {f}" for f in findings(analysis)] + [""]
    present = analysis.metrics_present()
    for dimension in DIMENSIONS:
        metrics = [m for d, m in present if d == dimension]
        if metrics:
            lines += [f"## {dimension}", "", *markdown_table(analysis, metrics), ""]
    if analysis.failed or analysis.missing:
        lines += ["## Failed and missing jobs", ""]
        lines += [f"- failed: `{r.folder}`: {r.record.get('error')}" for r in analysis.failed]
        lines += [f"- missing: `{sweep / name}`" for sweep, name in analysis.missing]
        lines += [""]
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({p.relative_to(folder).as_posix()})" for p in figures]
    return "\n".join(lines) + "\n"


def _data_notes(analysis: Analysis) -> list[str]:
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


def log_to_wandb(
    analysis: Analysis, wide_csv: Path, figures: list[Path], project: str, mode: str
) -> None:
    """One summary run in the sweep's group: the results table and every figure."""
    import wandb

    from compsafe.tracking import resolve_mode

    group = (
        f"{analysis.rows[0].sweep.parent.name}_{analysis.rows[0].sweep.name}"
        if analysis.rows
        else None
    )
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


def build_report(
    roots: list[Path],
    out: Path | None = None,
    iterations: int = 1000,
    seed: int = 0,
    wandb_mode: str | None = None,
    project: str = "compsafe",
) -> Path:
    folder = out or roots[0] / "report"
    figures_dir = folder / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for stale in figures_dir.glob("*.png"):  # ours, from an earlier report of this folder
        stale.unlink()
    analysis = analyse(roots, iterations=iterations, seed=seed)
    figures: list[Path] = []
    present = [m for _, m in analysis.metrics_present()]
    for metric in present:
        figures += metric_vs_sparsity(analysis, metric, figures_dir)
    figures += heatmaps(analysis, figures_dir)
    figures += safety_vs_perplexity(
        analysis,
        [
            m
            for m in present
            if m.key != PERPLEXITY and not m.key.startswith(("mmlu", "truthfulqa"))
        ],
        figures_dir,
    )
    wide, _ = write_csv(analysis, folder)
    title = "compsafe report: " + ", ".join(str(r) for r in roots)
    text = markdown(analysis, figures, folder, title)
    (folder / "report.md").write_text(text, encoding="utf-8")
    (folder / "report.html").write_text(html(text, folder), encoding="utf-8")
    if wandb_mode and wandb_mode != "none":
        log_to_wandb(analysis, wide, figures, project, wandb_mode)
    return folder


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
