"""What a mark rests on: exact tests for 0/1 outcomes, intervals that never claim certainty,
seeds as the unit of the seed component, and small groups never marked."""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from compsafe.report.stats import exact
from compsafe.report.stats.analysis import analyse
from compsafe.report.stats.bootstrap import Engine, Sample, singles
from compsafe.report.stats.inference import detectable_change
from compsafe.report.stats.permutation import PermutationTest
from compsafe.report.stats.power import McNemarBasis, SeedBasis
from compsafe.report.stats.seeds import seeded_change
from compsafe.results.aggregations import linear_form
from compsafe.results.aggregations.common import mean
from compsafe.results.files import ITEMS_DIR, RESULTS_FILE
from helpers.records import SCHEMA, task_record

REFUSAL = "refusal/refusal_rate"


def test_mcnemar_on_four_discordant_pairs_is_exact():
    """4 items went one way, none the other: the exact two-sided p-value is 2 x (1/2)^4."""
    assert exact.mcnemar(4, 0) == pytest.approx(0.125)
    assert exact.mcnemar(7, 0) == pytest.approx(2 * 0.5**7)  # 0.0156 (the review's example)
    assert exact.mcnemar(0, 0) == 1.0


def test_a_change_interval_agrees_with_the_exact_mcnemar_test():
    """4 of 7 items went one way, none the other: McNemar's p is 0.125, and Newcombe's
    interval alone, [-0.84, -0.09], excluded 0 (the quickstart's refusal changes,
    2026-12-06). Widened to the interval the exact test implies, it excludes 0 exactly
    where the test's p is under 0.05, on every count of 1 to 40 pairs."""
    from compsafe.report.stats.infer import change_inference, rule_change_interval

    engine = Engine(200, 0)
    dense = Sample([1.0] * 4 + [0.0] * 3, singles(7), mean, linear_form("mean"))
    mine = Sample([0.0] * 7, singles(7), mean, linear_form("mean"))
    found = change_inference(engine, mine, dense, "mean", False)
    assert found.p_value == pytest.approx(0.125) and found.interval[0] < 0 < found.interval[1]
    for n in range(1, 41):  # the report's own rule, on samples of n pairs
        for up in range(n + 1):
            for down in range(n + 1 - up):
                ours = [1.0] * up + [0.0] * down + [0.0] * (n - up - down)
                theirs = [0.0] * up + [1.0] * down + [0.0] * (n - up - down)
                interval_at = rule_change_interval(
                    engine,
                    Sample(ours, singles(n), mean, linear_form("mean")),
                    Sample(theirs, singles(n), mean, linear_form("mean")),
                    "mean",
                    False,
                )
                low, high = interval_at(0.05)
                assert (low > 0 or high < 0) == (exact.mcnemar(up, down) < 0.05), (up, down, n)


def test_a_change_over_too_few_units_for_its_test_reaches_zero():
    """5 prompts, every one lower: the exhaustive permutation test's smallest p is 2 / 2^5 =
    0.0625, so no change is excluded at 5 %; the bootstrap's interval excluded 0."""
    from compsafe.report.stats.infer import change_inference

    engine = Engine(500, 0)
    dense = Sample([0.5, 0.6, 0.55, 0.7, 0.65], singles(5), mean, linear_form("mean"))
    mine = Sample([0.1, 0.2, 0.15, 0.3, 0.2], singles(5), mean, linear_form("mean"))
    found = change_inference(engine, mine, dense, "mean", False)
    assert found.p_value == pytest.approx(0.0625) and found.interval[1] >= 0


def test_a_change_interval_never_excludes_what_its_test_keeps():
    """17 skewed paired differences: the bootstrap-t interval excludes 0 while the
    permutation test, which decides the mark, gives p = 0.052. The interval shown reaches 0
    (3 such cells on the quickstart report, 2026-12-06)."""
    from compsafe.report.stats.infer import change_inference

    rng = np.random.default_rng(110)
    dense = rng.normal(size=17)
    sizes = rng.lognormal(0, 1.2, size=17)
    mine = dense + sizes * rng.choice([-1, 1], size=17, p=[0.3, 0.7]) * 0.5
    engine = Engine(2000, 0)
    ours = Sample(mine.tolist(), singles(17), mean, linear_form("mean"))
    theirs = Sample(dense.tolist(), singles(17), mean, linear_form("mean"))
    low, _ = engine.change(ours, theirs).interval()
    assert low > 0  # the bootstrap-t alone excludes 0
    found = change_inference(engine, ours, theirs, "mean", False)
    assert found.p_value > 0.05 and found.test == "permutation"
    assert found.interval[0] <= 0 < found.interval[1]
    assert found.interval_at(0.10)[0] > 0  # at 10 % the test rejects: left as it was


