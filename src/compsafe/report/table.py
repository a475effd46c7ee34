"""`compsafe-table FOLDER ...`: one row per job (config), the headline metrics as columns."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from compsafe.report.catalogue import TABLE_COLUMNS, Column
from compsafe.results import FAILED_FILE, RESULTS_FILE, read_results


def job_folders(root: Path) -> list[Path]:
    """Folders under `root` (itself included) holding a job record, in job order."""
    found = {p.parent for p in root.rglob(RESULTS_FILE)} | {
        p.parent for p in root.rglob(FAILED_FILE)
    }

    def order(path: Path) -> list[tuple[int, int, str]]:
        rel = path.relative_to(root).parts
        return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in rel]

    return sorted(found, key=order)


def config_order(item: tuple[Path, dict[str, Any]]) -> tuple:
    """Dense first, then by method, pattern and rate; model and folder break ties."""
    folder, record = item
    compression = record.get("compression") or {}
    method = compression.get("method") or ""
    return (
        (record.get("model") or {}).get("name") or "",
        method != "none",
        compression.get("quantize") not in (None, method),  # pruned, then quantized: after
        method,
        compression.get("pattern") or "",
        compression.get("target_sparsity") or 0.0,
        str(folder),
    )


def collect(roots: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every job record (completed or failed) under the roots, in config order."""
    records = []
    for root in roots:
        for folder in job_folders(root):
            record = read_results(folder)
            if record is None:
                record = json.loads((folder / FAILED_FILE).read_text(encoding="utf-8"))
            records.append((folder, record))
    return sorted(records, key=config_order)


def _get(record: dict[str, Any], where: tuple[str, str]) -> Any:
    """A record's value at (section, key); None where either is absent."""
    return (record.get(where[0]) or {}).get(where[1])


def _columns(records: list[tuple[Path, dict[str, Any]]]) -> list[Column]:
    """The catalogue's table columns that some record has a value for."""
    return [c for c in TABLE_COLUMNS if any(_get(r, c.where) is not None for _, r in records)]


def _cell(value: Any, fmt: str) -> str:
    """'-' for a value not measured (absent or NaN), else the column's format."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def _label(record: dict[str, Any]) -> str:
    compression = record.get("compression") or {}
    return compression.get("label") or compression.get("method", "?")


def _seed(record: dict[str, Any]) -> Any:
    """The calibration seed the job was run with (its config's), None when it has none."""
    calibration = (record.get("config") or {}).get("calibration")
    return calibration.get("seed") if isinstance(calibration, dict) else None


def _distinct_labels(records: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Each job's config label; where labels repeat, the calibration seed is added when it tells
    the jobs apart (a seed sweep), else the job's folder (it names the overrides that differ,
    e.g. `attack=dan`)."""
    labels = [_label(record) for _, record in records]
    out = []
    for label, (folder, record) in zip(labels, records, strict=True):
        twins = [r for lab, (_, r) in zip(labels, records, strict=True) if lab == label]
        seeds = [_seed(r) for r in twins]
        if len(twins) == 1:
            out.append(label)
        elif None not in seeds and len(set(map(str, seeds))) == len(seeds):
            out.append(f"{label} seed {_seed(record)}")
        else:
            out.append(f"{label} ({folder.name})")
    return out


def format_table(records: list[tuple[Path, dict[str, Any]]]) -> str:
    """A Markdown table, then the data each benchmark used and any failed jobs.

    Columns come from the catalogue; those absent from every record are left out."""
    columns = _columns(records)
    header = ["config", *(c.title for c in columns)]
    rows = []
    for label, (_, record) in zip(_distinct_labels(records), records, strict=True):
        if record.get("status") != "completed":
            label += " (FAILED)"
        rows.append([label, *(_cell(_get(record, c.where), c.fmt) for c in columns)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    out += _notes(records)
    return "\n".join(out)


def _notes(records: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Under the table: the models, each benchmark's data and options, and why jobs failed."""
    notes, seen = [], set()
    models = {(r.get("model") or {}).get("name") for _, r in records} - {None}
    if models:
        notes.append(f"model: {', '.join(sorted(models))}")
    for _, record in records:
        for key, bench in (record.get("benchmarks") or {}).items():
            if key in seen:
                continue
            seen.add(key)
            given = (bench.get("options") or {}).items()
            options = ", ".join(f"{k}={v}" for k, v in given if v is not None)
            notes.append(
                f"{key}: {bench.get('label') or bench.get('task')}; "
                f"{bench.get('samples')} items ({options or 'defaults'})"
            )
    for folder, record in records:
        if record.get("status") != "completed":
            notes.append(f"FAILED {folder}: {record.get('error')}")
    return notes


def print_results(folder: Path) -> None:
    """The table of every record under `folder`, printed at the end of a run or sweep."""
    records = collect([folder])
    if records:
        print(f"\nResults in {folder}\n{format_table(records)}\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compsafe-table", description=__doc__)
    parser.add_argument("folders", nargs="+", type=Path, help="sweep or job folders")
    args = parser.parse_args(argv)
    records = collect(args.folders)
    if not records:
        print(f"no {RESULTS_FILE} under {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 1
    try:
        print(format_table(records), flush=True)
    except BrokenPipeError:  # `compsafe-table ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
