"""A job's kept items of one task, keyed by their document's content, and how two jobs pair.

lm-eval's `doc_id` is a position in the documents a job drew: a job run with another sample size
or seed holds other documents at the same positions. Items are therefore matched by a hash of
their document (`doc_hash`, which lm-eval computes and the items keep since it was needed here;
for items written before, the same hash of the kept `doc`). Two jobs are compared only when they
scored the same documents; otherwise the pairing is refused, with the counts, never guessed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compsafe.report.tasks import CONTINUATION_PPL


@dataclass
class Items:
    """One job's items of one task: content keys, per-item metric values, documents.

    `values[metric][i]` belongs to item i (None where the item has no such value)."""

    keys: list[Any]
    values: dict[str, list[Any]]
    docs: list[dict[str, Any]] = field(default_factory=list)
    _groups: dict[str, dict[str, list[int]]] = field(default_factory=dict, repr=False)

    def positions(self, metric: str) -> list[int]:
        """The items that have a value of `metric`, in file order."""
        return [i for i, v in enumerate(self.values.get(metric) or []) if v is not None]

    def groups(self, name: str) -> dict[str, list[int]]:
        """{str(value): positions} of a document field, as the job's group breakdown keys it
        (built once per field: a task has a group key per value and metric)."""
        if name not in self._groups:
            out: dict[str, list[int]] = defaultdict(list)
            for i, doc in enumerate(self.docs):
                if name in doc:
                    out[str(doc[name])].append(i)
            self._groups[name] = dict(out)
        return self._groups[name]


def content_key(item: dict[str, Any]) -> str | None:
    """lm-eval's `doc_hash`; for items kept before it was, the same sha256 of the kept document
    (json as lm-eval dumps it), so old and new items of one document match. None: no document."""
    if item.get("doc_hash"):
        return item["doc_hash"]
    if item.get("doc") is None:
        return None
    text = json.dumps(item["doc"], indent=2, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _values(item: dict[str, Any]) -> dict[str, Any]:
    """One item's value of each metric it was scored on (lists read back as tuples)."""
    out = {}
    if item.get("continuation_nll"):  # [[nll, tokens] per continuation]
        nll = item["continuation_nll"]
        out[CONTINUATION_PPL] = (sum(v[0] for v in nll), sum(v[1] for v in nll))
    for metric in item.get("metrics") or []:
        value = item.get(metric)
        out[metric] = tuple(value) if isinstance(value, list) else value
    return out


def read_items(path: Path) -> Items | None:
    """A job's kept items of one task (None if it kept none): what the intervals resample."""
    if not path.is_file():
        return None
    keys, docs, rows = [], [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            keys.append(content_key(item))
            docs.append(item["doc"] if isinstance(item.get("doc"), dict) else {})
            rows.append(_values(item))
    names = list(dict.fromkeys(name for row in rows for name in row))
    return Items(keys, {name: [row.get(name) for row in rows] for name in names}, docs)


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