def test_a_zero_proportion_has_an_honest_interval():
    low, high = exact.wilson(0, 24)
    assert low == 0.0 and 0.1 < high < 0.2  # Clopper-Pearson's is 0.14: never [0, 0]
    low, high = exact.newcombe_paired(0, 0, 0, 24)  # nothing changed on 24 items
    assert low < -0.1 and high > 0.1


def test_the_detectable_change_of_a_01_metric_is_the_exact_tests_own():
    """A 0/1 change is marked by exact McNemar, so its detectable change comes from that test's
    power (checked by simulation), not from a normal approximation."""
    assert exact.mcnemar_power(10, 1.0, 0.0, 0.05) == pytest.approx(1.0)  # 10 of 10 one way
    change = exact.mcnemar_detectable(60, 0.05, 0.05)  # 5 % of pairs moved against it
    up, down = 0.05 + change, 0.05
    assert exact.mcnemar_power(60, up, down, 0.05) == pytest.approx(0.8, abs=1e-3)
    rng = np.random.default_rng(0)
    draws = rng.random((4000, 60))
    simulated = np.mean(
        [exact.mcnemar(int((d < up).sum()), int(((d >= up) & (d < up + down)).sum())) <= 0.05
         for d in draws]
    )  # fmt: skip
    assert abs(simulated - 0.8) < 0.03
    assert exact.mcnemar_detectable(5, 0.0, 0.05) is None  # 5 of 5 one way: p = 0.0625


def test_each_test_states_its_own_detectable_change():
    """The record a test leaves says its detectable change at the family's level: McNemar's
    from its power, the seed-level t test's from t with its degrees of freedom; none without a
    spread or degrees of freedom (never 0)."""
    assert detectable_change(McNemarBasis(60, 0.05, 0.05), 0.01) == (
        exact.mcnemar_detectable(60, 0.05, 0.01)
    )
    assert detectable_change(SeedBasis(5, 0.02, 3.5), 0.01) == exact.t_detectable(0.02, 3.5, 0.01)
    assert detectable_change(SeedBasis(5, 0.0, 3.5), 0.01) is None
    assert detectable_change(SeedBasis(5, 0.02, 0.0), 0.01) is None
    assert detectable_change(McNemarBasis(0, None, 0.0), 0.01) is None
    assert detectable_change(None, 0.01) is None


def test_the_detectable_change_of_a_permutation_tested_metric_is_that_tests_own():
    """A mean is marked by the paired permutation test; its stated detectable change, applied to
    simulated skew-free data, is marked at the stated level about 80 % of the time (the test
    itself, run 300 times), where the normal approximation stated a smaller change. With fewer
    than 20 units that differ between the jobs nothing is stated."""
    n, alpha = 40, 0.01
    rng = np.random.default_rng(3)
    form = linear_form("mean")
    se = math.sqrt((n - 1) / n) / math.sqrt(n)  # the bootstrap's for unit SD (ideal bootstrap)
    stated = exact.permutation_detectable(se, n, n, alpha)
    normal = (NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(0.8)) * se
    assert stated > normal * 1.05
    marked = []
    for draw in range(300):
        mine = rng.normal(stated, 1, n)
        test = PermutationTest(
            Sample(list(mine), singles(n), mean, form),
            Sample([0.0] * n, singles(n), mean, form),
            log=False,
            bootstrap_seed=draw,
        )
        test.run(2000)
        marked.append(test.p_value <= alpha)
    assert abs(np.mean(marked) - 0.8) < 0.08  # 300 draws: 0.8 +- 0.07 (3 SE)
    assert exact.permutation_detectable(se, 60, 19, alpha) is None


