"""The power a page states for a permutation-tested change on few units, on shapes with a
known truth: where each rule holds and where both over-state.

For each synthetic population of unit differences (a collapse: dense's toxicity mostly near 0
with a long tail, the compressed model's constant; and heavy tails with more or less of the
bulk on the other side of 0) and each number of units n, it prints the permutation test's own
rejection rate at the population's mean change over fresh samples (`measured`, the truth),
beside the power the page states at that change, averaged over other samples: simulated on
each sample's differences (`simulated`, the rule up to 60 units) and the t approximation
(`t`, the rule above). The real-data check is `stats_check.py`; this one shows the shapes it
does not hold.

Usage: python benchmarks/power_shapes.py [--draws 300] (11 s on 2 cores)
"""

from __future__ import annotations

import argparse

import numpy as np

from compsafe.report.stats import exact
from compsafe.report.stats.bootstrap import Sample, singles
from compsafe.report.stats.permutation import PermutationTest
from compsafe.report.stats.power import PermutationBasis
from compsafe.results.aggregations import linear_form
from compsafe.results.aggregations.common import mean


def shapes(rng: np.random.Generator) -> dict[str, np.ndarray]:
    size = 20_000
    tail = rng.standard_exponential(size)
    return {
        "collapse (0.02 - dense toxicity)": (
            0.02 + 0.01 * rng.standard_normal(size) - rng.beta(0.3, 4, size)
        ),
        "one-signed heavy tail": -(tail**1.5),
        "heavy tail, half the bulk against": 0.5 - tail**1.5,
        "heavy tail, 60 % of the bulk against": 0.8 - tail**1.5,
        "normal (mean 2.9 / sqrt(n))": rng.standard_normal(size),
    }


def permutation_test(differences: np.ndarray, seed: int) -> PermutationTest:
    n, form = len(differences), linear_form("mean")
    return PermutationTest(
        Sample(list(differences), singles(n), mean, form),
        Sample([0.0] * n, singles(n), mean, form),
        log=False,
        bootstrap_seed=seed,
    )


def compare(population: np.ndarray, n: int, draws: int, rng) -> tuple[float, float, float]:
    change, alpha = float(population.mean()), 0.05
    marks = []
    for draw in range(draws):
        test = permutation_test(rng.choice(population, n), draw)
        test.run(2000)
        marks.append(test.p_value <= alpha)
    simulated, approximated = [], []
    for draw in range(draws // 3):
        sample = rng.choice(population, n)
        spread = float(np.std(sample) / np.sqrt(n))
        basis = PermutationBasis(permutation_test(sample, draw), spread, np.sign(change))
        simulated.append(basis.power(change, alpha))
        usual = exact.usual_standard_error(spread, n)
        approximated.append(exact.permutation_power(abs(change) / usual, n, alpha))
    return float(np.mean(marks)), float(np.mean(simulated)), float(np.mean(approximated))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=300, help="fresh samples per line")
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    print("shape | units | measured | simulated | t")
    for name, population in shapes(rng).items():
        scale = float(np.std(population))
        for n in (20, 30, 45):
            shifted = population + (2.9 * scale / np.sqrt(n) if name.startswith("normal") else 0)
            measured, simulated, approximated = compare(shifted / scale, n, args.draws, rng)
            print(f"{name} | {n} | {measured:.3f} | {simulated:.3f} | {approximated:.3f}")


if __name__ == "__main__":
    main()
