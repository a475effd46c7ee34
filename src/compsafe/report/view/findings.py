"""The report's findings: what a reader should look at first, as sentences."""

from __future__ import annotations

from compsafe.report.data.catalogue import Metric
from compsafe.report.data.cells import Analysis, Cell
from compsafe.report.data.records import Row
from compsafe.report.stats.inference import FDR, MIN_GROUP_ITEMS
from compsafe.report.view.text import change_interval, fmt

# (change relative to dense, or None when dense is 0; the config; the metric; its cell)
Change = tuple[float | None, Row, Metric, Cell]


def findings(analysis: Analysis, top: int = 3) -> list[str]:
    """The largest changes vs dense per dimension that stay significant after the false
    discovery rate control, and divergent group effects that do too."""
    out = [f"{d}: {s}" for d, lines in by_dimension(analysis, top).items() for s in lines]
    out += divergent_impacts(analysis)
    if not out:
        out.append(NO_FINDING)
    return out + withheld(analysis)


NO_FINDING = (
    f"No change vs dense is significant at a {FDR:.0%} false discovery rate "
    "(or no dense baseline was found)."
)


def by_dimension(analysis: Analysis, top: int = 3) -> dict[str, list[str]]:
    """{dimension: its `top` largest significant changes vs dense, as sentences}: the report's
    findings grouped as its sections are."""
    out = {}
    for dimension in analysis.catalogue.dimensions():
        changes = _significant_changes(analysis, dimension)
        by_size = sorted(changes, key=lambda c: -abs(c[0] if c[0] is not None else c[3].delta))
        if by_size:
            out[dimension] = [_sentence(change) for change in by_size[:top]]
    return out


def group_level(analysis: Analysis) -> list[str]:
    """Findings about groups (divergent impacts) and what the report withheld from them."""
    return divergent_impacts(analysis) + withheld(analysis)


def withheld(analysis: Analysis) -> list[str]:
    small, tested = group_findings_withheld(analysis)
    if not small:
        return []
    return [
        f"Group findings consider only groups with at least {MIN_GROUP_ITEMS} items paired "
        f"with dense's: {small} of {tested} group changes had fewer and were not used."
    ]


def _significant_changes(analysis: Analysis, dimension: str) -> list[Change]:
    """Every change vs dense of the dimension's metrics with q <= FDR, row by row."""
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


def _sentence(change: Change) -> str:
    """'<metric> rises by x (+n% vs dense, worse) under <config> (<model>); ...'."""
    relative, row, metric, cell = change
    versus = f"{relative:+.0%} vs dense" if relative is not None else "dense is 0"
    if metric.higher_is_worse is not None:
        versus += ", worse" if (cell.delta > 0) == metric.higher_is_worse else ", better"
    return (
        f"{metric.title} {'rises' if cell.delta > 0 else 'falls'} "
        f"by {fmt(abs(cell.delta))} ({versus}) under {row.display} "
        f"({row.model}); 95 % CI of the change {change_interval(cell)}, q = {cell.q_value:.2g}."
    )


def divergent_impacts(analysis: Analysis, threshold: float = 0.02) -> list[str]:
    """Groups whose metric moves in opposite directions as compression grows (the paper's
    "divergent impact"): at a method's highest unstructured rate, one group gains and another
    loses by more than `threshold`, each with at least MIN_GROUP_ITEMS items paired with
    dense's and each significant after the false discovery rate control."""
    out = []
    for task_key, metric, field in analysis.catalogue.heatmaps():
        cells = analysis.group_cells(task_key, metric, field)
        for model in sorted({r.model for r in analysis.rows}):
            for method in sorted({r.method for r in analysis.rows if r.kind == "unstructured"}):
                top = _highest_rate(analysis, model, method)
                if top is None:
                    continue
                mine = {g: c for (rid, g), c in cells.items() if rid == id(top) and _testable(c)}
                up = max(mine.items(), key=lambda kv: kv[1].delta, default=None)
                down = min(mine.items(), key=lambda kv: kv[1].delta, default=None)
                if up and down and up[1].delta > threshold and down[1].delta < -threshold:
                    out.append(
                        f"Divergent impact: {task_key} {metric} by {field} under "
                        f"{top.display} ({model}): {up[0]} +{_group_change(up[1])}, "
                        f"{down[0]} {_group_change(down[1])}."
                    )
    return out


def _testable(cell: Cell) -> bool:
    """A group change a finding may rest on: enough paired items, significant after control."""
    return (cell.n_paired or 0) >= MIN_GROUP_ITEMS and cell.significant


def group_findings_withheld(analysis: Analysis) -> tuple[int, int]:
    """(group changes below MIN_GROUP_ITEMS paired items, group changes tested in all): what
    the report says it left out of its group findings."""
    small = tested = 0
    for task_key, metric, field in analysis.catalogue.heatmaps():
        for cell in analysis.group_cells(task_key, metric, field).values():
            tested += 1
            small += (cell.n_paired or 0) < MIN_GROUP_ITEMS
    return small, tested


def _group_change(cell: Cell) -> str:
    """A group's change vs dense (n paired items, q-value)."""
    return f"{fmt(cell.delta)} (n={cell.n_paired}, q={cell.q_value:.2g})"


def _highest_rate(analysis: Analysis, model: str, method: str) -> Row | None:
    """The model's config of `method` at its highest unstructured target sparsity."""
    rows = [
        r
        for r in analysis.rows
        if r.model == model and r.method == method and r.kind == "unstructured"
    ]
    return max(rows, key=lambda r: r.compression.get("target_sparsity") or 0) if rows else None
