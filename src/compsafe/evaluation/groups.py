"""Group breakdowns: every metric aggregated again within every value of a document field.

A task's YAML `metadata.group_by` names document fields; each metric is aggregated within every
value of each field with the task's own aggregation function (so BBQ's bias scores per category
are bias scores, not means). Keys: `<task key>/<metric>/<field>=<value>`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any


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
