"""benchmarks/stats_check.py's own helpers: how it subsamples the reference and reads each
subsample as the report would. Its figures are only as good as these."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from compsafe.results.items import Items

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("stats_check", ROOT / "benchmarks/stats_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["stats_check"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["stats_check"]


def bbq_task(check, answers: list[tuple[str, bool]]):
    """A job's BBQ items: (context condition, right) per question, two questions a template."""
    values = [[condition, right, False, False] for condition, right in answers]
    docs = [{"template": f"t{i // 2}"} for i in range(len(answers))]
    items = Items(list(range(len(answers))), {"acc_ambig": values, "acc": values}, docs)
    return check.Task(items, "template", {"acc_ambig": "bbq_acc_ambig"}, {"acc_ambig": None})


def test_a_subsample_interval_is_narrowed_around_its_estimate(check):
    """The finite-population factor narrows both sides by the same share, not to the truth."""
    assert check.narrowed((0.2, 0.6), 0.3, 0.5) == pytest.approx((0.25, 0.45))
    assert check.narrowed(None, 0.3, 0.5) is None
    assert check.narrowed((0.2, 0.6), math.nan, 0.5) is None


def test_documents_drawn_twice_enter_their_unit_twice(check):
    answers = [("ambig", True), ("disambig", False)] * 3
    paired = check.Paired.of(bbq_task(check, answers), bbq_task(check, answers))
    assert paired.units == [(0, 1), (2, 3), (4, 5)]  # by template
    drawn = paired.documents([0, 0, 5])
    assert drawn.units == [(0, 0), (5,)] and drawn.n_documents == 3


def test_a_draw_by_document_keeps_every_drawn_document_and_its_factor(check):
    answers = [("ambig", True), ("disambig", False)] * 5
    paired = check.Paired.of(bbq_task(check, answers), bbq_task(check, answers))
    drawn, chosen, factor = check._draw(paired, True, 4, np.random.default_rng(0), False)
    assert drawn.n_documents == 4 and chosen == list(range(len(drawn.units)))
    assert factor == pytest.approx(math.sqrt(1 - 4 / 10))
    _, _, with_replacement = check._draw(paired, False, 4, np.random.default_rng(0), True)
    assert with_replacement == 1.0  # an infinite population: nothing narrowed


def test_a_share_of_counts_is_read_as_the_report_reads_it(check):
    """BBQ's accuracy in ambiguous contexts: 0/1 items over the ambiguous questions only, as
    the report's cells read it (its `share_items`), so the check measures what users see."""
    mine = [("ambig", False), ("disambig", True), ("ambig", True), ("disambig", True)]
    dense = [("ambig", False), ("disambig", False), ("ambig", False), ("disambig", True)]
    paired = check.Paired.of(bbq_task(check, dense), bbq_task(check, mine))  # dense first
    found_mine, found_dense, name = paired.samples("acc_ambig", [0, 1])
    assert name == "mean" and found_mine.values == [0.0, 1.0] and found_dense.values == [0, 0]
    assert found_mine.units == ((0,), (1,))  # one ambiguous question per template
    truth = check.full_values(paired, "acc_ambig")
    assert truth.value == 0.5 and truth.change == 0.5 and not truth.log


def test_a_tally_counts_constant_metrics_apart_and_says_where_the_truth_fell(check):
    tally = check.Tally()
    tally.add("0/1", "quick", "m value", (0.1, 0.3), 0.5)
    tally.add("0/1", "quick", "m value", (0.1, 0.3), 0.2)
    tally.add("0/1", "quick", "m value", (0.0, 0.0), 0.0, constant=True)
    assert tally.coverage["0/1"] == [False, True] and tally.constant["0/1"] == [True]
    assert tally.misses["0/1"] == {"truth above": 1}


