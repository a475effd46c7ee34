"""The items files: every scored item of every task, kept for audits and intervals.

`items/<task key>.jsonl`, one JSON line per item: what lm-eval logged for it (`doc`, its
`doc_hash`, `doc_id`, `target`, the outputs in `filtered_resps`), the `prompt`, and the item's
value of each metric named in its `metrics` list, under the metric's name (lists read back as
tuples). Metrics compsafe computes after lm-eval (prompt and continuation perplexities) are
listed and stored the same way, so a reader needs nothing but this file and the record's
catalogue to recompute any metric. A job writes them into a staging folder and publishes them
only once it has succeeded, so a failed rerun keeps the items of the completed result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compsafe.results.files import ITEMS_DIR, ITEMS_STAGING, items_file

# Dropped from the kept items (lm-eval's request plumbing). `doc_hash` is kept: readers pair
# two jobs' items by it, as positions (`doc_id`) differ between subsets of the documents.
SKIP_KEYS = ("prompt_hash", "target_hash", "arguments", "resps")


def item_line(example: dict[str, Any]) -> dict[str, Any]:
    """What a job keeps of one item lm-eval logged: document and its hash, prompt, outputs and
    per-item metric values."""
    line = {k: v for k, v in example.items() if k not in SKIP_KEYS}
    arguments = example.get("arguments") or []
    if arguments and isinstance(arguments[0], (list, tuple)) and arguments[0]:
        line["prompt"] = arguments[0][0]
    return line


def add_value(example: dict[str, Any], metric: str, value: Any) -> None:
    """An item's value of a metric computed after lm-eval, listed like lm-eval's own."""
    example[metric] = value
    names = example.setdefault("metrics", [])
    if metric not in names:
        names.append(metric)


def staging_dir(job_folder: Path) -> Path:
    """Where a running job writes its items; emptied first (a killed run may have left some)."""
    staging = job_folder / ITEMS_STAGING
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def write_items(folder: Path, task_key: str, examples: list[dict[str, Any]]) -> Path:
    """One task's items, one line each (into the staging folder while the job runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = items_file(folder, task_key)
    with open(path, "w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(json.dumps(item_line(example), default=_plain, ensure_ascii=False) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def publish_items(job_folder: Path) -> None:
    """Replace the job's items with the ones this run wrote, once it has succeeded."""
    staging, final = job_folder / ITEMS_STAGING, job_folder / ITEMS_DIR
    if not staging.is_dir():
        return
    previous = job_folder / f"{ITEMS_DIR}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)


def item_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The raw lines of an items file (none when it does not exist)."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def generated(line: Any) -> list[dict[str, Any]]:
    """The outputs of a generation item as lm-eval logged them under `filtered_resps`: each a
    dict with its `text` beside the scorer's fields (score, outcome, rule); [] for any other
    item (a multiple-choice item's log-likelihoods) or line."""
    responses = line.get("filtered_resps") if isinstance(line, dict) else None
    outputs = [o for r in responses or [] for o in (r if isinstance(r, list) else [r])]
    return outputs if outputs and all(isinstance(o, dict) and "text" in o for o in outputs) else []


# Fields a document carries (or carried) for the run's record only, not as part of what was
# asked: the refusal judge's measured accuracy, rewritten with every labelled round (refusal
# documents carried it until 2026-12-06, when it moved to the scorer's once-per-task `details`),
# so two runs of the same requests either side of a re-measurement held different documents and
# were not paired (a 3-seed sweep whose seed-0 jobs ran the day before); and a refusal request's
# `behaviour`, derived from what was asked (its resampling unit: the request itself, or the
# JailbreakBench behaviour a tense rephrasing rephrases), so runs from before it existed pair
RECORD_FIELDS = ("judge_accuracy", "behaviour")


def content_key(line: dict[str, Any]) -> str | None:
    """lm-eval's `doc_hash`; for items kept without it, the same sha256 of the kept document
    (json as lm-eval dumps it); for a document with `RECORD_FIELDS`, the sha256 of it without
    them. None: no document."""
    doc = line.get("doc")
    if isinstance(doc, dict) and any(field in doc for field in RECORD_FIELDS):
        doc = {k: v for k, v in doc.items() if k not in RECORD_FIELDS}
    elif line.get("doc_hash"):
        return line["doc_hash"]
    if doc is None:
        return None
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _values(line: dict[str, Any]) -> dict[str, Any]:
    """The item's value of each metric it lists (lists read back as tuples)."""
    out = {}
    for metric in line.get("metrics") or []:
        value = line.get(metric)
        out[metric] = tuple(value) if isinstance(value, list) else value
    return out


@dataclass
class Items:
    """One job's items of one task: content keys, per-item metric values, documents.

    `values[metric][i]` belongs to item i (None where the item has no such value)."""

    keys: list[Any]
    values: dict[str, list[Any]]
    docs: list[dict[str, Any]] = field(default_factory=list)
    choices: list[int | None] = field(default_factory=list)  # multiple choice: the answer
    _groups: dict[str, dict[str, list[int]]] = field(default_factory=dict, repr=False)

    def positions(self, metric: str) -> list[int]:
        """The items that have a value of `metric`, in file order."""
        return [i for i, v in enumerate(self.values.get(metric) or []) if v is not None]

    def groups(self, name: str) -> dict[str, list[int]]:
        """{str(value): positions} of a document field, as the job's group breakdown keys it
        (built once per field)."""
        if name not in self._groups:
            out: dict[str, list[int]] = defaultdict(list)
            for i, doc in enumerate(self.docs):
                if name in doc:
                    out[str(doc[name])].append(i)
            self._groups[name] = dict(out)
        return self._groups[name]


def choice(line: dict[str, Any]) -> int | None:
    """The answer a multiple-choice item chose: the highest of its choices' log-likelihoods
    (lm-eval logs one [log-likelihood, is greedy] pair per choice); None for other items."""
    outputs = line.get("filtered_resps")
    if not isinstance(outputs, list) or len(outputs) < 2:
        return None
    if not all(isinstance(o, list) and len(o) == 2 and isinstance(o[1], bool) for o in outputs):
        return None
    scores = [o[0] for o in outputs]
    return max(range(len(scores)), key=scores.__getitem__)


def read_items(path: Path) -> Items | None:
    """A job's kept items of one task (None if it kept none)."""
    keys, docs, rows, choices = [], [], [], []
    for line in item_lines(path):
        keys.append(content_key(line))
        docs.append(line["doc"] if isinstance(line.get("doc"), dict) else {})
        rows.append(_values(line))
        choices.append(choice(line))
    if not rows:
        return None
    names = list(dict.fromkeys(name for row in rows for name in row))
    values = {name: [row.get(name) for row in rows] for name in names}
    return Items(keys, values, docs, choices)
