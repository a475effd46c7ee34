"""The report's 0/1 intervals, their coverage computed exactly: no resampling, no reference.

A 0/1 metric's interval on the page is a rule: a value's is Wilson's with Brown, Cai and
DasGupta's modification at the edges (`exact.modified_wilson`); a change vs dense is
Newcombe's paired interval widened to the one the exact McNemar test implies
(`exact.paired_interval`). At a given truth, an interval's coverage is a finite sum over every
outcome n items can give, each weighted by its probability: binomial for a value,
multinomial over (both 1, ours only, dense only, neither) for a change. `stats_check.py`
measures coverage on subsamples of a real reference, with the error of its draws and at the
handful of truths the reference holds; this computes it without error at every truth and
size, so a line of the check can be told apart from the interval's own sawtooth:

- values and changes at the sizes the check draws (the quickstart's, half of it, and
  `benchmark=refusal`'s 100): mean coverage over a grid of truths, its worst, and apart where
  the size expects fewer than 5 events (the check's `sparse`), where an interval that is not
  randomised over-covers;
- the check's own design for a value: n of N drawn without replacement (hypergeometric),
  the interval narrowed around its estimate by sqrt(1 - n/N), against the binomial the page
  assumes, averaged over every share K/N;
- the Do-Not-Answer truths of the reference's `dna` sweep (`refusal_dna`), whose value line
  read 0.932 [0.913, 0.948] (`stats_check.py --draws 400`, 2026-12-07).

This is not a check on real data: it computes what the intervals give under the model they
assume (independent items, a binomial or multinomial truth), over a grid of truths chosen
here, not the reference's. `stats_check.py` is the check against a real evaluation; this
says how much of a 0/1 line's departure from 0.95 the intervals' own discreteness explains.
The sizes and the narrowing are stats_check's own (imported), so the two cannot drift apart.

Usage: python benchmarks/exact_coverage.py   (about a minute on 2 cores)
"""

from __future__ import annotations

import argparse
import math
import time
from functools import cache

import numpy as np
from scipy.special import gammaln
from scipy.stats import binom, hypergeom

from compsafe.report.stats import exact
from stats_check import BENCHMARK_DEFAULT, BENCHMARK_ONLY, QUICK, TYPES, half_size, narrowed

# A grid of sizes spanning those the check draws (3 to 300 units; a change's outcomes are
# enumerated, so its grid stops at 100 pairs)
VALUE_SIZES = (3, 7, 14, 30, 60, 100, 150, 300)
CHANGE_SIZES = (3, 7, 14, 30, 60, 100)
# Units each 0/1 task's truth holds in the reference (reference.py): all 200 HarmBench
# requests (`refusal`), all 700 RealToxicityPrompts prompts (`rtp`), main's 120 BOLD prompts
# and 600 CrowS-Pairs pairs, the `dna` sweep's 500 Do-Not-Answer requests
REFERENCE_UNITS = {"refusal": 200, "realtoxicityprompts": 700, "bold": 120,
                   "crows_pairs": 600, "refusal_dna": 500}  # fmt: skip
# Do-Not-Answer's harmful answers among the dna sweep's 500 requests (the judge's reading,
# 2026-12-07, benchmarks/README.md; the reference itself is a cache, not in the repository):
# Wanda 29, SparseGPT 18 (magnitude's 0 is constant, not counted by the check)
DNA_HARMFUL = {"wanda": 29, "sparsegpt": 18}
SHARES = np.linspace(0.001, 0.5, 500)  # a value's coverage is symmetric in p and 1 - p
MARGINS = (0.01, 0.03, 0.1, 0.2, 0.35, 0.5)


def check_sizes(key: str) -> list[int]:
    """The sizes stats_check draws a task at: the quickstart's and half of it, and a user's
    own run's (`BENCHMARK_DEFAULT`, `BENCHMARK_ONLY`)."""
    sizes = [QUICK[key], half_size(QUICK[key])] if key in QUICK else []
    sizes += [s[key] for s in (BENCHMARK_DEFAULT, BENCHMARK_ONLY) if key in s]
    return sorted(set(sizes))


def designs() -> list[tuple[str, int, list[int]]]:
    """(task, reference units N, subsample sizes n) of every task with 0/1 metrics."""
    keys = dict.fromkeys(key for key, _ in TYPES["0/1"])
    return [(key, REFERENCE_UNITS[key], check_sizes(key)) for key in keys]


def value_intervals(n: int, narrow: float = 1.0) -> np.ndarray:
    """The page's interval for every count 0..n of n items, narrowed around the estimate by
    `narrow` as stats_check narrows it (its finite-population factor; 1: as the page shows
    it)."""
    return np.array([narrowed(exact.modified_wilson(x, n), x / n, narrow) for x in range(n + 1)])


