"""benchmarks/exact_coverage.py: the 0/1 intervals' coverage by enumeration. Checked against
what it was not built from: a theorem (Clopper-Pearson never covers less than 95 %), plain
simulation of independent items, and the limit of a very large population."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import beta

from compsafe.report.stats import exact

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def coverage():
    path = ROOT / "benchmarks/exact_coverage.py"
    sys.path.insert(0, str(path.parent))  # it reads stats_check's sizes and narrowing
    spec = importlib.util.spec_from_file_location("exact_coverage", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["exact_coverage"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["exact_coverage"]
    sys.path.remove(str(path.parent))


def test_clopper_pearson_never_covers_less_than_nominal(coverage):
    """The enumeration recovers a theorem: the exact (Clopper-Pearson) interval's coverage is
    at least 95 % at every share, and Wald's is far below it at a rare one."""
    n = 12
    counts = np.arange(n + 1)
    lower = np.where(counts > 0, beta.ppf(0.025, counts, n - counts + 1), 0.0)
    upper = np.where(counts < n, beta.ppf(0.975, counts + 1, n - counts), 1.0)
    shares = np.linspace(0.005, 0.995, 199)
    found = coverage.value_coverage(n, shares, np.column_stack([lower, upper]))
    assert found.min() >= 0.95 - 1e-9
    half = 1.96 * np.sqrt(counts / n * (1 - counts / n) / n)
    wald = np.column_stack([counts / n - half, counts / n + half])
    assert coverage.value_coverage(n, np.array([0.05]), wald)[0] < 0.5


def test_value_coverage_matches_a_simulation(coverage):
    """At 20 items and a share of 0.13, the share of simulated samples whose page interval
    holds the truth agrees with the enumeration within four standard errors."""
    n, share, draws = 20, 0.13, 200_000
    counts = np.random.default_rng(0).binomial(n, share, draws)
    intervals = coverage.value_intervals(n)
    simulated = np.mean((intervals[counts, 0] <= share) & (share <= intervals[counts, 1]))
    expected = coverage.value_coverage(n, np.array([share]))[0]
    assert abs(simulated - expected) < 4 * np.sqrt(expected * (1 - expected) / draws)


def test_change_coverage_matches_a_simulation(coverage):
    """Pairs drawn one by one from (both, up, down, neither) probabilities: the page's paired
    interval (computed per sample, not looked up) holds the change as often as enumerated."""
    n, truth, draws = 10, (0.1, 0.25, 0.05, 0.6), 4000
    samples = np.random.default_rng(1).multinomial(n, truth, draws)
    change = truth[1] - truth[2]
    held = [
        low <= change <= high
        for low, high in (exact.paired_interval(*(int(c) for c in s)) for s in samples)
    ]
    expected = coverage.change_coverage(n, [truth])[0]
    assert abs(np.mean(held) - expected) < 4 * np.sqrt(expected * (1 - expected) / draws)


def test_a_small_draw_from_a_huge_population_is_binomial(coverage):
    """Without replacement from a population far larger than the draw, the check's design
    (hypergeometric, narrowed by a factor close to 1) covers as the binomial does."""
    population, n = 1_000_000, 30
    ones = np.array([10_000, 130_000, 400_000])
    design = coverage.subsample_coverage(population, n, ones)
    binomial = coverage.value_coverage(n, ones / population)
    assert design == pytest.approx(binomial, abs=2e-3)


def test_the_page_interval_of_a_change_holds_0_where_mcnemar_does_not_mark():
    """Four discordant pairs all one way among 7 (the quickstart's requests): the exact test
    gives 0.125, so the interval holds 0, where Newcombe's alone excludes it."""
    assert exact.mcnemar(4, 0) == pytest.approx(0.125)
    assert exact.newcombe_paired(0, 4, 0, 3)[0] > 0
    low, high = exact.paired_interval(0, 4, 0, 3)
    assert low < 0 < high


def test_the_designs_are_the_checks_own(coverage):
    """Every task with 0/1 metrics in stats_check, at the sizes it draws: refusal at the
    quickstart's 7 requests, half of it (3) and benchmark=refusal's 100; Do-Not-Answer at
    its 100 alone."""
    found = {task: sizes for task, _, sizes in coverage.designs()}
    assert set(found) == {key for key, _ in coverage.TYPES["0/1"]}
    assert found["refusal"] == [3, 7, 100] and found["refusal_dna"] == [100]
