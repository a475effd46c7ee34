"""Cluster bootstrap: a task that declares `metadata.resample_by` is resampled by whole clusters
of items sharing that document field (UnQover: both subject orders of a question)."""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from compsafe.evaluation.groups import group_metrics
from compsafe.evaluation.tasks import unqover
from compsafe.report.data.pairing import pair
from compsafe.report.stats.analysis import analyse
from compsafe.report.stats.bootstrap import Engine, clusters, units_of
from compsafe.results.files import ITEMS_DIR, RESULTS_FILE
from compsafe.results.items import Items
from helpers.records import SCHEMA, task_record
from helpers.stats import bootstrap_interval, sample

ITERATIONS = 200


def unqover_examples(
    seed: int = 0,
    questions: int = 300,
    subjects: tuple[int, ...] = (6, 6, 5, 5),
    attributes: int = 2,
    templates: int = 20,
    scale: float = 0.5,
) -> list[dict]:
    """Synthetic UnQover items: per class, seeded questions (subject pair, template, attribute),
    each asked in both subject orders; P(subject) from a per-(subject, attribute) bias, a
    position effect and noise. Each document names its question, as UnQover's will."""
    rng = np.random.default_rng(seed)
    examples = []
    for c, count in enumerate(subjects):
        bias = rng.normal(0, 0.6, (count, attributes))
        combos = [
            (pair, t, a)
            for pair in combinations(range(count), 2)
            for t in range(templates)
            for a in range(attributes)
        ]
        for k in sorted(rng.choice(len(combos), questions // len(subjects), replace=False)):
            (i, j), t, a = combos[k]
            for s1, s2 in ((i, j), (j, i)):
                gap = scale * (bias[s1, a] - bias[s2, a])
                p = 1 / (1 + math.exp(-(gap + 0.3 + rng.normal(0, 1.0))))
                p_neg = 1 / (1 + math.exp(-(-0.3 * gap + 0.3 + rng.normal(0, 1.0))))
                answer = unqover.Answer(
                    f"c{c}", f"s{s1}", f"s{s2}", t, a, p, 1 - p, p_neg, 1 - p_neg
                )
                doc = {"class": f"c{c}", "s1": f"s{s1}", "s2": f"s{s2}", "template": t}
                doc |= {"attribute": a, "question": f"c{c}-{i}-{j}-{t}-{a}"}
                examples.append({"doc": doc, "mu": answer, "eta": answer})
    return examples


@pytest.mark.parametrize("metric", ["mu", "eta"])
def test_question_bootstrap_covers_the_point_value(metric):
    """Resampling single subject orders drops every question that loses one of its orders, and
    the interval misses the point value; resampling questions keeps them whole."""
    examples = unqover_examples()
    values = [e[metric] for e in examples]
    aggregate = getattr(unqover, metric)
    point = aggregate(values)
    old = bootstrap_interval(values, aggregate, ITERATIONS, 0)
    assert not old[0] <= point <= old[1]
    questions = [e["doc"]["question"] for e in examples]
    units = clusters(questions)
    assert len(units) == len(examples) // 2 and all(len(u) == 2 for u in units)
    new = bootstrap_interval(values, aggregate, ITERATIONS, 0, by=questions)
    assert new[0] <= point <= new[1]


def mean(values):
    return sum(values) / len(values)


def test_cluster_bootstrap_recovers_a_known_design_effect():
    """Items in clusters of 5 with intra-cluster correlation 0.5: the variance of their mean
    is 1 + (5 - 1) x 0.5 = 3 times what independent items would give. Resampling clusters
    finds it; resampling items (wrongly) does not."""
    rng = np.random.default_rng(2)
    clusters_, size = 300, 5
    effects = rng.normal(0, 1, clusters_)  # between-cluster variance 1, within 1: rho = 0.5
    values = [float(effects[c] + rng.normal(0, 1)) for c in range(clusters_) for _ in range(size)]
    labels = [c for c in range(clusters_) for _ in range(size)]
    engine = Engine(1000, 0)
    clustered = engine.value(sample(values, mean, by=labels)).standard_error
    naive = engine.value(sample(values, mean)).standard_error
    assert 2.4 < (clustered / naive) ** 2 < 3.6
    theory = math.sqrt(2.0 / len(values) * 3)  # total variance 2, design effect 3
    assert clustered == pytest.approx(theory, rel=0.15)


def test_paired_clusters_follow_the_documents():
    """Paired by document content, resampled by clusters of the field: a shift of 1 on every
    item is a change of exactly 1, whatever order the other job holds the items in."""
    docs = [{"question": f"q{k // 2}", "order": k % 2} for k in range(20)]
    values = [float(k % 7) for k in range(20)]
    dense = Items([json.dumps(d) for d in docs], {"score": values}, docs)
    order = list(range(20))[::-1]
    ours = Items(
        [dense.keys[k] for k in order],
        {"score": [values[k] + 1 for k in order]},
        [docs[k] for k in order],
    )
    pairs = pair(ours, dense).pairs
    units = units_of(ours, [i for i, _ in pairs], "question")
    assert units[0] == (0, 1)
    mine = sample([ours.values["score"][i] for i, _ in pairs], mean)
    theirs = sample([dense.values["score"][j] for _, j in pairs], mean)
    mine.units = theirs.units = units
    change = Engine(200, 0).change(mine, theirs)
    assert change.estimate == pytest.approx(1.0) and change.interval() == pytest.approx((1.0, 1.0))


def write_unqover_job(sweep: Path, name: str, examples: list[dict], keep_question=True) -> None:
    """A job with UnQover's items and its metrics (overall and per class) as the job computes."""
    folder = sweep / name
    (folder / ITEMS_DIR).mkdir(parents=True)
    aggregations = {"mu": unqover.mu, "eta": unqover.eta}
    metrics = {f"unqover/{m}": f([e[m] for e in examples]) for m, f in aggregations.items()}
    metrics |= group_metrics("unqover", examples, aggregations, ["class"])
    method = "none" if name == "dense" else "wanda"
    record = {
        **SCHEMA,
        "status": "completed",
        "model": {"name": "m"},
        "compression": {"method": method, "label": name, "target_sparsity": 0.5},
        "benchmarks": {"unqover": task_record(unqover.TASK, len(examples))},
        "metrics": metrics,
    }
    (folder / RESULTS_FILE).write_text(json.dumps(record))
    with open(folder / ITEMS_DIR / "unqover.jsonl", "w") as fh:
        for position, e in enumerate(examples):
            doc = (
                e["doc"]
                if keep_question
                else {k: v for k, v in e["doc"].items() if k != "question"}
            )
            item = {"doc_id": position, "doc": doc, "metrics": ["mu", "eta"]}
            fh.write(json.dumps(item | {"mu": list(e["mu"]), "eta": list(e["eta"])}) + "\n")


def test_the_report_resamples_unqover_by_question(tmp_path):
    examples = unqover_examples()
    write_unqover_job(tmp_path, "dense", examples)
    write_unqover_job(tmp_path, "wanda 50%", unqover_examples(seed=0, scale=0.2))
    analysis = analyse([tmp_path], iterations=ITERATIONS)
    dense, wanda = analysis.rows
    questions = [e["doc"]["question"] for e in examples]
    for metric in ("mu", "eta"):
        cell = analysis.cell(dense, f"unqover/{metric}")
        values = [e[metric] for e in examples]
        aggregate = getattr(unqover, metric)
        expected = bootstrap_interval(values, aggregate, ITERATIONS, 0, by=questions)
        assert cell.interval == pytest.approx(expected)
        assert cell.interval[0] <= cell.value <= cell.interval[1]
        assert analysis.cell(wanda, f"unqover/{metric}").delta_interval is not None
        group = analysis.cell(wanda, f"unqover/{metric}/class=c0")
        assert group.interval is not None and group.delta_interval is not None
    assert analysis.notes == []


def test_items_without_the_cluster_field_get_no_interval(tmp_path):
    """Items kept before the documents named their question cannot be resampled by it: no
    interval (never a silent fall back to single items), and a note."""
    write_unqover_job(tmp_path, "dense", unqover_examples(), keep_question=False)
    analysis = analyse([tmp_path], iterations=20)
    assert analysis.cell(analysis.rows[0], "unqover/mu").interval is None
    assert analysis.notes == [
        "unqover: dense (m): items lack `question`, which the task resamples by (kept before it "
        "existed): no interval."
    ]


def test_resample_by_is_read_from_the_task_yaml_into_the_record():
    assert task_record(unqover.TASK)["resample_by"] == "question"
    assert task_record("compsafe_bbq")["resample_by"] == "template"
    assert task_record("compsafe_crows_pairs")["resample_by"] is None


def test_a_clustered_01_change_gets_newcombes_interval_over_its_effective_items():
    """40 templates of 3 questions whose answers move together (a design effect of about 3):
    the change's interval is Newcombe's over about 40 effective items, not over 120."""
    from compsafe.report.stats import exact
    from compsafe.report.stats.infer import change_inference
    from compsafe.results.aggregations.common import mean

    per_template = [(1, 0)] * 10 + [(0, 1)] * 2 + [(1, 1)] * 14 + [(0, 0)] * 14
    mine = [a for a, _ in per_template for _ in range(3)]
    dense = [b for _, b in per_template for _ in range(3)]
    labels = [t for t in range(len(per_template)) for _ in range(3)]
    found = change_inference(
        Engine(4000, 0), sample(mine, mean, labels), sample(dense, mean, labels), "mean", False
    )
    counts = (42, 30, 6, 42)  # both, ours only, dense only, neither (items)
    low, high = found.interval
    naive = exact.newcombe_paired(*counts)
    effective = exact.newcombe_paired(*(c / 3 for c in counts))
    assert found.estimate == pytest.approx(0.2)
    assert high - low > 1.5 * (naive[1] - naive[0])
    assert high - low == pytest.approx(effective[1] - effective[0], rel=0.1)
    assert found.test.startswith("permutation")  # the clusters' test, not McNemar's over items
    three = [0, 1, 2]  # 3 templates: no design effect (nor any bootstrap interval) from them
    few = change_inference(
        Engine(500, 0),
        sample(mine[:9], mean, labels[:9]),
        sample(dense[:9], mean, labels[:9]),
        "mean",
        False,
    )
    assert sorted(set(labels[:9])) == three and few.interval is None


# Templates' chances that compression flips a wrong answer up or a right one down, and how
# often each kind of template occurs: 40 % gain, 40 % barely move, 20 % move both ways
FLIPS, SHARES = [(0.9, 0.06), (0.06, 0.06), (0.15, 0.15)], [0.4, 0.4, 0.2]


def _clustered_draw(rng, templates: int, per: int = 3):
    """`templates` templates of `per` questions: each template its own dense accuracy (Beta(2,
    2), mean 1/2) and its own kind of flips (FLIPS, SHARES): answers move together within a
    template."""
    mine, dense, labels = [], [], []
    for template in range(templates):
        correct = rng.beta(2, 2)
        up, down = FLIPS[rng.choice(len(FLIPS), p=SHARES)]
        for _ in range(per):
            before, u = int(rng.random() < correct), rng.random()
            after = 1 if not before and u < up else 0 if before and u < down else before
            mine.append(after), dense.append(before), labels.append(template)
    return mine, dense, labels


def test_a_clustered_01_change_over_few_templates_covers():
    """8 templates of 3 questions: Newcombe's interval over the effective number of items
    needs t's tails over the 7 templates' df (Korn and Graubard's adjustment), or it covers
    the population change 0.93 of the time (measured before the adjustment: 0.9275)."""
    from compsafe.report.stats.infer import change_inference
    from compsafe.results.aggregations.common import mean

    kinds = list(zip(FLIPS, SHARES, strict=True))
    up, down = (sum(share * flip[k] for flip, share in kinds) for k in (0, 1))
    truth = 0.5 * up - 0.5 * down  # wrong answers gained minus right ones lost
    rng, covered, draws = np.random.default_rng(2), 0, 2000
    for draw in range(draws):
        mine, dense, labels = _clustered_draw(rng, 8)
        found = change_inference(
            Engine(300, draw),
            sample(mine, mean, labels),
            sample(dense, mean, labels),
            "mean",
            False,
        )
        low, high = found.interval
        covered += low <= truth <= high
    assert covered / draws >= 0.94