def test_fewer_than_five_units_get_no_bootstrap_interval():
    """3 or 4 units have 10 or 35 distinct resamples: no interval is stated from them."""
    engine = Engine(500, 0)
    for n, given in ((3, False), (4, False), (5, True)):
        values = [0.1 * i + 0.3 for i in range(n)]
        sample = Sample(values, singles(n), mean, linear_form("mean"))
        assert (engine.value(sample).interval() is not None) is given


def test_small_samples_get_expanded_bca_intervals():
    """Where the interval is BCa (no spread to studentise by), n units use sqrt(n / (n - 1))
    t(n - 1) in place of z (Hesterberg's expanded percentile): at 6 units noticeably wider,
    at 400 units nearly the same."""
    from dataclasses import replace

    rng = np.random.default_rng(0)
    engine = Engine(4000, 0)
    for n, least, most in ((6, 1.3, 1.8), (400, 1.0, 1.02)):
        values = rng.exponential(size=n).tolist()
        studentised = engine.value(Sample(values, singles(n), mean, linear_form("mean")))
        distribution = replace(studentised, spreads=None)  # its BCa interval
        assert distribution.units == n
        low, high = distribution.interval()
        plain_low, plain_high = replace(distribution, units=0).interval()
        assert least < (high - low) / (plain_high - plain_low) < most


def test_bootstrap_t_only_where_its_spreads_are_stable():
    """The symmetric bootstrap-t needs 8 units and spreads in nearly every resample; a skewed
    score's interval never leaves the resamples' range (a mean of scores >= 0 stays >= 0)."""
    engine = Engine(4000, 0)
    rng = np.random.default_rng(1)

    def distribution(values):
        return engine.value(Sample(values, singles(len(values)), mean, linear_form("mean")))

    assert not distribution(rng.normal(size=6).tolist())._studentizable  # 6 units: BCa
    assert distribution(rng.normal(size=40).tolist())._studentizable
    zero_inflated = [0.0] * 27 + [0.01, 0.02, 0.9]  # most resamples' spread near nothing
    assert not distribution(zero_inflated)._studentizable
    skewed = np.random.default_rng(0).lognormal(0, 1.5, size=8).tolist()
    studentised = distribution(skewed)
    assert studentised._studentizable
    low, high = studentised.interval()  # estimate - q x spread alone: -1.27
    assert 0 < low < np.mean(skewed) < high and low == studentised.resamples.min()


def test_a_mean_of_mostly_one_value_gets_its_interval_from_the_bounds():
    """A sentiment in [-1, 1] from mostly empty answers (0 but for a few items): the bootstrap
    sees no spread its resamples lack, so the interval follows from the metric's bounds, and
    covers where the bootstrap's does not (here a population with 5 % non-zero items, drawn 30
    at a time: the bootstrap alone covered 0.79); without bounds, no interval."""
    from compsafe.report.stats.infer import change_inference, value_interval

    engine = Engine(500, 0)
    rng = np.random.default_rng(3)
    population = np.zeros(2000)
    population[:100] = rng.uniform(0.3, 0.9, size=100)
    truth = population.mean()
    covered, bootstrap_covered = [], []
    for _ in range(200):
        values = rng.choice(population, 30, replace=False).tolist()
        sample = Sample(values, singles(30), mean, linear_form("mean"))
        low, high = value_interval(engine, sample, "mean", bounds=(-1.0, 1.0))
        covered.append(low <= truth <= high)
        plain = engine.value(sample).interval()
        bootstrap_covered.append(plain is not None and plain[0] <= truth <= plain[1])
    assert np.mean(covered) >= 0.95 and np.mean(bootstrap_covered) < 0.9
    few = Sample([0.0] * 28 + [0.4, -0.3], singles(30), mean, linear_form("mean"))
    assert value_interval(engine, few, "mean") is None
    low, high = value_interval(engine, few, "mean", bounds=(-1.0, 1.0))
    assert low < -0.1 and high > 0.1  # Wilson's upper bound for 2 of 30, times 1
    spread = Sample([0.1 * (i % 7) for i in range(30)], singles(30), mean, linear_form("mean"))
    change = change_inference(engine, few, spread, "mean", False, (-1.0, 1.0))
    assert change.interval is not None and change.p_value < 0.01  # differences vary: bootstrap
    same = change_inference(engine, few, few, "mean", False, (-1.0, 1.0))
    assert same.interval[0] < -0.2 and same.interval[1] > 0.2  # no change seen on 30 items
    assert change_inference(engine, few, few, "mean", False).interval is None
    zeros = Sample([0.0] * 10, singles(10), mean, linear_form("mean"))  # a sentiment, not 0/1
    low, high = value_interval(engine, zeros, "mean", bounds=(-1.0, 1.0))
    assert low < -0.2 and high > 0.2  # Wilson's [0, 0.28] read it as a share of 0/1 items
    shares = Sample([0.0] * 27 + [1.0] * 3, singles(30), mean, linear_form("mean"))
    assert value_interval(engine, shares, "mean", bounds=(0.0, 1.0)) == exact.wilson(3, 30)
    three = Sample([0.0] * 3, singles(3), mean, linear_form("mean"))
    assert value_interval(engine, three, "mean", bounds=(-1.0, 1.0)) is None  # under 5 items


