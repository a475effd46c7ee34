"""What the report reads from our task YAMLs: each metric's aggregation and the resampling unit.

The intervals recompute a metric from items with the task's own aggregation, so they are read
from the same lm-eval YAML the job ran (`!function` tags resolved against our task modules).
`metadata.resample_by` names a document field whose items belong together (UnQover's two subject
orders of one question): the bootstrap then draws whole clusters sharing that field's value.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import yaml

from compsafe.evaluation.harness import TASKS_DIR

Aggregation = Callable[[Sequence[Any]], float]


class _FunctionTag:
    """A `!function module.name` YAML tag, kept as text."""

    def __init__(self, target: str) -> None:
        self.target = target


def _loader() -> type[yaml.SafeLoader]:
    """A safe YAML loader that reads lm-eval's `!function` tags instead of refusing them."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: _FunctionTag(node.value))
    return Loader


@cache
def task_configs() -> dict[str, dict[str, Any]]:
    """{task name: its YAML config} for our tasks (an `include` merged under the task's own)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(TASKS_DIR.glob("*.yaml")):
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
        if "include" in config:
            base = yaml.load(
                (TASKS_DIR / config["include"]).read_text(encoding="utf-8"), Loader=_loader()
            )
            config = {**base, **config}
        out[config["task"]] = config
    return out


@cache
def task_aggregations() -> dict[str, dict[str, Aggregation]]:
    """{task name: {metric: aggregation}} from our task YAMLs (includes followed)."""
    from lm_eval.api.registry import get_aggregation

    out: dict[str, dict[str, Aggregation]] = {}
    for task, config in task_configs().items():
        metrics = {}
        for entry in config.get("metric_list", []):
            aggregation = entry.get("aggregation", "mean")
            if isinstance(aggregation, _FunctionTag):
                module, _, name = aggregation.target.rpartition(".")
                tasks = importlib.import_module(f"compsafe.evaluation.tasks.{module}")
                metrics[entry["metric"]] = getattr(tasks, name)
            else:
                metrics[entry["metric"]] = get_aggregation(aggregation)
        out[task] = metrics
    return out


def task_resample_by(task: str | None) -> str | None:
    """The document field whose items the task's bootstrap draws together (None: single items)."""
    config = task_configs().get(task or "") or {}
    return (config.get("metadata") or {}).get("resample_by")


CONTINUATION_PPL = "continuation_perplexity"


def continuation_perplexity(values: Sequence[tuple[float, int]]) -> float:
    """Token-weighted over the items' (NLL sum, token count), as the job computes it."""
    from compsafe.evaluation.continuation import perplexity

    return perplexity(list(values))


# Metrics the harness computes from items after lm-eval (not in any task YAML).
ITEM_AGGREGATIONS: dict[str, Aggregation] = {CONTINUATION_PPL: continuation_perplexity}