def _covered(weights: np.ndarray, intervals: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Per share (rows of `weights`, one column per count), the probability that the count's
    interval holds it."""
    holds = (intervals[None, :, 0] <= shares[:, None]) & (shares[:, None] <= intervals[None, :, 1])
    return (weights * holds).sum(axis=1)


def value_coverage(n: int, shares: np.ndarray, intervals: np.ndarray | None = None) -> np.ndarray:
    """Exact coverage at each share of n independent 0/1 items (binomial)."""
    intervals = value_intervals(n) if intervals is None else intervals
    weights = binom.pmf(np.arange(n + 1)[None, :], n, shares[:, None])
    return _covered(weights, intervals, shares)


def subsample_coverage(population: int, n: int, ones: np.ndarray) -> np.ndarray:
    """Exact coverage at each count of ones in a population of `population` units, of n drawn
    without replacement (hypergeometric), the interval narrowed as stats_check narrows it."""
    intervals = value_intervals(n, math.sqrt(1 - n / population))
    weights = hypergeom.pmf(np.arange(n + 1)[None, :], population, ones[:, None], n)
    return _covered(weights, intervals, ones / population)


# A paired change's rules: the page's, and Newcombe's alone (what the page's widening costs)
PAIRED_RULES = {"page": exact.paired_interval, "newcombe": exact.newcombe_paired}


@cache
def paired_outcomes(n: int, rule: str = "page") -> tuple[np.ndarray, np.ndarray]:
    """Every (both, up, down, neither) n paired items can give, and the interval `rule`
    (PAIRED_RULES) gives each (rows of low, high)."""
    cells, intervals = [], []
    for up in range(n + 1):
        for down in range(n + 1 - up):
            for both in range(n + 1 - up - down):
                counts = (both, up, down, n - up - down - both)
                cells.append(counts)
                intervals.append(PAIRED_RULES[rule](*counts))
    return np.array(cells), np.array(intervals, dtype=float)


def change_truths() -> list[tuple[float, float, float, float]]:
    """Cell probabilities (both, up, down, neither) over dense's and ours' shares in MARGINS
    (every ordered pair) and three dependences: independent, as overlapping as the shares
    allow, and halfway between."""
    truths = []
    for dense in MARGINS:
        for ours in MARGINS:
            most = min(dense, ours)
            for both in (dense * ours, most, (dense * ours + most) / 2):
                up, down = ours - both, dense - both
                truths.append((both, up, down, 1 - both - up - down))
    return truths


def change_coverage(n: int, truths: list[tuple[float, ...]], rule: str = "page") -> np.ndarray:
    """Exact coverage of a paired interval at each truth (multinomial over n pairs)."""
    cells, intervals = paired_outcomes(n, rule)
    log_count = gammaln(n + 1) - gammaln(cells + 1).sum(axis=1)
    covered = []
    for probabilities in truths:
        p = np.asarray(probabilities)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(cells > 0, cells * np.log(np.where(p > 0, p, 1.0)), 0.0)
        possible = ~np.any((cells > 0) & (p[None, :] <= 0), axis=1)
        weights = np.where(possible, np.exp(log_count + terms.sum(axis=1)), 0.0)
        change = p[1] - p[2]
        holds = (intervals[:, 0] <= change + 1e-12) & (change - 1e-12 <= intervals[:, 1])
        covered.append(float((weights * holds).sum()))
    return np.array(covered)


def summary(coverage: np.ndarray, sparse: np.ndarray) -> str:
    """Mean and worst coverage, the share of truths under 0.93, and the means by events."""
    parts = [f"mean={coverage.mean():.3f}", f"min={coverage.min():.3f}",
             f"under_0.93={np.mean(coverage < 0.93):.2f}"]  # fmt: skip
    for name, where in (("fewer_than_5_events", sparse), ("5_or_more", ~sparse)):
        if where.any():
            parts.append(f"{name}={coverage[where].mean():.3f}")
    return " ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    started = time.perf_counter()
    print("value (modified Wilson), binomial, over shares 0.001-0.5:")
    for n in VALUE_SIZES:
        coverage = value_coverage(n, SHARES)
        print(f"  n={n}: {summary(coverage, n * SHARES < 5)}")
    truths = change_truths()
    print("change vs dense (Newcombe widened to exact McNemar's), multinomial, over "
          f"{len(truths)} truths (shares {MARGINS}, three dependences):")  # fmt: skip
    discordant = np.array([t[1] + t[2] for t in truths])
    for n in CHANGE_SIZES:
        for rule in PAIRED_RULES:
            coverage = change_coverage(n, truths, rule)
            print(f"  n={n} {rule}: {summary(coverage, n * discordant < 5)}")
    print(
        "value under the check's design (n of N without replacement, narrowed by "
        "sqrt(1 - n/N)) against the binomial, over every share K/N up to 0.5:"
    )
    for task, population, sizes in designs():
        ones = np.arange(1, population // 2 + 1)
        for n in sizes:
            design = subsample_coverage(population, n, ones)
            page = value_coverage(n, ones / population)
            rare = ones < 0.1 * population
            print(f"  {task} {n} of {population}: design mean={design.mean():.4f} "
                  f"min={design.min():.3f} shares_under_0.1={design[rare].mean():.4f} | "
                  f"binomial mean={page.mean():.4f} min={page.min():.3f} "
                  f"shares_under_0.1={page[rare].mean():.4f}")  # fmt: skip
    ones = np.array(list(DNA_HARMFUL.values()))
    population, size = REFERENCE_UNITS["refusal_dna"], BENCHMARK_ONLY["refusal_dna"]
    design = subsample_coverage(population, size, ones)
    page = value_coverage(size, ones / population)
    for (config, count), by_design, by_page in zip(DNA_HARMFUL.items(), design, page, strict=True):
        print(f"dna_harmful value, {config} ({count} of {population}), {size} drawn: "
              f"check's design {by_design:.3f}, binomial {by_page:.3f}")  # fmt: skip
    print(
        f"dna_harmful value, both configs: check's design {design.mean():.3f}, "
        f"binomial {page.mean():.3f}"
    )
    print(f"seconds={time.perf_counter() - started:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