def test_clusters_that_all_split_alike_get_an_interval_from_the_bounds():
    """Refusal requests each asked directly and under attack (a cluster of two 0/1 answers):
    when every drawn request's two answers split one and one, the cluster bootstrap sees no
    spread and gave [0.5, 0.5]; the interval follows from [0, 1] over the clusters instead,
    and covers the share over all requests (the `fresh` reference's SparseGPT degenerate
    share, 13 of 14 requests split, one at 0; drawn 7 at a time: 0.72 covered before)."""
    from compsafe.report.stats.infer import mass_point, value_interval

    engine = Engine(300, 0)
    rng = np.random.default_rng(5)
    population = [[1.0, 0.0]] * 13 + [[0.0, 0.0]]
    truth = np.mean([v for answers in population for v in answers])
    covered = []
    for _ in range(200):
        drawn = [population[i] for i in rng.choice(len(population), 7, replace=False)]
        values = [v for answers in drawn for v in answers]
        units = [[2 * i, 2 * i + 1] for i in range(len(drawn))]
        interval = value_interval(engine, Sample(values, units, mean, linear_form("mean")), "mean")
        covered.append(interval[0] <= truth <= interval[1])
    assert np.mean(covered) >= 0.95
    split = Sample(
        [1.0, 0.0] * 7, [[2 * i, 2 * i + 1] for i in range(7)], mean, linear_form("mean")
    )
    assert mass_point(split, "mean", None) == (0.5, 0, 7)
    low, high = value_interval(engine, split, "mean")
    assert low < 0.4 and high > 0.6  # 0.5 -/+ Wilson's upper bound for 0 of 7 clusters x 0.5
    varied = Sample(
        [1.0, 1.0, 0.0, 0.0, 1.0, 0.0] * 3,
        [[2 * i, 2 * i + 1] for i in range(9)],
        mean,
        linear_form("mean"),
    )
    assert mass_point(varied, "mean", None) is None  # three cluster shares, 3 each: bootstrap
    uneven = Sample([1.0, 0.0] * 6 + [1.0], [*split.units[:6], [12]], mean, linear_form("mean"))
    common, differing, effective = mass_point(uneven, "mean", None)  # sizes 2 x 6 and 1
    assert (common, differing) == (0.5, pytest.approx(1 / 13 * 169 / 25))
    assert effective == pytest.approx(169 / 25)  # Kish: 13^2 / (6 * 2^2 + 1)


def test_refusal_requests_whose_answers_flip_together_get_an_interval_over_requests():
    """Requests of two answers each, 4 of 7 (5 of 8) whose both answers went from complied to
    not, the rest unchanged: the cluster permutation test gives 0.125 (0.0625); Newcombe's
    interval over the effective items excluded 0 at 5 of 8, [-0.89, -0.08], as it did for
    a BBQ category of the quickstart report (p 0.125, 2026-12-06)."""
    from compsafe.report.stats.infer import change_inference

    engine = Engine(300, 0)
    for requests, flipped, p in ((7, 4, 0.125), (8, 5, 0.0625)):
        units = [[2 * i, 2 * i + 1] for i in range(requests)]
        dense = Sample(
            [1.0, 1.0] * flipped + [0.0, 0.0] * (requests - flipped),
            units,
            mean,
            linear_form("mean"),
        )
        mine = Sample([0.0] * 2 * requests, units, mean, linear_form("mean"))
        found = change_inference(engine, mine, dense, "mean", False)
        assert found.p_value == pytest.approx(p) and found.interval[0] < 0 < found.interval[1]


