"""compsafe's Hydra sweeper logic: grids that are unions of products, sweeps that survive failures.
(The plugin class is in hydra_plugins.compsafe_sweeper: Hydra loads plugins only from there.)

Hydra's basic sweeper runs every job, then re-raises the first failure as a bare traceback. Ours
runs every job, prints the results table and which jobs failed (and why), and then ends the
command with exit status 1 when any job failed.

`hydra.sweeper.grid` is a list of sub-sweeps, each a mapping of overrides whose comma-separated
values multiply; the jobs are their union (the paper's grid is not one product: dense, the
pruning rates per method, N:M patterns, quantizers). `hydra.sweeper.params` and command-line
sweeps multiply every sub-sweep; a key given on the command line replaces the grid's values.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobStatus

log = logging.getLogger(__name__)


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def name_jobs(jobs: list[list[str]]) -> list[list[str]]:
    """Each job with `hydra.sweep.subdir` set to the overrides that vary across the sweep,
    e.g. `compression=wanda,sparsity=0.5` (the rest is the same for every job)."""
    from compsafe.naming import job_dirname

    values: dict[str, set[str]] = {}
    for job in jobs:
        for override in job:
            values.setdefault(_key(override), set()).add(override)
    varying = {key for key, seen in values.items() if len(seen) > 1}
    named = []
    for job in jobs:
        parts = [o for o in job if _key(o) in varying] or job
        named.append([*job, f"hydra.sweep.subdir='{job_dirname(parts)}'"])
    return named


def write_job_list(sweep_dir: Path, jobs: list[list[str]]) -> None:
    """`jobs.json`: the folder name of every job of the sweep, in order."""
    import json

    from compsafe.results.files import JOBS_FILE

    prefix = "hydra.sweep.subdir="
    names = [o[len(prefix) :].strip("'") for job in jobs for o in job if o.startswith(prefix)]
    (sweep_dir / JOBS_FILE).write_text(json.dumps(names, indent=1), encoding="utf-8")


def expand_jobs(
    params: dict[str, Any] | None, grid: list[dict[str, Any]] | None, arguments: list[str]
) -> list[list[str]]:
    """Every job's override list: the union over sub-sweeps of params x sub-sweep x arguments."""
    parser = OverridesParser.create()
    base = [f"{k}={v}" for k, v in (params or {}).items()]
    jobs: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for entry in grid or [{}]:
        merged: OrderedDict[str, str] = OrderedDict()
        for override in base + [f"{k}={v}" for k, v in entry.items()] + list(arguments):
            merged.pop(_key(override), None)
            merged[_key(override)] = override
        for job in BasicSweeper.split_arguments(
            parser.parse_overrides(list(merged.values())), None
        )[0]:
            if tuple(job) not in seen:
                seen.add(tuple(job))
                jobs.append(list(job))
    return jobs


def launch(launcher, batch: list[list[str]], index: int) -> tuple[list, str | None]:
    """A batch's job returns, and None; or ([], why) when a job ended without any result
    (cancelled with `scancel`, killed by SLURM before it wrote one): submitit then raises
    `UncompletedJobError` for the whole batch, and the other jobs' results stay on disk."""
    try:
        return list(launcher.launch(batch, initial_job_idx=index)), None
    except Exception as err:
        if type(err).__name__ != "UncompletedJobError":
            raise
        why = " ".join(str(err).split())
        log.error("A job ended without a result (%s); the other jobs keep theirs", why)
        return [], why


def job_names(sweep_dir: Path) -> list[str]:
    """The job folders the sweep asked for (jobs.json), in order."""
    import json

    from compsafe.results.files import JOBS_FILE

    listing = sweep_dir / JOBS_FILE
    return json.loads(listing.read_text(encoding="utf-8")) if listing.is_file() else []


def failures_on_disk(sweep_dir: Path, why: str) -> list[tuple[str, str]]:
    """(folder, error) of every job of the sweep (jobs.json) that failed or left no result:
    what a batch that lost its job returns still says. A failed record without an error is
    one an interrupted run left (SLURM requeued it, then killed the rerun): its error is the
    batch's."""
    from compsafe.results.record import COMPLETED, read_results

    failures = []
    for name in job_names(sweep_dir):
        record = read_results(sweep_dir / name) or {}
        if record.get("status") != COMPLETED:
            error = record.get("error")
            failures.append((str(sweep_dir / name), str(error) if error else f"no result: {why}"))
    return failures


def failures(sweep_dir: Path, results, lost: str | None = None) -> list[tuple[str, str]]:
    """(job folder, error) of every job of this sweep that failed: from the launcher's job
    returns, or from the job folders when a batch lost its job returns (`lost` says why)."""
    if lost is not None:
        return failures_on_disk(sweep_dir, lost)
    out = []
    for result in results:
        if result.status == JobStatus.FAILED:
            runtime = getattr(result.hydra_cfg, "runtime", None) or getattr(
                getattr(result.hydra_cfg, "hydra", None), "runtime", None
            )
            folder = getattr(runtime, "output_dir", None) or "?"
            error = result._return_value  # the exception, without re-raising it
            out.append((str(folder), f"{type(error).__name__}: {error}"))
    return out


def report(sweep_dir: Path, results, lost: str | None = None) -> list[tuple[str, str]]:
    """The results table, then each failed job, its folder and its error; returns the
    failures."""
    from compsafe.report.cli import print_results

    failed = failures(sweep_dir, results, lost)
    print_results(sweep_dir)
    if failed:
        total = len(results) if lost is None else len(job_names(sweep_dir))
        print(f"{len(failed)} of {total} jobs failed:", flush=True)
        for folder, error in failed:
            print(f"  {folder}: {error}", flush=True)
        print("Rerun the same command to run them again; completed jobs are skipped.", flush=True)
    return failed
