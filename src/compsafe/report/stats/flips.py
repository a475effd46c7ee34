"""What changed, item by item: answers that flipped between dense and a compressed config.

An accuracy or a share can hold while many answers change (Dutta et al. 2024, "Accuracy is not
all you need"): a compressed model that trades 10 stereotyped answers for 10 others keeps its
bias score and is a different model. For every multiple-choice task, on the documents both
jobs answered: the share of answers that changed, and for each answer the task names (BBQ's
stereotyped answer and its answer of "unknown", CrowS-Pairs' stereotyped sentence) how many
moved to it and away from it, with McNemar's exact p-value of the two counts. Descriptive:
these p-values are not in the report's marked families (they restate the tests of the metrics
they drive).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compsafe.report.data.pairing import Pairing
from compsafe.report.data.records import Row
from compsafe.report.stats.exact import mcnemar
from compsafe.results.items import Items


@dataclass(frozen=True)
class Move:
    """Answers that became a named answer (`to`) and that stopped being it (`away`)."""

    to: int
    away: int

    @property
    def p_value(self) -> float:
        return mcnemar(self.to, self.away)


@dataclass(frozen=True)
class Flips:
    task_key: str
    paired: int  # documents both jobs answered
    changed: int  # of them, answered differently
    moves: dict[str, Move] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.changed / self.paired if self.paired else float("nan")


def _answer(doc: dict, where: str | int) -> int | None:
    if isinstance(where, int):
        return where
    value = doc.get(where)
    return int(value) if isinstance(value, (int, float)) else None


def flips(row: Row, task_key: str, ours: Items, dense: Items, pairing: Pairing) -> Flips | None:
    """The task's answers that changed between dense and the row (None: not multiple choice,
    or no documents in common)."""
    pairs = [
        (i, j)
        for i, j in pairing.pairs
        if ours.choices and dense.choices and ours.choices[i] is not None
        and dense.choices[j] is not None
    ]  # fmt: skip
    if not pairs:
        return None
    changed = sum(ours.choices[i] != dense.choices[j] for i, j in pairs)
    moves = {}
    task = row.tasks.get(task_key)
    for name, where in (task.answers if task else {}).items():
        to = away = 0
        for i, j in pairs:
            target = _answer(ours.docs[i], where)
            if target is None:
                continue
            was, now = dense.choices[j] == target, ours.choices[i] == target
            to += now and not was
            away += was and not now
        moves[name] = Move(to, away)
    return Flips(task_key, len(pairs), changed, moves)