def test_a_metric_at_a_users_own_size_is_counted_apart_from_the_quickstarts(check):
    """Refusal at 100 requests must not hide in its 7-request figure: per metric, the
    quickstart's two sizes pool; any other size gets its own line."""
    tally = check.Tally()
    tally.add("0/1", "quickstart", "m change", (0.1, 0.3), 0.2)
    tally.add("0/1", "half quickstart", "m change", (0.1, 0.3), 0.5)
    tally.add("0/1", "benchmark default", "m change", (0.1, 0.3), 0.5)
    assert tally.by_metric == {
        "m change": [True, False],
        "m change at benchmark default sizes": [False],
    }


def test_0_1_intervals_are_sorted_by_the_events_they_expect(check):
    """A share of 2 in 120 over 60 items expects 1 event (sparse); a change over 60 items whose
    documents differ in a fifth expects 12 discordant pairs (not); not 0/1 items: None."""
    rare = check.Truth(2 / 120, 0.0, False, ones=2 / 120, discordant=0.2)
    assert check.sparse(rare, 60, "value") is True
    assert check.sparse(rare, 60, "change") is False
    assert check.sparse(check.Truth(0.98, 0.0, False, ones=0.98, discordant=0.0), 200, "value")
    assert check.sparse(check.Truth(0.3, 0.1, False), 60, "value") is None
    tally = check.Tally()
    tally.add("0/1", "quick", "m value", (0.0, 0.1), 0.02, few_events=True)
    tally.add("0/1", "quick", "m change", (0.1, 0.3), 0.5, few_events=False)
    assert tally.by_events == {
        "0/1 with fewer than 5 expected events": [True],
        "0/1 with 5 or more expected events": [False],
    }


def seed_task(check, values: list[float]):
    items = Items(list(range(len(values))), {"likelihood_diff": values}, [])
    return check.Task(items, None, {"likelihood_diff": "mean"}, {"likelihood_diff": None})


def test_the_seeded_null_is_exactly_null_and_its_tests_hold_their_level(check):
    """k of 10 seeds against a pseudo-dense that scored each document as the 10 seeds' mean:
    over all seeds and documents the change is exactly 0. With a seed effect 10 times the
    documents' standard error (the case the issue names), the seed-level test keeps its
    level and its interval holds 0 about 95 % of the time."""
    rng = np.random.default_rng(7)
    n, seeds = 120, 10
    documents = rng.normal(0, 1, n)
    effects = rng.normal(0, 10 / math.sqrt(n), seeds)  # seed SD = 10 x the item SE
    dense = seed_task(check, list(documents))
    pairs = [
        check.Paired.of(dense, seed_task(check, list(documents + b + rng.normal(0, 0.3, n))))
        for b in effects
    ]
    found = check.null_draws(check.Engine(200, 0), pairs, "likelihood_diff", (60, 30), 200, rng)
    assert {3, 5} <= set(found) and "5 seeds, 60 documents" in found
    assert sum(len(t["p_at_most_0.05"]) for k, t in found.items() if str(k).startswith("3 ")) == 200
    for k, tally in ((k, t) for k, t in found.items() if isinstance(k, int)):
        assert len(tally["p_at_most_0.05"]) == 200
        assert np.mean(tally["p_at_most_0.05"]) <= 0.08, k
        assert np.mean(tally["interval_holds_0"]) >= 0.92, k
    assert not any(found[3]["marked"])  # fewer than 5 seeds: never marked
    means = np.mean([p.samples("likelihood_diff", list(range(n)))[0].values for p in pairs], 0)
    assert np.mean(
        [p.samples("likelihood_diff", list(range(n)))[0].statistic() for p in pairs]
    ) == pytest.approx(float(np.mean(means)))
    # the pseudo-dense: each document's mean over the seeds, so the seeds' mean change is 0
    whole = [p.samples("likelihood_diff", list(range(n)))[0] for p in pairs]
    pseudo = np.array(check.seed_mean_items(whole))
    changes = [w.values - pseudo for w in whole]
    assert np.abs(np.mean(changes, axis=0)).max() < 1e-12
    assert np.std([c.mean() for c in changes]) > 0.5 / math.sqrt(n)  # the seeds do differ
    shuffled = seed_task(check, list(documents[::-1]))  # one seed's documents in another order
    misaligned = [*pairs[:9], check.Paired.of(shuffled, pairs[9].mine)]
    assert not check.seeds_align(misaligned, "likelihood_diff")
    assert check.null_draws(check.Engine(50, 0), misaligned, "likelihood_diff", (60,), 5, rng) == {}


