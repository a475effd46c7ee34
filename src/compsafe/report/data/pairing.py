"""Which items a cell rests on: metric keys, and how two jobs' items pair by document.

lm-eval's `doc_id` is a position in the documents a job drew: a job run with another sample
size or seed holds other documents at the same positions. Items are therefore matched by a hash
of their document (`results.items.content_key`). Two jobs are compared only when they scored
the same documents; otherwise the pairing is refused, with the counts, never guessed.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compsafe.results.items import Items


@dataclass(frozen=True)
class MetricKey:
    """`<task key>/<metric>` or a group of it, `<task key>/<metric>/<field>=<value>`."""

    text: str  # as results.json writes it
    task_key: str
    metric: str
    group: tuple[str, str] | None = None  # (document field, its value as text)

    @classmethod
    def parse(cls, key: str) -> MetricKey | None:
        """None for keys that are neither (a group task's subtask metrics)."""
        parts = key.split("/", 2)
        if len(parts) == 2:
            return cls(key, parts[0], parts[1])
        if len(parts) == 3 and "=" in parts[2]:
            name, _, value = parts[2].partition("=")
            return cls(key, parts[0], parts[1], (name, value))
        return None


def group_keys(metrics: dict[str, Any]) -> list[str]:
    """The group breakdowns (`<task key>/<metric>/<field>=<value>`) among a record's metrics."""
    return [k for k in metrics if (parsed := MetricKey.parse(k)) and parsed.group]


def positions(items: Items, key: MetricKey) -> list[int]:
    """The items of the metric (of its group only, for a group key)."""
    found = items.positions(key.metric)
    if key.group is None:
        return found
    members = set(items.groups(key.group[0]).get(key.group[1], ()))
    return [p for p in found if p in members]


@dataclass(frozen=True)
class Pairing:
    """(our position, dense position) per document, in our order; or why there are none."""

    pairs: list[tuple[int, int]]
    refusal: str | None = None


def pair(ours: Items, dense: Items) -> Pairing:
    """Pair items by document content; refused unless both jobs scored the same documents (the
    job's value and the change vs dense would otherwise rest on different items)."""
    if None in ours.keys or None in dense.keys:
        return Pairing([], "items kept without their document")
    if ours.keys == dense.keys:
        return Pairing([(i, i) for i in range(len(ours.keys))])
    mine, theirs = Counter(ours.keys), Counter(dense.keys)
    if mine != theirs:
        shared = sum((mine & theirs).values())
        counts = f"{shared} shared of {len(ours.keys)}/{len(dense.keys)} documents"
        return Pairing([], f"other documents than dense ({counts})")
    slots: dict[Any, deque[int]] = defaultdict(deque)
    for j, key in enumerate(dense.keys):
        slots[key].append(j)
    return Pairing([(i, slots[key].popleft()) for i, key in enumerate(ours.keys)])


def aligned(pairing: Pairing | None, reference: Sequence[int]) -> list[int] | None:
    """The other job's position of each reference document at `reference`, from their pairing
    (other, reference); None when the two did not score the same documents."""
    if pairing is None or pairing.refusal:
        return None
    mine = {j: i for i, j in pairing.pairs}
    return [mine[p] for p in reference]