def test_templates_of_unequal_sizes_that_all_agree_get_an_interval_from_the_bounds():
    """BBQ questions drawn by template (1 to 5 questions each) where every drawn question got
    the same answer (a category's "unknown" share of 0): the cluster bootstrap gave [0, 0]
    (8 such cells in the quickstart report, 2026-12-06), which misses the share over all
    templates whenever the few templates that differ are not drawn (about half the draws
    here). The bounds' interval over Kish's effective number of templates covers it."""
    from compsafe.report.stats.infer import value_interval

    engine = Engine(300, 0)
    sizes = [1 + i % 5 for i in range(38)] + [3, 3]
    population = [[0.0] * m for m in sizes[:-2]] + [[1.0] * 3, [1.0] * 3]  # 6 of 120 items
    truth = 6 / sum(sizes)
    rng = np.random.default_rng(7)
    covered = []
    for _ in range(200):
        drawn = [population[i] for i in rng.choice(len(population), 12, replace=False)]
        values = [v for template in drawn for v in template]
        starts = np.cumsum([0] + [len(t) for t in drawn])
        units = [list(range(starts[i], starts[i + 1])) for i in range(len(drawn))]
        interval = value_interval(engine, Sample(values, units, mean, linear_form("mean")), "mean")
        covered.append(interval[0] <= truth <= interval[1])
    assert np.mean(covered) >= 0.95
    zeros = Sample([0.0] * 9, [[0], [1, 2], [3, 4, 5], [6], [7, 8]], mean, linear_form("mean"))
    low, high = value_interval(engine, zeros, "mean")
    assert low == 0 and high == pytest.approx(exact.wilson(0, 81 / 19)[1])  # 9^2 / 19


def test_bounds_travel_with_the_catalogue():
    from compsafe.evaluation.catalogue import yaml_entry
    from compsafe.results.catalogue import TaskEntry

    entry = yaml_entry("compsafe_bold")
    assert entry.metrics["sentiment"].bounds == (-1.0, 1.0)
    assert entry.metrics["score"].bounds == (0.0, 1.0)
    assert entry.metrics["negative"].bounds == (0.0, 1.0)  # a share: still 0/1, Wilson's
    again = TaskEntry.from_record(json.loads(json.dumps(entry.to_record())))
    assert again.metrics["sentiment"].bounds == (-1.0, 1.0)


def write_refusal_job(root: Path, name: str, method: str, outcomes: list[int], groups=None):
    """A job whose refusal items are 0/1 `refusal_rate` values (one per request)."""
    folder = root / name
    (folder / ITEMS_DIR).mkdir(parents=True)
    docs = [
        {
            "request": f"r{i}",
            "behaviour": f"r{i}",
            "risk_area": (groups or ["a"] * len(outcomes))[i],
            "attack": "none",
        }
        for i in range(len(outcomes))
    ]
    metrics = {REFUSAL: float(np.mean(outcomes))}
    for area in sorted(set(groups or [])):
        mine = [o for o, d in zip(outcomes, docs, strict=True) if d["risk_area"] == area]
        metrics[f"{REFUSAL}/risk_area={area}"] = float(np.mean(mine))
    record = {
        **SCHEMA,
        "status": "completed",
        "model": {"name": "m"},
        "compression": {"method": method, "label": name, "target_sparsity": 0.5},
        "benchmarks": {"refusal": task_record("compsafe_refusal", len(outcomes))},
        "metrics": metrics,
    }
    (folder / RESULTS_FILE).write_text(json.dumps(record))
    with open(folder / ITEMS_DIR / "refusal.jsonl", "w") as fh:
        for i, (doc, outcome) in enumerate(zip(docs, outcomes, strict=True)):
            line = {"doc_id": i, "doc": doc, "metrics": ["refusal_rate"], "refusal_rate": outcome}
            fh.write(json.dumps(line) + "\n")


