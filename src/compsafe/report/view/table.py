"""compsafe-table's text: one row per job (config), the catalogue's table columns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from compsafe.report.data.catalogue import Catalogue
from compsafe.report.data.records import Row
from compsafe.results.record import failure_reason


@dataclass(frozen=True)
class Column:
    """A table column: its title, where in a job record its value is, its format."""

    title: str
    where: tuple[str, str]  # (section of the record, key), e.g. ("timings", "total")
    fmt: str


SPARSITY = Column("sparsity", ("compression", "measured_sparsity"), "{:.3f}")
# Zeros over all non-embedding weights: below `sparsity` when layers were not targeted.
OVERALL = Column("overall", ("compression", "overall_sparsity"), "{:.3f}")
AFTER = (
    Column("compress s", ("timings", "compress"), "{:.0f}"),
    Column("seconds", ("timings", "total"), "{:.0f}"),
)


def table_columns(rows: list[Row]) -> list[Column]:
    """Measured sparsity (of the targeted weights, then of the whole model), then every metric
    its task gives a table column, then timings."""
    metrics = Catalogue.from_rows(rows).columns()
    return [
        SPARSITY,
        OVERALL,
        *(Column(m.entry.column, ("metrics", m.key), m.fmt) for m in metrics),
        *AFTER,
    ]


def _get(record: dict[str, Any], where: tuple[str, str]) -> Any:
    """A record's value at (section, key); None where either is absent."""
    return (record.get(where[0]) or {}).get(where[1])


def _cell(value: Any, fmt: str) -> str:
    """'-' for a value not measured (absent or NaN), else the column's format."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def distinct_labels(rows: list[Row]) -> list[str]:
    """Each job's config label; where labels repeat, the calibration seed is added when it tells
    the jobs apart (a seed sweep), else the job's folder (it names the overrides that differ,
    e.g. `attack=dan`)."""
    out = []
    for row in rows:
        twins = [r for r in rows if r.label == row.label]
        seeds = [r.seed for r in twins]
        if len(twins) == 1:
            out.append(row.label)
        elif None not in seeds and len(set(map(str, seeds))) == len(seeds):
            out.append(f"{row.label} seed {row.seed}")
        else:
            out.append(f"{row.label} ({row.folder.name})")
    return out


def format_table(rows: list[Row]) -> str:
    """A Markdown table, then the data each benchmark used and any failed jobs. Columns no
    job has a value for are left out."""
    columns = [
        c for c in table_columns(rows) if any(_get(r.record, c.where) is not None for r in rows)
    ]
    header = ["config", *(c.title for c in columns)]
    lines = []
    for label, row in zip(distinct_labels(rows), rows, strict=True):
        if not row.completed:
            label += " (FAILED)"
        lines.append([label, *(_cell(_get(row.record, c.where), c.fmt) for c in columns)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in lines]
    out += _notes(rows)
    return "\n".join(out)


def _notes(rows: list[Row]) -> list[str]:
    """Under the table: the models, each benchmark's data and options, and why jobs failed."""
    notes, seen = [], set()
    models = {(r.record.get("model") or {}).get("name") for r in rows} - {None}
    if models:
        notes.append(f"model: {', '.join(sorted(models))}")
    for row in rows:
        for key, bench in (row.record.get("benchmarks") or {}).items():
            if key in seen:
                continue
            seen.add(key)
            given = (bench.get("options") or {}).items()
            options = ", ".join(f"{k}={v}" for k, v in given if v is not None)
            notes.append(
                f"{key}: {bench.get('label') or bench.get('task')}; "
                f"{bench.get('samples')} items ({options or 'defaults'})"
            )
    for row in rows:
        if not row.completed:
            notes.append(f"FAILED {row.folder}: {failure_reason(row.record)}")
    return notes
