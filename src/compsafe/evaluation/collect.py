"""What a job keeps of lm-eval's output: flat metrics, item counts, items, and per task its
catalogue and run-time details (`results.catalogue`, `results.items`).

After lm-eval has scored every item, each of our tasks gets the metrics compsafe computes from
its items (continuation and prompt perplexity, when its YAML asks for them), its group
breakdowns, its items on disk and its catalogue entry; built-in lm-eval tasks get a catalogue
entry from lm-eval's own output (their items are not kept).
"""

from __future__ import annotations

import logging
from typing import Any

from compsafe.evaluation.catalogue import builtin_entry, task_entry
from compsafe.evaluation.specs import task_specs
from compsafe.results.items import write_items

log = logging.getLogger(__name__)

NOT_METRICS = frozenset({"alias", "sample_len", "sample_count"})


def metric_name(raw: str) -> str:
    """lm-eval's 'acc,none' -> 'acc'; 'exact_match,strict-match' -> 'exact_match_strict-match'."""
    metric, _, filt = raw.partition(",")
    return metric if filt in ("", "none") else f"{metric}_{filt}"


def is_metric(raw: str, value: Any) -> bool:
    """A number lm-eval reports as a metric: not bookkeeping, and not lm-eval's own standard
    error (compsafe's report owns the uncertainty of every metric)."""
    if raw in NOT_METRICS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not raw.partition(",")[0].endswith("_stderr")


def task_keys(results: dict[str, Any], cfg) -> dict[str, str]:
    """lm-eval task name -> our key (a group's subtasks as `<group key>/<subtask>`)."""
    key_of = {spec.task: key for key, spec in task_specs(cfg).items()}
    for group, subtasks in (results.get("group_subtasks") or {}).items():
        for sub in subtasks:
            if group in key_of and sub not in key_of:
                key_of[sub] = f"{key_of[group]}/{sub}"
    return key_of


def flatten_results(results: dict[str, Any], cfg) -> tuple[dict[str, float], dict[str, int]]:
    """`{"<task key>/<metric>": value}` from lm-eval's nested results, plus item counts."""
    key_of = task_keys(results, cfg)
    metrics: dict[str, float] = {}
    for task, values in results["results"].items():
        prefix = key_of.get(task, task)
        for raw, value in values.items():
            if is_metric(raw, value):
                metrics[f"{prefix}/{metric_name(raw)}"] = float(value)
    samples = {
        key_of.get(task, task): int(counts.get("effective", 0))
        for task, counts in (results.get("n-samples") or {}).items()
    }
    return metrics, samples


def task_config(task) -> dict[str, Any]:
    """What the catalogue reads of an lm-eval task object's config."""
    config = task.config
    return {
        "task": config.task,
        "metric_list": config.metric_list,
        "metadata": config.metadata,
        "repeats": config.repeats,
    }


def details(examples: list[dict], fields: list[str]) -> dict[str, str]:
    """What a task asks to record (`metadata.details`): the distinct values of those document
    fields (whether its prompts went through the model's chat template), and those its
    documents' scorer states once for the task (a judge's measured accuracy)."""
    out = {}
    for name in fields:
        values = sorted({str(e["doc"][name]) for e in examples if name in e["doc"]})
        if values:
            out[name] = ", ".join(values)
    if any(name not in out for name in fields):
        for name, value in _scorer_details(examples).items():
            if name in fields and name not in out:
                out[name] = value
    return out


def _scorer_details(examples: list[dict]) -> dict[str, str]:
    """The `details` of the scorer the task's documents name (generation tasks carry it); {}
    for a task without one, or (with a warning) one that cannot say: the evaluation is done,
    and a detail of the record is not worth losing it."""
    from compsafe.errors import ConfigError
    from compsafe.evaluation.scorers import scorer_details
    from compsafe.evaluation.tasks.generation_metrics import doc_scorer

    doc = next((e["doc"] for e in examples if e["doc"].get("scorer")), None)
    if doc is None:
        return {}
    try:
        spec = doc_scorer(doc)
        return scorer_details(spec["name"], spec.get("options"))
    except (ConfigError, ValueError, KeyError, TypeError) as error:
        log.warning("scorer details not recorded: %s", error)
        return {}


def task_records(
    results: dict[str, Any], cfg, objects: dict[str, Any], metrics: dict[str, float]
) -> dict[str, dict]:
    """Per task key: its catalogue entry (the metrics it produced), details and display hints
    for results.json."""
    out = {}
    for key, spec in task_specs(cfg).items():
        task = objects.get(spec.task)
        if task is None:
            values = {
                metric_name(raw): value
                for raw, value in (results["results"].get(spec.task) or {}).items()
                if is_metric(raw, value)
            }
            directions = (results.get("higher_is_better") or {}).get(spec.task) or {}
            out[key] = builtin_entry(spec.task, list(values), directions).to_record()
            continue
        metadata = task.config.metadata or {}
        examples = (results.get("samples") or {}).get(spec.task) or []
        produced = {k.split("/")[1] for k in metrics if k.startswith(f"{key}/")}
        out[key] = {
            **task_entry(task_config(task)).keeping(produced).to_record(),
            "details": details(examples, list(metadata.get("details") or [])),
            "prompt_field": metadata.get("prompt_field") or "prompt",
        }
    return out


def item_metrics(model, tokenizer, results, cfg, objects, items_dir, batch_size, reference=None):
    """For each of our tasks: continuation and prompt perplexity and the divergence from dense
    where its YAML asks for them, group breakdowns; then its items to `items_dir` (when
    given)."""
    from compsafe.evaluation.continuation import continuation_metrics, prompt_metrics
    from compsafe.evaluation.divergence import divergence_metrics
    from compsafe.evaluation.groups import group_metrics

    metrics: dict[str, float] = {}
    for key, spec in task_specs(cfg).items():
        examples = (results.get("samples") or {}).get(spec.task)
        task = objects.get(spec.task)
        if not examples or task is None:
            continue
        metadata = task.config.metadata or {}
        group_by = list(metadata.get("group_by") or [])
        if metadata.get("continuation_perplexity"):
            metrics.update(
                continuation_metrics(key, examples, model, tokenizer, reference, batch_size)
            )
        if metadata.get("prompt_perplexity"):
            metrics.update(prompt_metrics(key, examples, model, tokenizer, group_by, batch_size))
        if metadata.get("divergence"):
            metrics.update(divergence_metrics(key, examples, model, tokenizer, reference))
        metrics.update(group_metrics(key, examples, task.aggregation(), group_by))
        if items_dir is not None:
            write_items(items_dir, key, examples)
    return metrics
