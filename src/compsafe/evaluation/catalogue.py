"""The metric catalogue: declared in our task YAMLs, written by every job into its record.

Per metric, the task's `metric_list` entry gives its aggregation (as lm-eval reads it),
`higher_is_better` (true, false, or null for no agreed direction: the one direction), a short
`title`, and `needs_samples` for metrics that mean something only with k > 1 continuations
per prompt. Per task, `metadata.catalogue` gives its `title`, its report `dimension`, and under
`metrics` the metrics the report shows, in order, each with optional `title` (the whole title),
`headline` (rank among its dimension's overview candidates), `column` and `format`
(compsafe-table; `report: false` for a column the report's tables leave out), `perplexity`
(the language-model perplexity safety is read against) and `higher_is_better` (where a task
reads a metric of a shared base YAML otherwise, e.g. XSTest's refusals of safe and unsafe
prompts pooled);
`heatmaps` maps a metric to the document field its group heatmap is drawn by, and a
multiple-choice task's `answers` names answers whose gains and losses the report counts
(name -> the document field holding the answer's index, or the index itself). The metrics the
harness computes after lm-eval (continuation and prompt perplexity) are declared in
`continuation.ITEM_METRICS`. Built-in lm-eval tasks get an entry from lm-eval's own metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compsafe.evaluation.continuation import ITEM_METRICS
from compsafe.evaluation.divergence import METRICS as DIVERGENCE
from compsafe.results.aggregations import AGGREGATIONS, name_of
from compsafe.results.catalogue import (
    DEFAULT_FORMAT,
    DIMENSIONS,
    MetricEntry,
    TaskEntry,
    bounds_of,
)

DOWNSTREAM = "Language modelling and downstream"


def aggregation_name(aggregation: Any) -> str | None:
    """The record name of a metric's aggregation: a name lm-eval and `results.aggregations`
    share, or one of our functions; None for any other (no interval)."""
    if isinstance(aggregation, str):
        return aggregation if aggregation in AGGREGATIONS else None
    named = name_of(aggregation)
    if named is not None:
        return named
    from lm_eval.api.registry import AGGREGATION_REGISTRY

    lm_eval_name = next((n for n, f in AGGREGATION_REGISTRY.items() if f is aggregation), None)
    return lm_eval_name if lm_eval_name in AGGREGATIONS else None


def _declared(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{metric: its declaration}: the metric_list entries, then the item metrics the task asks
    the harness for (metadata flags `continuation_perplexity`, `prompt_perplexity`,
    `divergence`)."""
    metadata = config.get("metadata") or {}
    declared = {entry["metric"]: dict(entry) for entry in config.get("metric_list") or []}
    for flag, metrics in (
        ("continuation_perplexity", ("continuation_perplexity", "continuation_perplexity_self")),
        ("prompt_perplexity", ("prompt_perplexity",)),
    ):
        if metadata.get(flag):
            declared.update({m: dict(ITEM_METRICS[m]) for m in metrics})
    if metadata.get("divergence"):
        declared.update({m: dict(spec) for m, spec in DIVERGENCE.items()})
    return declared


def task_entry(config: Mapping[str, Any]) -> TaskEntry:
    """A task's catalogue from its config (lm-eval's: `metric_list`, `metadata`, `repeats`)."""
    metadata = config.get("metadata") or {}
    catalogue = metadata.get("catalogue") or {}
    title = catalogue.get("title") or config["task"]
    shown = catalogue.get("metrics") or {}
    heatmaps = catalogue.get("heatmaps") or {}
    sampled = int(config.get("repeats") or 1) > 1
    metrics = {}
    for name, declared in _declared(config).items():
        display = shown.get(name)
        meaningful = sampled or not declared.get("needs_samples")
        metrics[name] = MetricEntry(
            title=(display or {}).get("title") or f"{title} {declared.get('title') or name}",
            higher_is_better=(display or declared).get(
                "higher_is_better", declared.get("higher_is_better")
            ),
            aggregation=aggregation_name(declared.get("aggregation", "mean")),
            shown=display is not None and display.get("report", True) and meaningful,
            headline=(display or {}).get("headline"),
            column=(display or {}).get("column"),
            format=(display or {}).get("format") or DEFAULT_FORMAT,
            perplexity=bool((display or {}).get("perplexity")),
            heatmap=heatmaps.get(name),
            bounds=bounds_of(declared.get("bounds")),
        )
    order = [*shown, *(m for m in metrics if m not in shown)]
    return TaskEntry(
        task=config["task"],
        title=title,
        dimension=catalogue.get("dimension") or DOWNSTREAM,
        metrics={m: metrics[m] for m in order if m in metrics},
        group_by=tuple(metadata.get("group_by") or ()),
        resample_by=metadata.get("resample_by"),
        answers=dict(catalogue.get("answers") or {}),
    )


def builtin_entry(task: str, metrics: list[str], directions: dict[str, Any]) -> TaskEntry:
    """A built-in lm-eval task (MMLU, TruthfulQA...): its metrics with lm-eval's directions,
    shown in the language-modelling and downstream dimension, its first metric a headline;
    its items are not kept, so it gets no aggregation (no interval)."""
    entries = {
        name: MetricEntry(
            title=f"{task} {name}",
            higher_is_better=directions.get(name),
            aggregation=None,
            shown=True,
            headline=1 if position == 0 else None,  # its dimension's column in the overview
        )
        for position, name in enumerate(metrics)
    }
    return TaskEntry(task=task, title=task, dimension=DOWNSTREAM, metrics=entries, downstream=True)


def check_entry(entry: TaskEntry) -> None:
    """A task's catalogue names a known dimension and no metric it does not produce."""
    if entry.dimension not in DIMENSIONS:
        raise ValueError(f"{entry.task}: dimension {entry.dimension!r} not in {DIMENSIONS}")


def our_task_configs() -> dict[str, dict[str, Any]]:
    """{task name: its YAML config} for every task of our folder, read by lm-eval's own loader
    (includes merged, `!function` resolved): the catalogue without running anything, for
    documentation and tests."""
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml  # lm-eval's loader (pinned version)

    from compsafe.evaluation.specs import TASKS_DIR

    index = TaskManager(include_path=str(TASKS_DIR), include_defaults=False).task_index
    return {name: load_yaml(entry.yaml_path) for name, entry in sorted(index.items())}


def yaml_entry(task: str, repeats: int = 1) -> TaskEntry:
    """A task's catalogue as a job with `repeats` continuations per prompt records it."""
    return task_entry({**_configs()[task], "repeats": repeats})


_CACHE: dict[str, dict[str, Any]] = {}


def _configs() -> dict[str, dict[str, Any]]:
    if not _CACHE:
        _CACHE.update(our_task_configs())
    return _CACHE