def test_the_report_tests_a_01_metric_exactly(tmp_path):
    """24 requests: dense refuses none, the compressed model 4 (all discordant one way): the
    report's p-value is McNemar's 0.125, not a bootstrap's, and the value's interval is
    Wilson's, not [0, 0]."""
    write_refusal_job(tmp_path, "dense", "none", [0] * 24)
    write_refusal_job(tmp_path, "wanda", "wanda", [1] * 4 + [0] * 20)
    analysis = analyse([tmp_path], iterations=200)
    dense, wanda = analysis.rows
    cell = analysis.cell(wanda, REFUSAL)
    assert cell.p_value == pytest.approx(0.125) and cell.test == "exact McNemar"
    assert not cell.significant
    assert analysis.cell(dense, REFUSAL).interval[1] > 0.1
    assert cell.delta_interval[1] < 0 < cell.delta_interval[2]


def test_a_sweep_without_dense_is_compared_with_the_reports_dense(tmp_path):
    """Seeds swept after the dense quickstart live in a sweep of their own: they are compared
    with the report's one dense job of that model (a note says so), not left uncompared."""
    write_refusal_job(tmp_path / "quickstart", "dense", "none", [0] * 24)
    write_refusal_job(tmp_path / "seeds", "wanda", "wanda", [1] * 4 + [0] * 20)
    analysis = analyse([tmp_path / "quickstart", tmp_path / "seeds"], iterations=200)
    dense, wanda = sorted(analysis.rows, key=lambda r: not r.is_dense)
    assert analysis.dense_of(wanda) is dense
    assert analysis.cell(wanda, REFUSAL).p_value == pytest.approx(0.125)
    assert any("compared with the dense job of" in note for note in analysis.notes)


def test_a_group_of_ten_items_is_never_marked(tmp_path):
    """A group changes on all of its 10 requests (p = 0.002 exactly): below the effective-
    sample rule (30 units), so it is not marked anywhere, whatever its q-value."""
    groups = ["small"] * 10 + ["large"] * 40
    write_refusal_job(tmp_path, "dense", "none", [0] * 50, groups)
    write_refusal_job(tmp_path, "wanda", "wanda", [1] * 10 + [0] * 40, groups)
    analysis = analyse([tmp_path], iterations=200)
    wanda = analysis.rows[1]
    small = analysis.cell(wanda, f"{REFUSAL}/risk_area=small")
    assert small.p_value == pytest.approx(2 * 0.5**10) and small.q_value < 0.05
    assert not small.eligible and not small.significant


def seeded_null(seeds: int, rng) -> float:
    """The seed-level p-value of one simulated config with no true change: 60 items, each
    calibration seed shifting the whole config by N(0, (10 x item SE)^2)."""
    items, noise = 60, 1.0
    item_se = noise / math.sqrt(items)
    base = rng.normal(0, noise, items)
    dense = Sample(list(base), singles(items), mean, linear_form("mean"))
    samples = []
    for _ in range(seeds):
        shift = rng.normal(0, 10 * item_se)
        values = base + shift + rng.normal(0, noise * 0.3, items)
        samples.append(Sample(list(values), singles(items), mean, linear_form("mean")))
    return seeded_change(Engine(400, int(rng.integers(1 << 30))), samples, dense, False).p_value


@pytest.mark.slow
@pytest.mark.parametrize("seeds", [3, 5])
def test_seed_level_tests_keep_their_size_when_seeds_dominate(seeds):
    """300 configs with no true change and a seed spread 10x the item SE: the seed-level test
    rejects at most about 5 % of them (a document-only test would reject nearly all)."""
    rng = np.random.default_rng(seeds)
    rejected = np.mean([seeded_null(seeds, rng) <= 0.05 for _ in range(300)])
    assert rejected <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 300)  # 0.075: Monte Carlo margin


@pytest.mark.slow
def test_newcombe_paired_interval_covers():
    """Paired 0/1 outcomes with a true change of 0.1 on 40 items: the interval covers it in
    93-97 % of 1,000 simulated samples."""
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(1000):
        dense = rng.random(40) < 0.3
        flip = rng.random(40)
        ours = np.where(flip < 0.15, True, np.where(flip < 0.2, False, dense))
        counts = [int(np.sum(ours & dense)), int(np.sum(ours & ~dense)),
                  int(np.sum(~ours & dense)), int(np.sum(~ours & ~dense))]  # fmt: skip
        truth = 0.15 * 0.7 - 0.05 * 0.3  # P(0 -> 1) - P(1 -> 0)
        low, high = exact.newcombe_paired(*counts)
        covered += low <= truth <= high
    assert 0.93 <= covered / 1000 <= 0.975


