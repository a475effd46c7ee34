"""Records as jobs write them, for report tests that build sweeps by hand."""

from __future__ import annotations

from typing import Any

from compsafe.results.record import SCHEMA_VERSION

SCHEMA = {"schema_version": SCHEMA_VERSION}


def task_record(task: str, samples: int | None = None, repeats: int = 1, **extra: Any) -> dict:
    """A record's `benchmarks.<key>` for one of our tasks: its catalogue read from the task's
    YAML (as the job records it after running the task), the item count and anything else."""
    from compsafe.evaluation.catalogue import yaml_entry

    return {**yaml_entry(task, repeats).to_record(), "samples": samples, **extra}


def builtin_record(task: str, metrics: dict[str, bool | None], samples: int | None = None):
    """A record's `benchmarks.<key>` for a built-in lm-eval task (MMLU...): metric -> direction."""
    from compsafe.evaluation.catalogue import builtin_entry

    entry = builtin_entry(task, list(metrics), metrics)
    return {**entry.to_record(), "samples": samples}


def record_aggregations(task: str) -> dict:
    """{metric: function} as a job's record names them for one of our tasks (the report
    recomputes each metric with these)."""
    from compsafe.evaluation.catalogue import yaml_entry
    from compsafe.results.aggregations import aggregation

    return {name: aggregation(m.aggregation) for name, m in yaml_entry(task).metrics.items()}
