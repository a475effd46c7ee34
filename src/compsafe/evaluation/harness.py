"""Evaluate an in-memory model through `lm_eval.simple_evaluate` with our task folder."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from compsafe.errors import ConfigError
from compsafe.evaluation.continuation import DENSE, check_reference
from compsafe.evaluation.options import NAMESPACE, make_options

log = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).parent / "tasks"
NOT_METRICS = frozenset({"alias", "sample_len", "sample_count"})


@dataclass
class EvaluationResult:
    metrics: dict[str, float]
    samples: dict[str, int] = field(default_factory=dict)  # items scored per task key
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # what a task chose
    seconds: float = 0.0


def task_options() -> dict[str, type]:
    from compsafe.evaluation.tasks import TASK_OPTIONS

    return TASK_OPTIONS


@cache
def our_task_names() -> frozenset[str]:
    """Task names our YAML folder defines (lm-eval indexes it instantly without its defaults)."""
    from lm_eval.tasks import TaskManager

    return frozenset(TaskManager(include_path=str(TASKS_DIR), include_defaults=False).all_tasks)


@cache
def lm_eval_task_names() -> frozenset[str]:
    """Every built-in lm-eval task, group and tag (indexing takes several seconds)."""
    from lm_eval.tasks import TaskManager

    return frozenset(TaskManager().all_tasks)


def task_specs(cfg) -> dict[str, Any]:
    """Every task of a benchmark config by its key: `tasks` plus `lm_eval_tasks` by name."""
    from omegaconf import OmegaConf

    specs = dict(cfg.tasks)
    for name in cfg.get("lm_eval_tasks") or []:
        specs.setdefault(name, OmegaConf.create({"task": name, "label": None, "options": {}}))
    return specs


def check_benchmark_config(cfg) -> None:
    """Names and options of every task, before any model is loaded."""
    if not task_specs(cfg):
        raise ConfigError("benchmark.tasks", "{}", "no tasks; pick a benchmark config")
    for key in ("batch_size", "generation_batch_size"):
        if int(cfg[key]) <= 0:
            raise ConfigError(f"benchmark.{key}", cfg[key], "must be a positive integer")
    check_reference(cfg.get("reference_model", DENSE))
    ours = our_task_names()
    for key, spec in task_specs(cfg).items():
        where = f"benchmark.tasks.{key}"
        if spec.task not in ours and spec.task not in lm_eval_task_names():
            raise ConfigError(
                f"{where}.task" if key in cfg.tasks else "benchmark.lm_eval_tasks",
                spec.task,
                "not an lm-eval task; ours: "
                + ", ".join(sorted(ours))
                + "; or any built-in lm-eval task",
            )
        options = plain_options(spec)
        if spec.task in ours:
            make_options(task_options()[spec.task], options, f"{where}.options")
        elif options:
            raise ConfigError(
                f"{where}.options",
                options,
                f"{spec.task} is a built-in lm-eval task; it takes no options",
            )


def plain_options(spec) -> dict[str, Any]:
    """A task's options as plain Python values (lists and dicts, not OmegaConf nodes)."""
    from omegaconf import DictConfig, OmegaConf

    options = spec.options or {}
    return (
        OmegaConf.to_container(options, resolve=True)
        if isinstance(options, DictConfig)
        else dict(options)
    )


def _needs_builtin(cfg) -> bool:
    return any(spec.task not in our_task_names() for spec in task_specs(cfg).values())


def build_task_manager(cfg, tokenizer_path: str):
    """A TaskManager over our folder (plus lm-eval's own tasks only when a config asks for one)."""
    from lm_eval.tasks import TaskManager

    metadata = {
        "tokenizer": tokenizer_path,
        NAMESPACE: {spec.task: plain_options(spec) for spec in task_specs(cfg).values()},
    }
    return TaskManager(
        include_path=str(TASKS_DIR), include_defaults=_needs_builtin(cfg), metadata=metadata
    )


def metric_name(raw: str) -> str:
    """lm-eval's 'acc,none' -> 'acc'; 'exact_match,strict-match' -> 'exact_match_strict-match'."""
    metric, _, filt = raw.partition(",")
    return metric if filt in ("", "none") else f"{metric}_{filt}"


def flatten_results(results: dict[str, Any], cfg) -> tuple[dict[str, float], dict[str, int]]:
    """`{"<task key>/<metric>": value}` from lm-eval's nested results, plus item counts."""
    key_of = {spec.task: key for key, spec in task_specs(cfg).items()}
    for group, subtasks in (results.get("group_subtasks") or {}).items():
        for sub in subtasks:
            if group in key_of and sub not in key_of:
                key_of[sub] = f"{key_of[group]}/{sub}"
    metrics: dict[str, float] = {}
    for task, values in results["results"].items():
        prefix = key_of.get(task, task)
        for raw, value in values.items():
            if raw in NOT_METRICS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            metrics[f"{prefix}/{metric_name(raw)}"] = float(value)
    samples = {
        key_of.get(task, task): int(counts.get("effective", 0))
        for task, counts in (results.get("n-samples") or {}).items()
    }
    return metrics, samples


