"""A calibrated config run with several seeds: a two-stage bootstrap over seeds and documents.

Its value varies for two reasons: which seed calibrated it (another seed, other weights) and
which documents the benchmark drew. Each resample draws the seeds with replacement, then one
draw of the documents, and takes the mean over the drawn seeds of the task's own aggregate on
each seed's items of those documents. One document draw serves every drawn seed because all
seeds scored the same documents: independent draws per seed would treat the documents' own
difficulty as if it averaged out over seeds, and shrink that part of the interval by the number
of seeds. The change vs dense takes dense's items of the same drawn documents (dense has no
seed). Items without a value (a metric of fluent text only) are left out of each aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compsafe.report.items import Pairing
from compsafe.report.stats import _draw_matrix, _is_mean, _number
from compsafe.report.tasks import Aggregation

Draws = list[np.ndarray]


def seed_draws(seeds: int, iterations: int, seed: int) -> np.ndarray:
    """(iterations, seeds): how often each seed is drawn in each resample (seeded stream of its
    own, apart from the document draws)."""
    rng = np.random.default_rng([seed, 1])
    picks = rng.integers(0, seeds, (iterations, seeds))
    return np.stack([np.bincount(row, minlength=seeds) for row in picks])


def document_draws(units: Sequence[Sequence[int]], iterations: int, seed: int) -> Draws:
    """Each resample's documents: units drawn with replacement, flattened to positions."""
    matrix = _draw_matrix(len(units), iterations, seed)
    if all(len(u) == 1 for u in units):
        flat = np.array([u[0] for u in units])
        return list(flat[matrix])
    return [np.array([i for c in draw.tolist() for i in units[c]]) for draw in matrix]


def resample_values(values: Sequence[Any], aggregate: Aggregation, draws: Draws) -> np.ndarray:
    """The aggregate of each draw's values, items without a value (None) left out."""
    if _is_mean(aggregate) and len({len(d) for d in draws}) == 1:
        try:
            array = np.array([np.nan if v is None else v for v in values], dtype=float)
        except (TypeError, ValueError):
            array = None
        if array is not None and array.ndim == 1:
            matrix = np.stack(draws)
            present = np.isfinite(array)[matrix]
            sums = np.where(present, array[matrix], 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return sums / present.sum(axis=1)
    out = []
    for draw in draws:
        kept = [values[i] for i in draw.tolist() if values[i] is not None]
        out.append(_number(aggregate(kept)) if kept else np.nan)
    return np.array(out, dtype=float)


def two_stage(per_seed: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean over each resample's drawn seeds: per_seed (seeds, iterations), counts from
    `seed_draws` (iterations, seeds)."""
    with np.errstate(invalid="ignore"):
        return (counts * per_seed.T).sum(axis=1) / counts.sum(axis=1)


def aligned(pairing: Pairing | None, positions: Sequence[int]) -> list[int] | None:
    """The other job's position of each reference document at `positions`, from their pairing
    (other, reference); None when the two did not score the same documents."""
    if pairing is None or pairing.refusal:
        return None
    mine = {j: i for i, j in pairing.pairs}
    return [mine[p] for p in positions]


@dataclass
class SeededStats:
    """The two-stage resample statistics of one seeded cell and of dense on the same draws."""

    iterations: int
    seed: int
    _dense: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)

    def value(self, columns: list[list[Any]], aggregate: Aggregation, draws: Draws) -> np.ndarray:
        """The two-stage statistics of the seeds' aligned values."""
        per_seed = np.stack([resample_values(c, aggregate, draws) for c in columns])
        return two_stage(per_seed, seed_draws(len(columns), self.iterations, self.seed))

    def dense(
        self, key: tuple, values: list[Any], aggregate: Aggregation, draws: Draws
    ) -> np.ndarray:
        """Dense's statistics on the same document draws (memoised: every seeded config of a
        sweep with the same documents reuses them)."""
        if key not in self._dense:
            self._dense[key] = resample_values(values, aggregate, draws)
        return self._dense[key]