def test_the_seeded_null_of_perplexity_averages_log_likelihoods_in_blocks(check):
    """Perplexity windows are (log-likelihood, tokens) pairs resampled in blocks: the
    pseudo-dense averages each window's log-likelihood over the seeds and keeps its tokens,
    and the null's change (on the log scale) keeps its level. The rate is conditional on the
    10 seed effects drawn (sets of them give 0.01 to 0.12 at 200 draws), so it is pooled
    over four sets of them."""
    from compsafe.report.stats.bootstrap import Engine

    n, seeds, block = 48, 10, 3
    tokens = [512] * n

    def ppl_task(loglik):
        items = Items(
            list(range(n)),
            {"token_perplexity": [(float(v), t) for v, t in zip(loglik, tokens, strict=True)]},
            [{"block": i // block} for i in range(n)],
        )
        return check.Task(items, "block", {"token_perplexity": "weighted_perplexity"},
                          {"token_perplexity": None})  # fmt: skip

    pooled = defaultdict(list)
    for realisation in range(4):
        rng = np.random.default_rng(realisation)
        documents = rng.normal(-3.0, 0.3, n) * 512
        dense = ppl_task(documents)
        effects = rng.normal(0, 0.02 * 512, seeds)  # seed SD 0.02 nats a token
        pairs = [
            check.Paired.of(dense, ppl_task(documents - 0.1 * 512 + b + rng.normal(0, 5, n)))
            for b in effects
        ]
        assert len(pairs[0].units) == n // block  # resampled in blocks
        whole = [p.samples("token_perplexity", list(range(len(p.units))))[0] for p in pairs]
        mean = check.seed_mean_items(whole)
        assert [t for _, t in mean] == tokens
        own = np.mean([[v for v, _ in w.values] for w in whole], 0)
        assert np.allclose([v for v, _ in mean], own)
        found = check.null_draws(Engine(200, 0), pairs, "token_perplexity", (16, 8), 100, rng)
        for k in (3, 5):
            assert len(found[k]["p_at_most_0.05"]) == 100
            pooled[k] += found[k]["p_at_most_0.05"]
            pooled[f"{k} holds"] += found[k]["interval_holds_0"]
    for k in (3, 5):
        assert np.mean(pooled[k]) <= 0.08, k
        assert np.mean(pooled[f"{k} holds"]) >= 0.92, k


def test_the_seeded_coverage_draws_clustered_tasks_by_document(check, monkeypatch):
    """A task a user's run draws by question (BBQ) is subsampled by document across the
    seeds, each document keeping the cluster it falls in; every seed sees the same documents,
    and the intervals are checked against the mean over all the seeds."""
    rng = np.random.default_rng(5)
    n, seeds = 90, 10
    documents = rng.normal(0, 1, n)

    def clustered(values):
        items = Items(list(range(n)), {"likelihood_diff": list(values)},
                      [{"template": i // 3} for i in range(n)])  # fmt: skip
        return check.Task(items, "template", {"likelihood_diff": "mean"},
                          {"likelihood_diff": None})  # fmt: skip

    tasks = {"dense": clustered(documents)}
    for s in range(seeds):
        tasks[s] = clustered(documents + 0.2 + rng.normal(0, 0.05) + rng.normal(0, 0.3, n))
    monkeypatch.setattr(check, "task_of", lambda row, key: tasks[row] if key == "bbq" else None)
    monkeypatch.setattr(check, "SEEDED", [("bbq", "likelihood_diff")])
    monkeypatch.setattr(check, "QUICK", {"bbq": 40})
    drawn = []
    original = check._seeded_draw

    def spy(engine, pairs, full, metric, key, picked, chosen, share, *rest):
        drawn.append((len(pairs[0].units), len(chosen), share, {len(p.units) for p in pairs}))
        return original(engine, pairs, full, metric, key, picked, chosen, share, *rest)

    monkeypatch.setattr(check, "_seeded_draw", spy)
    tally = check.Tally()
    pairs_by_task = check.seeded_tasks(list(range(seeds)), "dense")
    check.seeded_coverage(check.Engine(200, 0), pairs_by_task, 40, rng, tally,
                          by_document={"bbq"})  # fmt: skip
    assert len(drawn) == 80  # 40 draws at each of the two sizes
    for units, chosen, share, every in drawn:
        assert share in (40 / n, 20 / n)  # documents drawn, as a share of the documents
        assert units == chosen and len(every) == 1  # the same clusters in every seed
        assert units <= n * share  # documents fall in fewer clusters than they number
    covered = tally.by_metric["bbq/likelihood_diff 3 seeds change"]
    assert len(covered) == 80 and np.mean(covered) >= 0.85


def test_a_task_is_read_from_the_sweep_that_holds_it_matched_by_label(check, monkeypatch):
    """The refusal part comes from its own sweep (all HarmBench requests): a config's items
    and dense's from there, by label; a config that sweep lacks gives nothing, never the
    main sweep's smaller part beside the other sweep's dense."""
    from compsafe.report.data.records import Row

    def row(sweep: str, method: str) -> Row:
        return Row(Path(sweep), Path(sweep) / method, {"compression": {"method": method}})

    monkeypatch.setattr(check, "task_of", lambda r, key: (str(r.folder), key))
    main_dense, main_wanda = row("main", "none"), row("main", "wanda")
    other = {r.label: r for r in (row("refusal", "none"), row("refusal", "wanda"))}
    assert check.task_pair(None, main_wanda, main_dense, "bbq") == (
        ("main/wanda", "bbq"), ("main/none", "bbq"))  # fmt: skip
    assert check.task_pair(other, main_wanda, main_dense, "refusal") == (
        ("refusal/wanda", "refusal"), ("refusal/none", "refusal"))  # fmt: skip
    assert check.task_pair(other, row("main", "gptq"), main_dense, "refusal") == (None, None)


def test_do_not_answer_is_read_as_its_sweeps_refusal_task(check, monkeypatch):
    """The `dna` sweep ran `benchmark=refusal` on Do-Not-Answer alone: its items are the jobs'
    `refusal` task, checked under a name of their own (`refusal_dna`) so they are never read
    as, or pooled with, the HarmBench part; the quickstart asks none of them."""
    from compsafe.report.data.records import Row

    def row(sweep: str, method: str) -> Row:
        return Row(Path(sweep), Path(sweep) / method, {"compression": {"method": method}})

    monkeypatch.setattr(check, "task_of", lambda r, key: (str(r.folder), key))
    dna = {r.label: r for r in (row("dna", "none"), row("dna", "wanda"))}
    assert check.task_pair(dna, row("main", "wanda"), row("main", "none"), "refusal_dna") == (
        ("dna/wanda", "refusal"), ("dna/none", "refusal"))  # fmt: skip
    # a sweep that does not read it from `dna` (fresh, large, gemma) has no such task, though
    # its own jobs hold a `refusal` task (HarmBench): nothing is read under the name
    assert check.task_pair(None, row("fresh", "wanda"), row("fresh", "none"), "refusal_dna") == (
        None, None)  # fmt: skip
    fresh = row("fresh", "wanda"), row("fresh", "none")
    assert check.paired_with_truths(check.BENCHMARK_ONLY, {}, *fresh) == ({}, {})
    assert "refusal_dna" not in check.QUICK and check.BENCHMARK_ONLY["refusal_dna"] == 100
    assert {m for k, m in check.TYPES["0/1"] if k == "refusal_dna"} == {
        "dna_harmful", "dna_cautious"}  # fmt: skip
