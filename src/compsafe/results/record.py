"""results.json: one record per job, written atomically, read with its schema version checked.

Keys, at least: schema_version, status ("completed" | "failed"), model, compression,
benchmarks (per task key: the task, its options, item count, and its metric catalogue, see
`results.catalogue`), metrics ("<task key>/<metric>[/<field>=<value>]": number), timings,
environment, config (resolved), error (null or text). A failed run never replaces a completed
result: its record goes to results.failed.json beside it instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from compsafe.results.files import FAILED_FILE, RESULTS_FILE

# 2: `benchmarks.<key>.metrics` carries each metric's catalogue entry (aggregation, direction,
# title...), items list every per-item metric (prompt and continuation perplexities too).
SCHEMA_VERSION = 2
COMPLETED, FAILED = "completed", "failed"


# A failed record without an error: the run was stopped from outside before it could say why
# (submitit requeues a timed-out SLURM job by exiting it; a kill or Ctrl-C leaves the same).
STOPPED = "stopped before it finished (no error recorded: interrupted, requeued or killed)"


def failure_reason(record: dict[str, Any]) -> str:
    """Why a job that did not complete failed, in words, also when its record holds no error."""
    return str(record.get("error") or STOPPED)


class OutdatedRecord(ValueError):
    """A record written under another schema than this compsafe reads."""

    def __init__(self, path: Path, version: Any) -> None:
        self.path, self.version = path, version
        super().__init__(
            f"{path}: written by an older compsafe (results schema {version}; this one reads "
            f"schema {SCHEMA_VERSION}, whose records say how to recompute each metric); rerun "
            "the sweep's command: jobs with older records are computed again"
        )


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file in the same folder, fsync, rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=False, allow_nan=True, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_results(folder: str | Path) -> dict[str, Any] | None:
    """The job's results.json as written (any schema), or None when absent or unreadable."""
    return _read(Path(folder) / RESULTS_FILE)


def is_current(record: dict[str, Any]) -> bool:
    return record.get("schema_version") == SCHEMA_VERSION


def load_record(folder: str | Path) -> dict[str, Any] | None:
    """A job's record for reading its numbers: results.json, else results.failed.json; None
    when neither is readable. Raises OutdatedRecord for a record of another schema."""
    for name in (RESULTS_FILE, FAILED_FILE):
        path = Path(folder) / name
        record = _read(path)
        if record is not None:
            if not is_current(record):
                raise OutdatedRecord(path, record.get("schema_version"))
            return record
    return None


def write_results(folder: str | Path, record: dict[str, Any]) -> Path:
    """Write a job's record; a failure next to a completed result goes to results.failed.json."""
    folder = Path(folder)
    target = folder / RESULTS_FILE
    if record["status"] != COMPLETED:
        existing = read_results(folder)
        if existing and existing.get("status") == COMPLETED:
            target = folder / FAILED_FILE
    atomic_write_json(target, record)
    return target


def new_record(config: dict[str, Any]) -> dict[str, Any]:
    """A record with every contract key present, filled in as the job goes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "status": FAILED,
        "model": {},
        "compression": {},
        "benchmarks": {},
        "metrics": {},
        "timings": {},
        "environment": {},
        "config": config,
        "error": None,
    }
