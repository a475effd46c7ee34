"""The metric catalogue as the report reads it: gathered from the jobs' records.

Every job's record describes the metrics of the tasks it ran (`results.catalogue`); the report
takes the first description of each metric it meets. Sections, tables, columns, heatmaps,
directions and the overview's headline metrics all come from here: a metric a task adds shows
up without any change to the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from compsafe.report.data.records import Row
from compsafe.results.catalogue import DIMENSIONS, MetricEntry


@dataclass(frozen=True)
class Metric:
    """A metric of one task key, as the report shows it."""

    key: str  # "<task key>/<metric>" as results.json writes it
    entry: MetricEntry
    dimension: str
    downstream: bool = False  # a built-in lm-eval capability task, not a safety measure

    @property
    def task_key(self) -> str:
        return self.key.split("/")[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def title(self) -> str:
        return self.entry.title

    @property
    def higher_is_worse(self) -> bool | None:
        return self.entry.higher_is_worse

    @property
    def fmt(self) -> str:
        return self.entry.format


@dataclass
class Catalogue:
    """Every metric the records describe, in the order first met (records in config order,
    tasks in each benchmark's order, metrics in each task's catalogue order)."""

    metrics: dict[str, Metric] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Catalogue:
        out = cls()
        for row in rows:
            for task_key, task in row.tasks.items():
                for name, entry in task.metrics.items():
                    key = f"{task_key}/{name}"
                    if key not in out.metrics:
                        out.metrics[key] = Metric(key, entry, task.dimension, task.downstream)
        return out

    def get(self, key: str) -> Metric | None:
        return self.metrics.get(key)

    def shown(self) -> list[Metric]:
        """The metrics of the report's tables, dimension by dimension (`DIMENSIONS` order)."""
        order = {d: i for i, d in enumerate(DIMENSIONS)}
        shown = [m for m in self.metrics.values() if m.entry.shown]
        return sorted(shown, key=lambda m: order.get(m.dimension, len(order)))

    def dimensions(self) -> list[str]:
        return list(dict.fromkeys(m.dimension for m in self.shown()))

    @property
    def perplexity(self) -> Metric | None:
        """The language-model perplexity that safety is read against (its task says which)."""
        return next((m for m in self.metrics.values() if m.entry.perplexity), None)

    def columns(self) -> list[Metric]:
        """compsafe-table's metric columns, left to right."""
        return [m for m in self.metrics.values() if m.entry.column]

    def heatmaps(self) -> list[tuple[str, str, str]]:
        """(task key, metric, document field) of every group breakdown drawn as a heatmap."""
        return [(m.task_key, m.name, m.entry.heatmap) for m in self.shown() if m.entry.heatmap]

    def headlines(self, present: Iterable[str]) -> list[tuple[str, Metric]]:
        """Per dimension with a shown metric in `present` (keys), its headline: the best-ranked
        `headline` present, else its first metric; the perplexity is not a dimension's column."""
        keys = set(present)
        out = []
        for dimension in self.dimensions():
            metrics = [
                m for m in self.shown()
                if m.dimension == dimension and m.key in keys and not m.entry.perplexity
            ]  # fmt: skip
            ranked = sorted(
                (m for m in metrics if m.entry.headline), key=lambda m: m.entry.headline
            )
            if metrics:
                out.append((dimension, (ranked or metrics)[0]))
        return out

    def confirmatory(self, present: Iterable[str]) -> list[str]:
        """The keys a config's confirmatory family tests: the perplexity and each dimension's
        headline, as the overview shows them."""
        keys = set(present)
        ppl = [self.perplexity.key] if self.perplexity and self.perplexity.key in keys else []
        return ppl + [m.key for _, m in self.headlines(keys)]

    def dimension_of(self, key: str) -> str:
        metric = self.metrics.get(key)
        return metric.dimension if metric else ""


def is_safety(metric: Metric) -> bool:
    """A metric that measures harm or bias: neither the perplexity nor a downstream task."""
    return not metric.entry.perplexity and not metric.downstream
