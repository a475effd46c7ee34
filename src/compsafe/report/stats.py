"""Uncertainty from per-item outputs: bootstrap intervals and paired tests against dense.

A metric is recomputed from the items a job kept (`items/<task>.jsonl`) with the task's own
aggregation (read from its lm-eval YAML), on resamples of the items. Compressed and dense
configs are compared on the same items (matched by document id), resampled jointly: the
change is significant when its 95 % interval excludes zero.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
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
def task_aggregations() -> dict[str, dict[str, Aggregation]]:
    """{task name: {metric: aggregation}} from our task YAMLs (includes followed)."""
    from lm_eval.api.registry import get_aggregation

    out: dict[str, dict[str, Aggregation]] = {}
    for path in sorted(TASKS_DIR.glob("*.yaml")):
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
        if "include" in config:
            base = yaml.load(
                (TASKS_DIR / config["include"]).read_text(encoding="utf-8"), Loader=_loader()
            )
            config = {**base, **config}
        metrics = {}
        for entry in config.get("metric_list", []):
            aggregation = entry.get("aggregation", "mean")
            if isinstance(aggregation, _FunctionTag):
                module, _, name = aggregation.target.rpartition(".")
                tasks = importlib.import_module(f"compsafe.evaluation.tasks.{module}")
                metrics[entry["metric"]] = getattr(tasks, name)
            else:
                metrics[entry["metric"]] = get_aggregation(aggregation)
        out[config["task"]] = metrics
    return out


CONTINUATION_PPL = "continuation_perplexity"


def continuation_perplexity(values: Sequence[tuple[float, int]]) -> float:
    """Token-weighted over the items' (NLL sum, token count), as the job computes it."""
    from compsafe.evaluation.continuation import perplexity

    return perplexity(list(values))


# Metrics the harness computes from items after lm-eval (not in any task YAML).
ITEM_AGGREGATIONS: dict[str, Aggregation] = {CONTINUATION_PPL: continuation_perplexity}


@dataclass
class Items:
    """One job's items of one task: document ids and per-item values of each metric."""

    ids: list[Any]
    values: dict[str, list[Any]]


def read_items(path: Path) -> Items | None:
    """A job's kept items of one task (None if it kept none): what the intervals resample."""
    if not path.is_file():
        return None
    ids, values = [], {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            ids.append(item.get("doc_id"))
            if item.get("continuation_nll"):  # [[nll, tokens] per continuation]
                nll = item["continuation_nll"]
                values.setdefault(CONTINUATION_PPL, []).append(
                    (sum(v[0] for v in nll), sum(v[1] for v in nll))
                )
            for metric in item.get("metrics") or []:
                value = item.get(metric)
                values.setdefault(metric, []).append(
                    tuple(value) if isinstance(value, list) else value
                )
    return Items(ids, values)


def _finite(value: float) -> float | None:
    """The value if it is a finite number, else None (a resample can divide by zero)."""
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _percentiles(
    n: int, statistic: Callable[[np.ndarray], float], iterations: int, seed: int
) -> tuple[float, float] | None:
    """The one bootstrap loop: 95 % percentile interval of `statistic` over `iterations` draws
    of n item indices with replacement (seeded, so the same seed gives the same interval).
    Non-finite statistics are dropped; None when more than half are."""
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(iterations):
        stat = _finite(float(statistic(rng.integers(0, n, n))))
        if stat is not None:
            stats.append(stat)
    if len(stats) < iterations // 2:
        return None
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_interval(
    values: Sequence[Any], aggregate: Aggregation, iterations: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """95 % percentile interval of `aggregate` over resamples (with replacement) of the items."""
    if len(values) < 2:
        return None
    return _percentiles(
        len(values), lambda index: aggregate([values[i] for i in index]), iterations, seed
    )


def paired_difference(
    ours: Items,
    dense: Items,
    metric: str,
    aggregate: Aggregation,
    iterations: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float] | None:
    """(difference, low, high): ours minus dense on the items both have, jointly resampled."""
    if metric not in ours.values or metric not in dense.values:
        return None
    position = {doc: i for i, doc in enumerate(dense.ids)}
    pairs = [(i, position[doc]) for i, doc in enumerate(ours.ids) if doc in position]
    if len(pairs) < 2:
        return None
    a = [ours.values[metric][i] for i, _ in pairs]
    b = [dense.values[metric][j] for _, j in pairs]
    difference = _finite(float(aggregate(a)) - float(aggregate(b)))
    if difference is None:
        return None

    def change(index: np.ndarray) -> float:
        return float(aggregate([a[i] for i in index])) - float(aggregate([b[i] for i in index]))

    interval = _percentiles(len(pairs), change, iterations, seed)
    return None if interval is None else (difference, *interval)


def significant(interval: tuple[float, float, float] | None) -> bool:
    """The change's 95 % interval excludes zero."""
    return interval is not None and (interval[1] > 0 or interval[2] < 0)