def load_tasks(cfg, task_manager) -> tuple[list, dict[str, Any]]:
    """Task specs for lm-eval: our tasks as objects with the options' runtime settings applied
    (samples per prompt, generation kwargs, few-shot), built-in tasks by name."""
    ours = our_task_names()
    specs = task_specs(cfg)
    objects = {}
    names = [spec.task for spec in specs.values() if spec.task in ours]
    if names:
        objects = task_manager.load(names)["tasks"]
    for spec in specs.values():
        if spec.task not in objects:
            continue
        options = make_options(task_options()[spec.task], plain_options(spec), spec.task)
        for setting, value in getattr(options, "runtime_config", dict)().items():
            objects[spec.task].set_config(key=setting, value=value)
    requested = [objects.get(spec.task, spec.task) for spec in specs.values()]
    return requested, objects


def item_metrics(
    model, tokenizer, results, cfg, objects, items_dir, batch_size, reference=None
) -> dict:
    """Group breakdowns, continuation and prompt perplexity from the items; items to disk."""
    from compsafe.evaluation.continuation import continuation_metrics, prompt_metrics
    from compsafe.evaluation.items import group_metrics, write_items

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
        metrics.update(group_metrics(key, examples, task.aggregation(), group_by))
        if items_dir is not None:
            write_items(items_dir, key, examples)
    return metrics


def in_memory_lm(model, tokenizer, batch_size: int, generation_batch_size: int, max_length):
    """lm-eval's HFLM over the in-memory model, with its own batch size for generation
    (on 2 CPU cores, SmolLM2: 16 is fastest for log-likelihoods, 32 for generation)."""
    import torch
    from lm_eval.models.huggingface import HFLM

    class InMemoryLM(HFLM):
        def _model_call(self, *args, **kwargs):
            with torch.inference_mode():  # lighter than lm-eval's no_grad; nothing needs autograd
                return super()._model_call(*args, **kwargs)

        def generate_until(self, requests, disable_tqdm: bool = False):
            scoring = self.batch_size_per_gpu
            self.batch_size_per_gpu = generation_batch_size
            try:
                return super().generate_until(requests, disable_tqdm=disable_tqdm)
            finally:
                self.batch_size_per_gpu = scoring

    return InMemoryLM(
        pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length
    )


def evaluate(
    model,
    tokenizer,
    tokenizer_path: str,
    cfg,
    max_length: int | None = None,
    seed: int = 0,
    items_dir=None,
    reference=None,
) -> EvaluationResult:
    """Run every task of a benchmark config on the model as it is in memory.

    Per-item outputs go to `items_dir/<task key>.jsonl` when a folder is given. `reference`
    loads the model that judges continuations (`continuation.reference_loader`); without one
    only the model's own continuation perplexity is computed.
    """
    import lm_eval

    start = time.perf_counter()
    batch_size = int(cfg.batch_size)
    lm = in_memory_lm(model, tokenizer, batch_size, int(cfg.generation_batch_size), max_length)
    task_manager = build_task_manager(cfg, tokenizer_path)
    requested, objects = load_tasks(cfg, task_manager)
    log.info("Evaluating %s", ", ".join(spec.task for spec in task_specs(cfg).values()))
    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=requested,
        task_manager=task_manager,
        limit=cfg.limit,
        bootstrap_iters=int(cfg.bootstrap_iters),
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        log_samples=True,
    )
    metrics, samples = flatten_results(results, cfg)
    metrics.update(
        item_metrics(model, tokenizer, results, cfg, objects, items_dir, batch_size, reference)
    )
    details = task_details(results, cfg)
    return EvaluationResult(metrics, samples, details, time.perf_counter() - start)


def task_details(results, cfg) -> dict[str, dict[str, Any]]:
    """What a task decided at run time, from its documents: the refusal tasks' prompt format
    (the model's chat template, or raw text when its tokenizer has none)."""
    details: dict[str, dict[str, Any]] = {}
    for key, spec in task_specs(cfg).items():
        examples = (results.get("samples") or {}).get(spec.task) or []
        formats = sorted(
            {e["doc"]["prompt_format"] for e in examples if "prompt_format" in e["doc"]}
        )
        if formats:
            details[key] = {"prompt_format": ", ".join(formats)}
    return details
