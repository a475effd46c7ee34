"""The aggregations a record names: each linear form computes what its function computes."""

from __future__ import annotations

import numpy as np
import pytest

from compsafe.results.aggregations import AGGREGATIONS, LINEAR, linear_form

RNG = np.random.default_rng(5)


def items_for(name: str) -> list:
    """Items of the shape the tasks' process_results emit for each aggregation."""
    n = 40
    if name.startswith("bbq_"):
        return [
            (str(RNG.choice(["ambig", "disambig"])), *(bool(b) for b in RNG.integers(0, 2, 3)))
            for _ in range(n)
        ]
    if name.startswith("dialect_"):
        return [
            (
                str(RNG.choice(["aae", "white"])),
                float(-RNG.uniform(10, 90)),
                int(RNG.integers(5, 30)),
            )
            for _ in range(n)
        ]
    if name in ("weighted_perplexity", "bits_per_byte", "window_perplexity"):
        return [(float(-RNG.uniform(10, 90)), int(RNG.integers(5, 30))) for _ in range(n)]
    if name == "nll_perplexity":
        return [(float(RNG.uniform(10, 90)), int(RNG.integers(5, 30))) for _ in range(n)]
    if name == "perplexity":
        return [float(-RNG.uniform(1, 4)) for _ in range(n)]
    return [float(RNG.uniform(0.5, 3)) for _ in range(n)]  # mean, geometric_mean


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_forms_compute_the_aggregation(name):
    form, aggregate = linear_form(name), AGGREGATIONS[name]
    items = items_for(name)
    assert form.of(form.matrix(items).sum(axis=0)) == pytest.approx(aggregate(items), rel=1e-12)
    with_missing = [*items, None, None]  # an item without a value counts for nothing
    assert form.of(form.matrix(with_missing).sum(axis=0)) == pytest.approx(aggregate(items))


def test_every_aggregation_but_unqovers_has_a_linear_form():
    assert sorted(set(AGGREGATIONS) - set(LINEAR)) == ["unqover_eta", "unqover_mu"]
