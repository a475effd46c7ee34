"""Jobs that differ only by their calibration seed are replicates of one config.

A calibrated method (Wanda, SparseGPT, GBLM, GPTQ, AWQ) gives other weights with another
calibration seed, so one job is one draw of the config: the report groups such jobs (same sweep,
model, compression, benchmark options...: their resolved configs agree once the seed and the
paths are left out) and shows their mean, their spread and an interval over seeds and items. A
method without calibration (dense, magnitude, RTN, int8; `compression.calibration` is null)
gives the same model whatever the seed: its replicates are one job, shown once, never as a
spread.
"""

from __future__ import annotations

import json
import math
from typing import Any

from compsafe.report.data.records import Row

# Config entries that do not change a job's numbers (beside the calibration seed itself).
IGNORED = (("paths",), ("force",), ("logger",), ("calibration", "seed"))


def identity(row: Row) -> str | None:
    """What makes two jobs the same config up to the seed: sweep, model and resolved config
    without IGNORED entries. None for records without a resolved config (never grouped)."""
    config = row.record.get("config")
    if not isinstance(config, dict):
        return None
    kept = json.loads(json.dumps(config, default=str))
    for path in IGNORED:
        _drop(kept, path)
    return json.dumps([str(row.sweep), row.model, kept], sort_keys=True)


def _drop(config: dict[str, Any], path: tuple[str, ...]) -> None:
    """Removes config[path[0]][path[1]]... where present."""
    for name in path[:-1]:
        config = config.get(name)
        if not isinstance(config, dict):
            return
    config.pop(path[-1], None)


def _uses_calibration(jobs: list[Row]) -> bool:
    """Whether the method calibrates: `compression.calibration` as recorded; for records from
    before it was, whether the jobs' numbers differ."""
    compression = jobs[0].compression
    if "calibration" in compression:
        return compression["calibration"] is not None
    return _largest_difference(jobs) is not None


def _largest_difference(jobs: list[Row]) -> tuple[str, float] | None:
    """(metric, largest absolute difference between jobs) where any metric differs."""
    worst: tuple[str, float] | None = None
    metrics = [j.record.get("metrics") or {} for j in jobs]
    for key in sorted(set().union(*metrics)):
        values = [m.get(key) for m in metrics]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        spread = max(numbers) - min(numbers) if len(numbers) == len(values) else math.inf
        if spread > 0 and (worst is None or spread > worst[1]):
            worst = (key, spread)
    return worst


def _seed_order(row: Row) -> tuple:
    seed = row.seed
    return (isinstance(seed, str), seed if isinstance(seed, (int, float)) else 0, str(seed))


def group_replicates(jobs: list[Row]) -> tuple[list[Row], list[str]]:
    """One row per config, in job order: its first job by seed, holding the config's jobs as
    `replicates` (collapsed when the method uses no calibration); notes on replicates that
    should agree and do not."""
    groups: dict[str | int, list[Row]] = {}
    for job in jobs:
        groups.setdefault(identity(job) or id(job), []).append(job)
    rows, notes = [], []
    for members in groups.values():
        members = sorted(members, key=_seed_order)
        head = members[0]
        if len(members) > 1:
            head.replicates = members
            head.collapsed = not _uses_calibration(members)
            differs = _largest_difference(members) if head.collapsed else None
            if differs:
                notes.append(
                    f"{head.label} ({head.model}): {len(members)} jobs without calibration "
                    f"differ (largest: {differs[0]} by {differs[1]:.3g}); the first is shown."
                )
        rows.append(head)
    order = {id(job): i for i, job in enumerate(jobs)}
    return sorted(rows, key=lambda r: order[id(r)]), notes
