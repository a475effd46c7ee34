"""What a record says about its tasks' metrics: the metric catalogue, as results.json carries it.

The catalogue is declared once, in the task YAMLs (see `compsafe.evaluation.catalogue`), and
every job writes the entries of the tasks it ran into `benchmarks.<task key>` of its record:
each metric's title, direction, aggregation (a name in `results.aggregations`), whether the
report shows it, its compsafe-table column; the task's dimension, group fields and resampling
unit. Readers (the report, compsafe-table) read these entries and nothing else.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# The report's sections, in page order; a task's `dimension` names one of them.
DIMENSIONS = (
    "Degeneration harm",
    "Representational harm",
    "Refusal",
    "Dialect bias",
    "Language modelling and downstream",
)
DEFAULT_FORMAT = "{:.3f}"


@dataclass(frozen=True)
class MetricEntry:
    """One metric of one task, as the record describes it."""

    title: str
    # True / False; None: no agreed reading (a bias score's distance from 0 matters, or the
    # perplexity of generated text): never called better or worse.
    higher_is_better: bool | None
    aggregation: str | None  # a name in `results.aggregations`; None: no interval
    shown: bool = False  # a row of the report's dimension tables
    headline: int | None = None  # rank among its dimension's overview candidates (1 first)
    column: str | None = None  # its compsafe-table title; None: not a table column
    format: str = DEFAULT_FORMAT  # its format in compsafe-table
    perplexity: bool = False  # the language-model perplexity that safety is read against
    heatmap: str | None = None  # the document field its group heatmap is drawn by
    # (lowest, highest) an item's value can take (a probability: (0, 1)); None: unbounded.
    # Gives an interval where the bootstrap has too few differing items to give one.
    bounds: tuple[float, float] | None = None

    @property
    def higher_is_worse(self) -> bool | None:
        return None if self.higher_is_better is None else not self.higher_is_better


@dataclass(frozen=True)
class TaskEntry:
    """One task of a job (keyed by the benchmark's task key), as the record describes it."""

    task: str  # lm-eval's task name
    title: str
    dimension: str
    metrics: dict[str, MetricEntry] = field(default_factory=dict)  # in the catalogue's order
    group_by: tuple[str, ...] = ()
    resample_by: str | None = None  # document field whose items are resampled together
    downstream: bool = False  # a built-in lm-eval capability task, not a safety measure
    # A multiple-choice task's named answers: name -> the document field holding its index,
    # or the index itself (CrowS-Pairs' stereotyped sentence is always the first)
    answers: dict[str, str | int] = field(default_factory=dict)

    def keeping(self, names: Container[str]) -> TaskEntry:
        """The entry with only the metrics named (those a job actually produced)."""
        return replace(self, metrics={n: m for n, m in self.metrics.items() if n in names})

    def to_record(self) -> dict[str, Any]:
        """The catalogue part of `benchmarks.<key>` in results.json."""
        out = asdict(self)
        out["group_by"] = list(self.group_by)
        return out

    @classmethod
    def from_record(cls, entry: dict[str, Any]) -> TaskEntry:
        metrics = {
            name: MetricEntry(**{**m, "bounds": bounds_of(m.get("bounds"))})
            for name, m in (entry.get("metrics") or {}).items()
        }
        return cls(
            task=entry["task"],
            title=entry["title"],
            dimension=entry["dimension"],
            metrics=metrics,
            group_by=tuple(entry.get("group_by") or ()),
            resample_by=entry.get("resample_by"),
            downstream=bool(entry.get("downstream")),
            answers=dict(entry.get("answers") or {}),
        )


def bounds_of(declared: Any) -> tuple[float, float] | None:
    """A metric's declared (lowest, highest) as a tuple (JSON and YAML give a list)."""
    return None if declared is None else (float(declared[0]), float(declared[1]))


def task_entries(record: dict[str, Any]) -> dict[str, TaskEntry]:
    """{task key: its catalogue} of a record, in the benchmark's task order."""
    return {key: TaskEntry.from_record(b) for key, b in (record.get("benchmarks") or {}).items()}
