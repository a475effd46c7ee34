"""The report's findings: what a reader should look at first, as sentences."""

from __future__ import annotations

from compsafe.report.analysis import Analysis, Cell, Row, group_cells
from compsafe.report.catalogue import DIMENSIONS, HEATMAPS, Metric
from compsafe.report.render import fmt

# (change relative to dense, or None when dense is 0; the config; the metric; its cell)
Change = tuple[float | None, Row, Metric, Cell]


def findings(analysis: Analysis, top: int = 3) -> list[str]:
    """The largest significant changes vs dense per dimension, and divergent group effects."""
    out = []
    for dimension in DIMENSIONS:
        changes = _significant_changes(analysis, dimension)
        by_size = sorted(changes, key=lambda c: -abs(c[0] if c[0] is not None else c[3].delta))
        out += [_sentence(dimension, change) for change in by_size[:top]]
    out += divergent_impacts(analysis)
    return out or ["No change vs dense is significant at 95 % (or no dense baseline was found)."]


def _significant_changes(analysis: Analysis, dimension: str) -> list[Change]:
    """Every significant change vs dense of the dimension's metrics, row by row."""
    changes = []
    metrics = [m for d, m in analysis.metrics_present() if d == dimension]
    for row in analysis.rows:
        for metric in metrics:
            cell = analysis.cell(row, metric.key)
            if cell and cell.significant and cell.delta is not None:
                dense = analysis.dense_of(row)
                base = analysis.cell(dense, metric.key).value if dense else None
                relative = cell.delta / abs(base) if base else None
                changes.append((relative, row, metric, cell))
    return changes


def _sentence(dimension: str, change: Change) -> str:
    """'<dimension>: <metric> rises by x (+n% vs dense, worse) under <config> (<model>); ...'."""
    relative, row, metric, cell = change
    versus = f"{relative:+.0%} vs dense" if relative is not None else "dense is 0"
    if metric.higher_is_worse is not None:
        versus += ", worse" if (cell.delta > 0) == metric.higher_is_worse else ", better"
    return (
        f"{dimension}: {metric.title} {'rises' if cell.delta > 0 else 'falls'} "
        f"by {fmt(abs(cell.delta))} ({versus}) under {row.label} "
        f"({row.model}); 95 % CI of the change "
        f"[{fmt(cell.delta_interval[1])}, {fmt(cell.delta_interval[2])}]."
    )


def divergent_impacts(analysis: Analysis, threshold: float = 0.02) -> list[str]:
    """Groups whose metric moves in opposite directions as compression grows (the paper's
    "divergent impact"): at a method's highest unstructured rate, some groups gain and others
    lose by more than `threshold`. A group's change is starred when significant."""
    out = []
    for task_key, metric, field in HEATMAPS:
        cells = group_cells(analysis, task_key, metric, field)
        for model in sorted({r.model for r in analysis.rows}):
            for method in sorted({r.method for r in analysis.rows if r.kind == "unstructured"}):
                top = _highest_rate(analysis, model, method)
                if top is None:
                    continue
                mine = {g: c for (rid, g), c in cells.items() if rid == id(top)}
                up = max(mine.items(), key=lambda kv: kv[1].delta, default=None)
                down = min(mine.items(), key=lambda kv: kv[1].delta, default=None)
                if up and down and up[1].delta > threshold and down[1].delta < -threshold:
                    out.append(
                        f"Divergent impact: {task_key} {metric} by {field} under "
                        f"{top.label} ({model}): {up[0]} {'+'}{_change(up[1])}, "
                        f"{down[0]} {_change(down[1])}."
                    )
    return out


def _change(cell: Cell) -> str:
    """A group's change vs dense, `*` when its paired 95 % interval excludes 0."""
    return fmt(cell.delta) + ("*" if cell.significant else "")


def _highest_rate(analysis: Analysis, model: str, method: str) -> Row | None:
    """The model's config of `method` at its highest unstructured target sparsity."""
    rows = [
        r
        for r in analysis.rows
        if r.model == model and r.method == method and r.kind == "unstructured"
    ]
    return max(rows, key=lambda r: r.compression.get("target_sparsity") or 0) if rows else None
