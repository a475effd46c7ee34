"""The report's commands: `compsafe-table FOLDER ...` (one row per job, the headline metrics as
columns) and `compsafe-report SWEEP_DIR [SWEEP_DIR ...]` (tables, figures, intervals and
findings: report.md, report.html, results.csv, results_long.csv, figures/ in
`<first sweep>/report/` or `--out`; with `--wandb`, a W&B summary run in the sweep's group)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from compsafe.report.data.records import collect
from compsafe.results.files import RESULTS_FILE
from compsafe.results.record import OutdatedRecord


def _error(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def print_results(folder: Path) -> None:
    """The table of every record under `folder`, printed at the end of a run or sweep."""
    from compsafe.report.view.table import format_table

    try:
        rows = collect([folder])
    except OutdatedRecord as err:
        print(f"(no results table: {err})", flush=True)
        return
    if rows:
        print(f"\nResults in {folder}\n{format_table(rows)}\n", flush=True)


def table_main(argv: list[str] | None = None) -> int:
    """compsafe-table: the results table of sweep or job folders."""
    from compsafe.report.view.table import format_table

    parser = argparse.ArgumentParser(prog="compsafe-table", description=table_main.__doc__)
    parser.add_argument("folders", nargs="+", type=Path, help="sweep or job folders")
    args = parser.parse_args(argv)
    try:
        rows = collect(args.folders)
    except OutdatedRecord as err:
        return _error("compsafe-table", str(err))
    if not rows:
        print(f"no {RESULTS_FILE} under {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 1
    try:
        print(format_table(rows), flush=True)
    except BrokenPipeError:  # `compsafe-table ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def report_main(argv: list[str] | None = None) -> int:
    """compsafe-report: tables, figures, intervals and findings of one or more sweeps."""
    parser = argparse.ArgumentParser(prog="compsafe-report", description=report_main.__doc__)
    parser.add_argument("sweeps", nargs="+", type=Path, help="sweep folders (or job folders)")
    parser.add_argument("--out", type=Path, help="report folder (default: <first sweep>/report)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument(
        "--bootstrap-seed", type=int, default=0, help="seed of the bootstrap's draws"
    )
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
            return _error("compsafe-report", f"{sweep}: no such folder")
    from compsafe.report.view.build import build_report

    try:
        folder = build_report(
            args.sweeps, args.out, args.bootstrap, args.bootstrap_seed, args.wandb, args.project
        )
    except OutdatedRecord as err:
        return _error("compsafe-report", str(err))
    print(f"Report written to {folder / 'report.md'} and {folder / 'report.html'}")
    return 0


def table() -> None:
    sys.exit(table_main())


def report() -> None:
    sys.exit(report_main())