def test_a_ratio_whose_resamples_often_divide_by_zero_gets_no_interval():
    """BBQ's s_dis over 20 questions of which one is disambiguated and answered: a tenth of the
    resamples hold none of it (a zero denominator): the interval is withheld, not computed
    from the 90 % that happened to be finite."""
    from compsafe.results.aggregations.bbq import bias_disambig
    from helpers.stats import bootstrap_interval

    items = [("ambig", False, False, False)] * 19 + [("disambig", True, False, True)]
    assert bootstrap_interval(items, bias_disambig, 500, 0) is None


def test_seeds_that_agree_on_sparse_items_keep_the_rules_interval():
    """Three calibration seeds whose 20 answers are all 0, as dense's are: the bootstrap over
    documents sees no spread and the seed-level interval was [0, 0] (41 changes and 45
    values of the 3-seed quickstart report, 2026-12-06). Each seed's own rule (Wilson's,
    Newcombe's) bounds the documents' part; with fewer than 5 documents, no interval."""
    from compsafe.report.stats.infer import seeded_change_inference, seeded_value_inference

    engine = Engine(200, 0)
    zeros = [Sample([0.0] * 20, singles(20), mean, linear_form("mean")) for _ in range(3)]
    dense = Sample([0.0] * 20, singles(20), mean, linear_form("mean"))
    value = seeded_value_inference(engine, zeros, "mean")
    assert value.interval() == pytest.approx(exact.wilson(0, 20))
    change = seeded_change_inference(engine, zeros, dense, "mean", False)
    assert change.interval() == pytest.approx(exact.newcombe_paired(0, 0, 0, 20))
    assert change.interval(0.01)[1] > change.interval()[1]  # at every level, not only 5 %
    few = [Sample([0.0] * 4, singles(4), mean, linear_form("mean")) for _ in range(3)]
    assert seeded_value_inference(engine, few, "mean") is None


def test_a_seeded_test_is_no_more_confident_than_its_seeds_rules():
    """Five seeds, each with 4 of 7 items gone one way (each seed's McNemar p 0.125): the
    documents' bootstrap is small and the seed-level t test alone gave a tiny p; the
    interval the seeds' exact tests imply includes 0, so the p-value is at least the level
    at which it stops doing so."""
    from compsafe.report.stats.infer import seeded_change_inference

    engine = Engine(300, 0)
    dense = Sample([1.0] * 4 + [0.0] * 3, singles(7), mean, linear_form("mean"))
    seeds = [Sample([0.0] * 7, singles(7), mean, linear_form("mean")) for _ in range(5)]
    change = seeded_change_inference(engine, seeds, dense, "mean", False)
    low, high = change.interval()
    assert low < 0 < high and change.p_value > 0.05
    assert change.p_value == pytest.approx(exact.mcnemar(0, 4), rel=0.05)


def test_a_seeded_test_whose_seeds_rule_gives_no_interval_keeps_its_own_p():
    """Five seeds of a mean without declared bounds whose paired differences are nearly all
    0 (2 of 30 items moved by about +5): each seed's rule gives no interval, which set no
    floor for the interval but had forced the seed-level p to 1 beside an interval that
    excluded 0. The p is the t test's."""
    from compsafe.report.stats.infer import seeded_change_inference
    from compsafe.report.stats.seeds import seeded_change

    rng = np.random.default_rng(0)
    base = rng.normal(3, 1, size=30)
    dense = Sample(base.tolist(), singles(30), mean, linear_form("mean"))
    seeds = []
    for _ in range(5):
        values = base.copy()
        values[rng.choice(30, 2, replace=False)] += rng.uniform(4, 6, size=2)
        seeds.append(Sample(values.tolist(), singles(30), mean, linear_form("mean")))
    engine = Engine(500, 0)
    change = seeded_change_inference(engine, seeds, dense, "mean", False)
    plain = seeded_change(engine, seeds, dense, False)
    assert change.interval() == plain.interval() and change.interval()[0] > 0
    assert change.p_value == pytest.approx(plain.p_value) and change.p_value < 0.05


