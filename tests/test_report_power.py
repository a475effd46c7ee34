"""The power a page states for a permutation-tested change on few units: simulated on the
sample's own differences, so a skewed, one-signed change (a collapsed model) is not
under-stated, and checked here against the permutation test itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from compsafe.report.stats import exact, signflip
from compsafe.report.stats.power import McNemarBasis, PermutationBasis

SHAPES = Path(__file__).resolve().parents[1] / "benchmarks" / "power_shapes.py"
_spec = importlib.util.spec_from_file_location("power_shapes", SHAPES)
power_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(power_shapes)


def _test(differences: np.ndarray, seed: int = 0):
    """A paired permutation test of `differences` against zeros (the benchmark's own)."""
    return power_shapes.permutation_test(np.asarray(differences), seed)


def test_the_saddlepoint_p_value_follows_the_exhaustive_sign_flip_distribution():
    """On 14 skewed differences, each sign pattern's saddlepoint p-value is within 35 % of the
    share of all 2^14 patterns at least as extreme, for p from 0.002 to 0.2; the most extreme
    pattern gets the exact floor 2^(1 - n)."""
    rng = np.random.default_rng(5)
    n = 14
    size = rng.standard_exponential(n) ** 2
    patterns = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
    sums = np.abs(patterns @ size)
    rows = patterns * size
    approximated = signflip.signflip_p_values(rows)
    exhaustive = np.array([np.mean(sums >= s - 1e-12) for s in sums])
    middle = (exhaustive >= 0.002) & (exhaustive <= 0.2)
    assert middle.sum() > 500
    ratio = approximated[middle] / exhaustive[middle]
    assert np.all(np.abs(np.log(ratio)) < np.log(1.35))
    assert signflip.signflip_p_values(size[None])[0] == pytest.approx(2.0 ** (1 - n))
    assert signflip.signflip_p_values(np.zeros((1, 5)))[0] == 1.0  # nothing differs


def test_power_stated_for_a_collapse_holds_on_the_test_itself():
    """A change like a collapsed model's: dense's toxicity is mostly near 0 with a long tail,
    the compressed model's a constant 0.02, so each prompt's change is tiny either way or
    large and down. On 30 prompts the permutation test itself marks the population's change
    in 0.86 of 300 fresh samples; the power the page states, averaged over 100 samples, is
    within 0.08 of that (a sample of 30 holds less of the tail than the population), where
    the t approximation's is more than 0.12 under it."""
    rng = np.random.default_rng(11)
    population = 0.02 + 0.01 * rng.standard_normal(20_000) - rng.beta(0.3, 4, 20_000)
    change, n, alpha = float(population.mean()), 30, 0.05
    marks = []
    for draw in range(300):
        test = _test(rng.choice(population, n), seed=draw)
        test.run(2000)
        marks.append(test.p_value <= alpha)
    stated, approximated = [], []
    for _ in range(100):
        sample = rng.choice(population, n)
        basis = PermutationBasis(_test(sample), float(np.std(sample) / np.sqrt(n)), -1.0)
        stated.append(basis.power(change, alpha))
        usual = exact.usual_standard_error(basis.spread, n)
        approximated.append(exact.permutation_power(abs(change) / usual, n, alpha))
    measured = float(np.mean(marks))
    assert abs(np.mean(stated) - measured) < 0.08  # 0.79 against 0.86
    assert np.mean(approximated) < measured - 0.12  # 0.69


def test_power_and_detectable_change_are_one_rule():
    """The power the basis states at its own detectable change is 80 % (simulated on few
    units, the t approximation on many), and a larger change has more."""
    rng = np.random.default_rng(2)
    for n in (40, 120):
        sample = rng.normal(0.2, 1.0, n)
        basis = PermutationBasis(_test(sample), float(np.std(sample) / np.sqrt(n)), 1.0)
        stated = basis.detectable(0.01, 0.8)
        assert basis.power(stated, 0.01) == pytest.approx(0.8, abs=0.01)
        assert basis.power(2 * stated, 0.01) > 0.95


def test_too_few_units_for_the_level_state_no_detectable_change():
    """20 units cannot reach p = 1e-7 (the floor is 2^-19): nothing is stated."""
    assert signflip.simulated_detectable(np.linspace(-1, 1, 20), 1.0, 1e-7, 0.8) is None


def test_a_one_way_01_change_is_stated_the_one_sided_binomials_power():
    """A config that never complies: every discordant pair goes one way. The power stated at
    the change is the exact test's with nothing moving back (the rule held the discordance
    fixed and assumed flips back, under-stating it: 0.75 stated, 0.84 measured on 17 real
    requests); a simulation of that change agrees."""
    change, pairs = 0.35, 20
    basis = McNemarBasis(pairs, None, 0.0)  # a draw that saw 9 of 20 go one way, none back
    stated = basis.power(change, 0.05)
    assert stated == pytest.approx(exact.mcnemar_power(pairs, change, 0.0, 0.05))
    rng = np.random.default_rng(4)
    moved = rng.random((20_000, pairs)) < change
    simulated = np.mean([exact.mcnemar(0, int(k)) <= 0.05 for k in moved.sum(axis=1)])
    assert simulated == pytest.approx(stated, abs=0.01)
    with_flips_back = exact.mcnemar_power(pairs, (0.45 + change) / 2, (0.45 - change) / 2, 0.05)
    assert with_flips_back < stated - 0.05
