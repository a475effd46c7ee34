"""The names of the files a job and a sweep write, and the rules that place them.

Everything downstream (the report, compsafe-table, tracking, users' scripts) finds a job's
output by these names only.
"""

from __future__ import annotations

from pathlib import Path

RESULTS_FILE = "results.json"  # a job's record
FAILED_FILE = "results.failed.json"  # a failed rerun's record, beside a completed result
ITEMS_DIR = "items"  # per-item outputs of every task: items/<task key>.jsonl
ITEMS_STAGING = "items.partial"  # written there during evaluation, moved to ITEMS_DIR on success
JOBS_FILE = "jobs.json"  # in a sweep folder: every job the sweep asked for, in order


def items_file(folder: str | Path, task_key: str) -> Path:
    """Where a job folder (or its staging folder) keeps one task's items: `<task key>.jsonl`,
    a `/` in the key (a group's subtask) written as `_`."""
    return Path(folder) / f"{task_key.replace('/', '_')}.jsonl"


def job_items(job_folder: str | Path, task_key: str) -> Path:
    """A job's published items of one task."""
    return items_file(Path(job_folder) / ITEMS_DIR, task_key)


def job_folders(root: str | Path) -> list[Path]:
    """Folders under `root` (itself included) holding a job record, in job order (numbered
    folders by number, then names)."""
    root = Path(root)
    found = {p.parent for name in (RESULTS_FILE, FAILED_FILE) for p in root.rglob(name)}

    def order(path: Path) -> list[tuple[int, int, str]]:
        return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.relative_to(root).parts]

    return sorted(found, key=order)
