"""Evaluate an in-memory model through `lm_eval.simple_evaluate` with our task folder."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from compsafe.errors import ConfigError
from compsafe.evaluation.options import NAMESPACE, make_options

log = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).parent / "tasks"
NOT_METRICS = frozenset({"alias", "sample_len", "sample_count"})


@dataclass
class EvaluationResult:
    metrics: dict[str, float]
    samples: dict[str, int] = field(default_factory=dict)  # items scored per task key
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
    if int(cfg.batch_size) <= 0:
        raise ConfigError("benchmark.batch_size", cfg.batch_size, "must be a positive integer")
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
        options = dict(spec.options or {})
        if spec.task in ours:
            make_options(task_options()[spec.task], options, f"{where}.options")
        elif options:
            raise ConfigError(
                f"{where}.options",
                options,
                f"{spec.task} is a built-in lm-eval task; it takes no options",
            )


def _needs_builtin(cfg) -> bool:
    return any(spec.task not in our_task_names() for spec in task_specs(cfg).values())


def build_task_manager(cfg, tokenizer_path: str):
    """A TaskManager over our folder (plus lm-eval's own tasks only when a config asks for one)."""
    from lm_eval.tasks import TaskManager

    metadata = {
        "tokenizer": tokenizer_path,
        NAMESPACE: {spec.task: dict(spec.options or {}) for spec in task_specs(cfg).values()},
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


def evaluate(
    model, tokenizer, tokenizer_path: str, cfg, max_length: int | None = None, seed: int = 0
) -> EvaluationResult:
    """Run every task of a benchmark config on the model as it is in memory."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    start = time.perf_counter()
    lm = HFLM(
        pretrained=model, tokenizer=tokenizer, batch_size=int(cfg.batch_size), max_length=max_length
    )
    tasks = [spec.task for spec in task_specs(cfg).values()]
    log.info("Evaluating %s", ", ".join(tasks))
    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=tasks,
        task_manager=build_task_manager(cfg, tokenizer_path),
        limit=cfg.limit,
        bootstrap_iters=int(cfg.bootstrap_iters),
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        log_samples=False,
    )
    metrics, samples = flatten_results(results, cfg)
    return EvaluationResult(metrics, samples, time.perf_counter() - start)