def _exact_coverage(interval, n: int, proportions) -> np.ndarray:
    """Each proportion's exact coverage by `interval(successes, n)` over binomial draws."""
    from scipy.stats import binom

    intervals = [interval(x, n) for x in range(n + 1)]
    return np.array(
        [
            sum(binom.pmf(x, n, p) for x, (low, high) in enumerate(intervals) if low <= p <= high)
            for p in proportions
        ]
    )


def test_a_rare_proportion_keeps_its_coverage():
    """Wilson's coverage dips to about 0.84 at proportions of order 1/n (BOLD's rare negative
    share: the full data's 1 or 2 in 120 missed from below); Brown, Cai and DasGupta's
    modification (a Poisson lower end for 1 to 3 successes, the same at the top) keeps it at
    0.91 or more, and the value interval of a 0/1 metric is the modified one."""
    from compsafe.report.stats.infer import value_interval

    for n in (30, 60):
        proportions = np.linspace(0.001, 0.2, 400)
        assert _exact_coverage(exact.wilson, n, proportions).min() < 0.87
        assert _exact_coverage(exact.modified_wilson, n, proportions).min() >= 0.91
        assert _exact_coverage(exact.modified_wilson, n, 1 - proportions).min() >= 0.91
    sample = Sample([1.0] * 2 + [0.0] * 58, singles(60), mean, linear_form("mean"))
    low, high = value_interval(Engine(200, 0), sample, "mean")
    assert (low, high) == exact.modified_wilson(2, 60)
    assert low < 1 / 120 < exact.wilson(2, 60)[0]  # 1 in 120 covered; Wilson's missed it


def test_a_skewed_score_interval_follows_its_long_tail():
    """A right-skewed score in [0, 1] (toxicity: most values near 0.04, a few near 1): samples
    that miss the large values look tight, and the symmetric bootstrap-t missed the mean from
    below (RealToxicityPrompts' `score` on real subsamples, benchmarks/README.md). The value's
    interval is widened on each side to the equal-tailed bootstrap-t's end: never narrower,
    and covering more (here 0.90 -> 0.93 at 30 items)."""
    from dataclasses import replace

    rng = np.random.default_rng(5)
    population = np.minimum(rng.lognormal(-3.3, 1.0, size=200_000), 1.0)
    truth = float(population.mean())
    engine = Engine(1000, 0)
    covered = {"symmetric": 0, "widened": 0}
    draws = 200
    for _ in range(draws):
        values = rng.choice(population, 30).tolist()
        distribution = engine.value(Sample(values, singles(30), mean, linear_form("mean")))
        assert distribution.skew_tails and distribution._studentizable
        widened = distribution.interval()
        symmetric = replace(distribution, skew_tails=False).interval()
        assert widened[0] <= symmetric[0] and widened[1] >= symmetric[1]
        covered["symmetric"] += symmetric[0] <= truth <= symmetric[1]
        covered["widened"] += widened[0] <= truth <= widened[1]
    assert covered["widened"] - covered["symmetric"] >= 3
    assert covered["widened"] / draws >= 0.91


def test_a_bias_score_whose_answers_all_agree_has_an_honest_interval():
    """BBQ's disambiguated bias score is 2 x (biased among the answered) - 1: a group whose 18
    answered questions all went against the stereotype scores -1, and the bootstrap, which
    sees no spread, gave [-1, -1]. It is at least the share's interval, mapped: 0 of 18 is
    [0, 0.18] -> [-1, -0.65]."""
    from compsafe.report.stats.infer import value_interval
    from compsafe.results.aggregations import aggregation

    name = "bbq_bias_disambig"
    items = [("disambig", True, False, False)] * 18  # answered, correct, not the biased one
    sample = Sample(items, singles(18), aggregation(name), linear_form(name))
    assert sample.statistic() == -1.0
    distribution = Engine(1000, 0).value(sample)
    assert distribution.interval() in (None, (-1.0, -1.0))  # the bootstrap alone
    low, high = value_interval(Engine(1000, 0), sample, name)
    share_high = exact.modified_wilson(0, 18)[1]
    assert low == -1.0 and high == pytest.approx(2 * share_high - 1) and high > -0.7
