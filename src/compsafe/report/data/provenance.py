"""Warnings when a report mixes jobs from different machines or library versions.

Float results differ slightly between machines (another CPU's vector kernels, thread count or
BLAS sums in another order, and the embedded model's tied weights then rank differently), and
between library versions. A report that compares such jobs compares machines as well as
configs: it says so, naming what differs and how many jobs each side holds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from compsafe.report.data.records import Row

# What of the machine fingerprint changes float results (cpu_flags is implied by cpu).
MACHINE_KEYS = ("cpu", "cpu_capability", "threads", "blas", "gpu", "cuda")


def _machine(record: dict[str, Any]) -> dict[str, Any]:
    return (record.get("environment") or {}).get("fingerprint") or {}


def _packages(record: dict[str, Any]) -> dict[str, Any]:
    return (record.get("environment") or {}).get("packages") or {}


def _differs(name: str, values: list[Any]) -> str | None:
    """'cpu: A (3 jobs), B (1 job)' when the jobs recorded more than one value."""
    counts = Counter(str(v) for v in values if v is not None)
    if len(counts) < 2:
        return None
    parts = [f"{v} ({n} job{'s' if n > 1 else ''})" for v, n in counts.most_common()]
    return f"{name}: {', '.join(parts)}"


def mixed_environments(jobs: list[Row]) -> list[str]:
    """One warning per kind of difference (machine, library versions); none when all agree
    or the jobs recorded nothing to compare."""
    warnings = []
    machine = [
        text
        for key in MACHINE_KEYS
        if (text := _differs(key, [_machine(j.record).get(key) for j in jobs]))
    ]
    if machine:
        warnings.append(
            "These jobs ran on different machines (" + "; ".join(machine) + "): float results "
            "differ slightly between machines, so a small change between configs that ran on "
            "different machines may be the machine (see compsafe's docs/reproducibility.md)."
        )
    names = sorted({name for j in jobs for name in _packages(j.record)})
    versions = [
        text for n in names if (text := _differs(n, [_packages(j.record).get(n) for j in jobs]))
    ]
    if versions:
        warnings.append(
            "These jobs ran with different library versions (" + "; ".join(versions) + "): "
            "a change between them may come from the libraries."
        )
    return warnings
