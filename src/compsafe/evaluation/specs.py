"""A benchmark config's tasks, checked before any model loads (no lm-eval import for ours).

`benchmark.tasks` maps a key (what results and tables call the task) to one of our lm-eval
tasks and its options; `benchmark.lm_eval_tasks` adds built-in lm-eval tasks by name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from compsafe.errors import ConfigError
from compsafe.evaluation.options import make_options
from compsafe.evaluation.reference import DENSE, check_reference

TASKS_DIR = Path(__file__).parent / "tasks"


def task_options() -> dict[str, type]:
    """Our task names -> their options dataclasses (importing our task modules, not lm-eval)."""
    from compsafe.evaluation.tasks import TASK_OPTIONS

    return TASK_OPTIONS


def our_task_names() -> frozenset[str]:
    """Our tasks: each declares its options (a test keeps them equal to the YAML folder's
    tasks), so checking a config needs no lm-eval."""
    return frozenset(task_options())


@cache
def lm_eval_task_names() -> frozenset[str]:
    """Every built-in lm-eval task, group and tag (indexing takes several seconds: asked only
    for a config that names a task that is not ours)."""
    from lm_eval.tasks import TaskManager

    return frozenset(TaskManager().all_tasks)


def task_specs(cfg) -> dict[str, Any]:
    """Every task of a benchmark config by its key: `tasks` plus `lm_eval_tasks` by name."""
    from omegaconf import OmegaConf

    specs = dict(cfg.tasks)
    for name in cfg.get("lm_eval_tasks") or []:
        specs.setdefault(name, OmegaConf.create({"task": name, "label": None, "options": {}}))
    return specs


def plain_options(spec) -> dict[str, Any]:
    """A task's options as plain Python values (lists and dicts, not OmegaConf nodes)."""
    from omegaconf import DictConfig, OmegaConf

    options = spec.options or {}
    return (
        OmegaConf.to_container(options, resolve=True)
        if isinstance(options, DictConfig)
        else dict(options)
    )


def needs_builtin(cfg) -> bool:
    """Whether a config names a built-in lm-eval task (lm-eval must then index its own)."""
    return any(spec.task not in our_task_names() for spec in task_specs(cfg).values())


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
