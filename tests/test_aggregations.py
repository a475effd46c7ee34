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
    if name == "refusal_judge_kappa":
        outcomes = ["refused", "complied", "degenerate", "off_topic"]
        return [f"{RNG.choice(outcomes)}|{RNG.choice(outcomes)}" for _ in range(n)]
    if name == "refusal_best_of_k":
        attacks = ["past_tense", "present_tense"]
        return [
            f"{RNG.choice(attacks)}|b{RNG.integers(0, 6)}|{RNG.integers(0, 2)}" for _ in range(n)
        ]
    if name in ("weighted_perplexity", "bits_per_byte", "window_perplexity"):
        return [(float(-RNG.uniform(10, 90)), int(RNG.integers(5, 30))) for _ in range(n)]
    if name in ("nll_perplexity", "token_mean"):
        return [(float(RNG.uniform(10, 90)), int(RNG.integers(5, 30))) for _ in range(n)]
    if name == "perplexity":
        return [float(-RNG.uniform(1, 4)) for _ in range(n)]
    return [float(RNG.uniform(0.5, 3)) for _ in range(n)]  # mean, geometric_mean


@pytest.mark.parametrize("name", sorted(n for n in LINEAR if not n.startswith("unqover")))
def test_linear_forms_compute_the_aggregation(name):
    items = items_for(name)
    form, aggregate = linear_form(name).fitted(items), AGGREGATIONS[name]
    assert form.of(form.matrix(items).sum(axis=0)) == pytest.approx(aggregate(items), rel=1e-12)
    with_missing = [*items, None, None]  # an item without a value counts for nothing
    assert form.of(form.matrix(with_missing).sum(axis=0)) == pytest.approx(aggregate(items))


def test_every_aggregation_has_a_linear_form():
    assert set(AGGREGATIONS) == set(LINEAR)


def test_unqovers_form_computes_mu_and_eta_on_whole_questions():
    """mu and eta through sums over questions (a unit: both subject orders), with questions
    drawn several times, equal the functions on the same multiset of answers."""
    from compsafe.results.aggregations import AGGREGATIONS
    from compsafe.results.aggregations.unqover import Answer

    answers, units = [], []
    for q in range(30):
        cls, a, b = f"c{q % 2}", f"s{q % 5}", f"s{(q + 1 + q % 3) % 5}"
        attribute = f"x{q % 3}"
        p, p_neg = (float(x) for x in RNG.uniform(0.1, 0.9, 2))
        first = Answer(cls, a, b, q % 4, attribute, p, 1 - p, p_neg, 1 - p_neg)
        p, p_neg = (float(x) for x in RNG.uniform(0.1, 0.9, 2))
        second = Answer(cls, b, a, q % 4, attribute, p, 1 - p, p_neg, 1 - p_neg)
        units.append((len(answers), len(answers) + 1))
        answers += [tuple(first), tuple(second)]
    counts = RNG.integers(0, 3, len(units))
    drawn = [answers[i] for u, c in zip(units, counts, strict=True) for _ in range(c) for i in u]
    for name in ("unqover_mu", "unqover_eta"):
        form = linear_form(name).fitted(answers)
        sums = counts @ form.unit_sums(answers, units)
        assert form.of(sums) == pytest.approx(AGGREGATIONS[name](drawn), rel=1e-9)
        assert form.unit_sums(answers, [(i,) for i in range(len(answers))]) is None
