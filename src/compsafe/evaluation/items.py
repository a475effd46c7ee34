"""Per-item outputs of a task: kept on disk for audits and intervals, and broken down by group.

lm-eval returns every scored item (`log_samples=True`) with its document and the per-item
values its `process_results` produced. A task's YAML `metadata.group_by` names document fields;
each metric is then aggregated again within every value of each field, with the task's own
aggregation function (so BBQ's bias scores per category are bias scores, not means).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

# Dropped from the kept items. `doc_hash` (lm-eval's sha256 of the document) is kept: the report
# pairs two jobs' items by it, as positions (`doc_id`) differ between subsets of the documents.
SKIP_KEYS = ("prompt_hash", "target_hash", "arguments", "resps")


def item_record(example: dict[str, Any]) -> dict[str, Any]:
    """What a job keeps of one item: document and its hash, prompt, outputs and per-item metric
    values."""
    record = {k: v for k, v in example.items() if k not in SKIP_KEYS}
    arguments = example.get("arguments") or []
    if arguments and isinstance(arguments[0], (list, tuple)) and arguments[0]:
        record["prompt"] = arguments[0][0]
    return record


def write_items(folder: Path, key: str, examples: list[dict[str, Any]]) -> Path:
    """`<folder>/<key>.jsonl`, one item per line."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key.replace('/', '_')}.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(json.dumps(item_record(example), default=_plain, ensure_ascii=False) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def group_metrics(
    key: str, examples: list[dict[str, Any]], aggregations: dict[str, Any], group_by: list[str]
) -> dict[str, float]:
    """`{"<key>/<metric>/<field>=<value>": number}` for every group of every field."""
    out: dict[str, float] = {}
    for field in group_by:
        groups: dict[str, list[dict]] = defaultdict(list)
        for example in examples:
            if field in example["doc"]:
                groups[str(example["doc"][field])].append(example)
        for value, members in sorted(groups.items()):
            for metric, aggregate in aggregations.items():
                items = [m[metric] for m in members if metric in m]
                if not items:
                    continue
                number = float(aggregate(items))
                if not math.isnan(number):
                    out[f"{key}/{metric}/{field}={value}"] = number
    return out
