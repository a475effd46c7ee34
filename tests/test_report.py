"""The report on a fake-but-consistent sweep folder: numbers, deltas, intervals, marks, figures."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from compsafe.report.cli import report_main
from compsafe.report.stats.analysis import analyse
from compsafe.report.view.build import build_report
from compsafe.report.view.findings import findings
from compsafe.report.view.render import cell_text
from compsafe.results.aggregations import bbq as bbq_aggregations
from compsafe.results.aggregations.common import mean
from compsafe.results.files import ITEMS_DIR, JOBS_FILE, RESULTS_FILE
from helpers.records import SCHEMA, task_record
from helpers.stats import bootstrap_interval

N = 40  # items per task


def toxicity_items(shift: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(np.clip(v + shift, 0, 1)) for v in rng.uniform(0.0, 0.4, N)]


def bbq_items(biased_share: float) -> list[list]:
    items = []
    for i in range(N):
        condition = "ambig" if i % 2 else "disambig"
        biased = (i // 2) < biased_share * N / 2
        items.append([condition, i % 3 == 0, False, biased])
    return items


def write_job(
    sweep: Path,
    name: str,
    method: str,
    sparsity: float,
    pattern: str,
    tox: list[float],
    bbq: list[list],
    ppl: float,
    status: str = "completed",
) -> None:
    folder = sweep / name
    (folder / ITEMS_DIR).mkdir(parents=True)
    bbq_task = bbq_aggregations
    metrics = {
        "realtoxicityprompts/score": sum(tox) / len(tox),
        "realtoxicityprompts/score/attribute=insult": sum(tox[: N // 2]) / (N // 2),
        "realtoxicityprompts/score/attribute=threat": sum(tox[N // 2 :]) / (N // 2),
        "bbq/bias_ambig": bbq_task.bias_ambig([tuple(x) for x in bbq]),
        "bbq/bias_disambig": bbq_task.bias_disambig([tuple(x) for x in bbq]),
        "bbq/bias_ambig/category=Age": 0.1 + sparsity,
        "bbq/bias_ambig/category=Religion": 0.1 - sparsity,
        "perplexity/token_perplexity": ppl,
    }
    n_m = pattern if pattern != "unstructured" else None
    record = {
        **SCHEMA,
        "status": status,
        "model": {"name": "fake-model"},
        "compression": {
            "method": method,
            "label": name,
            "pattern": "N:M" if n_m else "unstructured",
            "n_m": n_m,
            "target_sparsity": sparsity,
            "measured_sparsity": sparsity,
            "quantize": None,
        },
        "benchmarks": {
            "realtoxicityprompts": task_record("compsafe_realtoxicityprompts", N),
            "bbq": task_record("compsafe_bbq", N),
            "perplexity": task_record("compsafe_perplexity", 4),
        },
        "metrics": metrics if status == "completed" else {},
        "timings": {"total": 1.0},
        "error": None if status == "completed" else "RuntimeError: boom",
    }
    (folder / RESULTS_FILE).write_text(json.dumps(record))
    write_items(
        folder,
        "realtoxicityprompts",
        [rtp_doc(i) for i in range(len(tox))],
        [{"metrics": ["score"], "score": score} for score in tox],
    )
    metrics = ["bias_ambig", "bias_disambig"]
    write_items(
        folder,
        "bbq",
        [bbq_doc(i) for i in range(len(bbq))],
        [{"metrics": metrics, **{m: item for m in metrics}} for item in bbq],
    )


def rtp_doc(i: int) -> dict:
    return {"prompt": f"prompt {i}", "attribute": "insult" if i < N // 2 else "threat"}


def bbq_doc(i: int) -> dict:
    category = "Age" if i < N // 2 else "Religion"
    return {"question": f"question {i}", "category": category, "template": f"{category}-{i}"}


def doc_hash(doc: dict) -> str:
    """As lm-eval hashes a document into its logged samples."""
    from lm_eval.utils import hash_string

    return hash_string(json.dumps(doc, indent=2, ensure_ascii=False))


def write_items(
    folder: Path, task_key: str, docs: list[dict], items: list[dict], hashed: bool = True
) -> None:
    """Items as a job keeps them: position, document (and its hash, unless `hashed` is False:
    items kept before the hash was), metric values."""
    with open(folder / ITEMS_DIR / f"{task_key}.jsonl", "w") as fh:
        for i, (doc, item) in enumerate(zip(docs, items, strict=True)):
            head = {"doc_id": i, "doc": doc, **({"doc_hash": doc_hash(doc)} if hashed else {})}
            fh.write(json.dumps({**head, **item}) + "\n")


@pytest.fixture
def sweep(tmp_path) -> Path:
    root = tmp_path / "sweep"
    dense = toxicity_items(0.0, 1)
    write_job(root, "dense", "none", 0.0, "unstructured", dense, bbq_items(0.5), 20.0)
    write_job(root, "wanda 30%", "wanda", 0.3, "unstructured", dense, bbq_items(0.5), 22.0)
    write_job(
        root,
        "wanda 50%",
        "wanda",
        0.5,
        "unstructured",
        [min(1.0, v + 0.3) for v in dense],
        bbq_items(0.9),
        40.0,
    )
    write_job(root, "wanda 2:4", "wanda", 0.5, "2:4", dense, bbq_items(0.6), 60.0)
    write_job(
        root,
        "magnitude 50%",
        "magnitude",
        0.5,
        "unstructured",
        dense,
        bbq_items(0.5),
        300.0,
        status="failed",
    )
    (root / JOBS_FILE).write_text(
        json.dumps(["dense", "wanda 30%", "wanda 50%", "wanda 2:4", "magnitude 50%", "gptq"])
    )
    return root


def by_label(analysis, label):
    return next(r for r in analysis.rows if r.label == label)


def test_values_and_deltas(sweep):
    analysis = analyse([sweep], iterations=200, bootstrap_seed=0)
    dense, wanda = by_label(analysis, "dense"), by_label(analysis, "wanda 50%")
    tox = "realtoxicityprompts/score"
    assert analysis.cell(wanda, tox).delta == pytest.approx(
        analysis.cell(wanda, tox).value - analysis.cell(dense, tox).value
    )
    assert analysis.cell(wanda, tox).delta == pytest.approx(0.3, abs=0.01)
    assert analysis.cell(dense, tox).delta is None
    assert analysis.cell(wanda, "perplexity/token_perplexity").delta == 20.0
    assert [r.label for r in analysis.failed] == ["magnitude 50%"]
    assert analysis.missing == [(sweep, "gptq")]


def hand_bootstrap(values, aggregate, iterations, seed):
    rng = np.random.default_rng(seed)
    stats = [
        aggregate([values[i] for i in rng.integers(0, len(values), len(values))])
        for _ in range(iterations)
    ]
    return float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))


def scipy_bca(values, statistic, resamples=20000):
    """An independent BCa interval (scipy's own resampling and formulas)."""
    from scipy.stats import bootstrap

    result = bootstrap(
        (np.asarray(values),), statistic, n_resamples=resamples, method="BCa",
        random_state=np.random.default_rng(1),
    )  # fmt: skip
    return result.confidence_interval.low, result.confidence_interval.high


def symmetric_t(columns, statistic, spread, resamples=20000, seed=1):
    """An independent symmetric bootstrap-t interval (numpy's own resampling): estimate +- the
    95th percentile of |resample - estimate| / resample's standard error, times the standard
    error; `statistic` and `spread` take the resampled rows of `columns`."""
    columns = np.asarray(columns, dtype=float)
    n = len(columns)
    estimate, error = statistic(columns), spread(columns)
    rng = np.random.default_rng(seed)
    t = []
    for _ in range(resamples):
        rows = columns[rng.integers(0, n, n)]
        t.append(abs(statistic(rows) - estimate) / spread(rows))
    q = float(np.quantile(t, 0.95))
    return estimate - q * error, estimate + q * error


def test_intervals_agree_with_an_independent_bootstrap_t(sweep):
    """The report's interval of a mean equals an independent symmetric bootstrap-t (the
    standard error of a mean: s / sqrt(n)) within Monte Carlo error."""
    analysis = analyse([sweep], iterations=20000, bootstrap_seed=7)
    dense = by_label(analysis, "dense")
    values = toxicity_items(0.0, 1)
    expected = symmetric_t(values, np.mean, lambda v: np.std(v, ddof=1) / math.sqrt(len(v)))
    got = analysis.cell(dense, "realtoxicityprompts/score").interval
    assert got == pytest.approx(expected, abs=0.004)


def test_zero_inflated_scores_get_an_independent_bca():
    """Where many resamples hold one distinct value (no spread to studentise by), the interval
    is BCa, equal to scipy's within Monte Carlo error."""
    values = [0.0] * 36 + [0.9, 0.4, 0.7, 0.2]
    expected = scipy_bca(values, np.mean)
    got = bootstrap_interval(values, mean, 20000, 7)
    assert got == pytest.approx(expected, abs=0.004)


def test_significance_marks(sweep):
    analysis = analyse([sweep], iterations=300, bootstrap_seed=0)
    tox = "realtoxicityprompts/score"
    assert analysis.cell(by_label(analysis, "wanda 50%"), tox).significant  # +0.3 on every item
    assert not analysis.cell(by_label(analysis, "wanda 30%"), tox).significant  # identical items
    assert analysis.cell(by_label(analysis, "wanda 50%"), "bbq/bias_disambig").significant
    metric = analysis.catalogue.get(tox)
    text = cell_text(analysis, by_label(analysis, "wanda 50%"), metric)
    assert text.endswith("*)") and "[" in text
    assert "*" not in cell_text(analysis, by_label(analysis, "wanda 30%"), metric)


def test_findings_name_the_largest_changes_and_divergent_groups(sweep):
    lines = findings(analyse([sweep], iterations=200, bootstrap_seed=0))
    assert any("RTP toxicity rises" in line and "wanda 50%" in line for line in lines)
    assert any("RTP toxicity rises" in line and "vs dense, worse)" in line for line in lines)
    # Age and Religion move apart, but their changes rest on no paired items (the fixture's
    # groups are metrics only) and RTP's groups hold 20 items each: below the threshold.
    assert not any(line.startswith("Divergent impact") for line in lines)
    assert any("at least 30 resampling units paired with dense's" in line for line in lines)


def test_report_files(sweep):
    folder = build_report([sweep], iterations=100)
    md = (folder / "report.md").read_text()
    assert "## Degeneration harm" in md and "## Representational harm" in md
    assert "| dense |" in md and "wanda 50%" in md
    assert "missing: `" in md and "gptq" in md and "failed: `" in md and "boom" in md
    html = (folder / "report.html").read_text()
    assert "<table>" in html and "data:image/png;base64," in html
    figures = list((folder / "figures").glob("*.png"))
    names = {f.name for f in figures}
    assert "realtoxicityprompts_score_vs_sparsity_fake_model.png" in names
    assert "heatmap_bbq_bias_ambig_category.png" in names
    assert any(n.startswith("safety_vs_perplexity_") for n in names)
    assert all(f.stat().st_size > 1000 for f in figures)
    with open(folder / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and {r["status"] for r in rows} == {"completed", "failed"}
    with open(folder / "results_long.csv") as fh:
        long = [r for r in csv.DictReader(fh) if r["metric"] == "realtoxicityprompts/score"]
    wanda = next(r for r in long if r["config"] == "wanda 50%")
    assert wanda["significant"] == "True" and float(wanda["ci_low"]) < float(wanda["value"])


def test_several_sweeps_side_by_side(sweep, tmp_path):
    other = tmp_path / "other"
    write_job(
        other, "dense", "none", 0.0, "unstructured", toxicity_items(0.0, 2), bbq_items(0.5), 10.0
    )
    analysis = analyse([sweep, other], iterations=50)
    assert len([r for r in analysis.rows if r.is_dense]) == 2
    args = [str(sweep), str(other), "--bootstrap", "50", "--out", str(tmp_path / "r")]
    assert report_main(args) == 0
    assert (tmp_path / "r" / "report.md").is_file()


def test_records_name_the_aggregations_of_the_task_yamls():
    """The report recomputes a metric with the function the job's record names: the one the
    task's YAML aggregates with."""
    from compsafe.evaluation.tasks import bbq
    from compsafe.results.aggregations import aggregation

    bias = task_record("compsafe_bbq")["metrics"]["bias_ambig"]["aggregation"]
    assert aggregation(bias) is bbq.bias_ambig
    score = task_record("compsafe_realtoxicityprompts")["metrics"]["score"]["aggregation"]
    assert aggregation(score)([0.0, 1.0]) == 0.5
    ppl = task_record("compsafe_perplexity")["metrics"]["token_perplexity"]["aggregation"]
    assert aggregation(ppl)([(-2.0, 1), (-4.0, 1)]) == pytest.approx(math.exp(3.0))


@pytest.mark.slow
def test_report_logs_to_wandb_offline(sweep, tmp_path, monkeypatch):
    from helpers.wandb_log import logged_values

    monkeypatch.setenv("WANDB_MODE", "offline")
    folder = build_report([sweep], iterations=50, wandb_mode="offline")
    run_files = list(folder.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 1
    logged = logged_values(run_files[0])
    assert logged["summary"]["results/_type"] == "table-file", sorted(logged["summary"])[:30]
    assert any(k.startswith("heatmap_") for k in logged["summary"])


def test_expected_max_shown_only_when_continuations_were_sampled(tmp_path):
    """With one continuation per prompt, EMT and toxicity probability equal the mean score and
    the share >= 0.5: the job's record says not to show them; with k > 1 it shows them."""
    for k, shown in ((1, False), (4, True)):
        root = tmp_path / f"k{k}"
        for name, method, shift in (("dense", "none", 0.0), ("wanda 50%", "wanda", 0.2)):
            tox = toxicity_items(shift, 1)
            write_job(root, name, method, 0.5 * (method != "none"), "unstructured", tox, [], 20)
            path = root / name / RESULTS_FILE
            record = json.loads(path.read_text())
            record["metrics"]["realtoxicityprompts/expected_max"] = max(tox)
            rtp = task_record("compsafe_realtoxicityprompts", N, repeats=k)
            record["benchmarks"]["realtoxicityprompts"] = rtp
            path.write_text(json.dumps(record))
        keys = [m.key for _, m in analyse([root]).metrics_present()]
        assert ("realtoxicityprompts/expected_max" in keys) is shown
        assert "realtoxicityprompts/score" in keys


def test_continuation_perplexity_interval_from_the_kept_nll(tmp_path):
    """Continuation perplexity is not an lm-eval metric; its interval comes from each item's
    [NLL, tokens] summed over its continuations, token-weighted like the job's own figure."""
    root = tmp_path / "sweep"
    rng = np.random.default_rng(3)
    per_job = {}
    for name, method, scale in (("dense", "none", 1.0), ("wanda 50%", "wanda", 1.5)):
        nll = [[[float(rng.uniform(1, 3)) * scale * 10, 10], [scale * 5.0, 4]] for _ in range(N)]
        per_job[name] = [(sum(v[0] for v in n), sum(v[1] for v in n)) for n in nll]
        tox = toxicity_items(0.0, 1)
        write_job(root, name, method, 0.5 * (method != "none"), "unstructured", tox, [], 20)
        path = root / name / RESULTS_FILE
        record = json.loads(path.read_text())
        total = per_job[name]
        ppl = math.exp(sum(a for a, _ in total) / sum(b for _, b in total))
        record["metrics"]["realtoxicityprompts/continuation_perplexity"] = ppl
        path.write_text(json.dumps(record))
        items = root / name / ITEMS_DIR / "realtoxicityprompts.jsonl"
        lines = [json.loads(line) for line in items.read_text().splitlines()]
        name = "continuation_perplexity"
        kept = [
            {**x, "metrics": [*x["metrics"], name], name: list(t), "continuation_nll": n}
            for x, n, t in zip(lines, nll, total, strict=True)
        ]
        items.write_text("".join(json.dumps(x) + "\n" for x in kept))

    analysis = analyse([root], iterations=20000, bootstrap_seed=5)
    key = "realtoxicityprompts/continuation_perplexity"
    dense, wanda = by_label(analysis, "dense"), by_label(analysis, "wanda 50%")
    pairs = np.array(per_job["dense"])

    def log_ratio(rows):  # the log of the token-weighted perplexity
        return rows[:, 0].sum() / rows[:, 1].sum()

    def log_ratio_error(rows):  # the ratio estimator's linearised standard error
        linear = (rows[:, 0] - log_ratio(rows) * rows[:, 1]) / rows[:, 1].mean()
        return np.std(linear, ddof=1) / math.sqrt(len(rows))

    low, high = symmetric_t(pairs, log_ratio, log_ratio_error)
    assert analysis.cell(dense, key).interval == pytest.approx(
        (math.exp(low), math.exp(high)), rel=0.01
    )
    cell = analysis.cell(wanda, key)
    assert cell.significant and cell.ratio > 1  # every item's NLL is 1.5x dense's
    assert cell.ratio_interval[0] > 1 and "x" in cell_text(
        analysis, wanda, analysis.catalogue.get(key)
    )


def test_quantized_configs_are_told_apart_from_their_records(tmp_path):
    """A quantizer alone records itself as `quantize`; a pruner + quantizer records both."""
    from compsafe.report.data.records import Row, config_order

    def record(method, quantize, pattern="unstructured"):
        compression = {"method": method, "quantize": quantize, "pattern": pattern}
        return {"status": "completed", "compression": compression, "model": {"name": "m"}}

    kinds = {
        ("none", None): "dense",
        ("gptq", "gptq"): "quantized",
        ("wanda", "gptq"): "quantized",
        ("wanda", None): "unstructured",
    }
    for (method, quantize), kind in kinds.items():
        assert Row(tmp_path, tmp_path, record(method, quantize)).kind == kind
    rows = [Row(tmp_path, tmp_path / m, record(m, q)) for m, q in kinds]
    ordered = [
        (r.compression["method"], r.compression["quantize"]) for r in sorted(rows, key=config_order)
    ]
    assert ordered == [("none", None), ("gptq", "gptq"), ("wanda", None), ("wanda", "gptq")]


def test_group_breakdowns_get_intervals_and_paired_changes(sweep):
    """`<task>/<metric>/<field>=<value>` is resampled from the group's own items, with the task's
    aggregation, and paired with dense's items of the same group."""
    bbq_task = bbq_aggregations
    analysis = analyse([sweep], iterations=200, bootstrap_seed=0)
    dense, wanda = by_label(analysis, "dense"), by_label(analysis, "wanda 50%")
    key = "bbq/bias_ambig/category=Religion"
    religion = [
        tuple(x) for i, x in enumerate(bbq_items(0.9)) if bbq_doc(i)["category"] == "Religion"
    ]
    expected = bootstrap_interval(religion, bbq_task.bias_ambig, 200, 0)
    cell = analysis.cell(wanda, key)
    assert cell.interval == pytest.approx(expected)
    assert cell.delta == pytest.approx(wanda.metric(key) - dense.metric(key))
    assert cell.delta_interval is not None and analysis.cell(dense, key).delta is None
    tox = analysis.cell(wanda, "realtoxicityprompts/score/attribute=threat")
    assert tox.delta_interval[1] > 0 and tox.p_value < 0.001  # +0.3 on every item, but
    assert not tox.eligible and not tox.significant  # 20 items: below the groups' 30
    folder = build_report([sweep], iterations=50)
    with open(folder / "results_long.csv") as fh:
        groups = [r for r in csv.DictReader(fh) if r["metric"].count("/") == 2]
    assert groups and all(r["ci_low"] and r["ci_high"] for r in groups)
    changes = [r for r in groups if r["config"] != "dense"]
    assert changes and all(r["delta_ci_low"] and r["significant"] for r in changes)


def test_bbq_accuracy_per_condition_is_a_proportion_of_that_condition(tmp_path):
    """BBQ's accuracy in ambiguous contexts is the share of right answers among the ambiguous
    questions, so it gets a proportion's inference over those questions: Wilson's interval,
    McNemar's test. Read as a ratio's bootstrap it got [0, 0] where no ambiguous question was
    answered right (the quickstart's dense, 13 Age questions, 2026-12-06) and a permutation
    test over all the category's questions."""
    from compsafe.report.stats import exact

    root = tmp_path / "sweep"

    def job(name: str, method: str, right_ambiguous: int) -> None:
        items = [
            ["ambig", i // 2 < right_ambiguous, False, False] if i % 2 else
            ["disambig", i % 3 == 0, False, True]
            for i in range(N)
        ]  # fmt: skip
        metrics = {f"bbq/{m}": getattr(bbq_aggregations, m)(items) for m in ("acc_ambig",)}
        folder = root / name
        (folder / ITEMS_DIR).mkdir(parents=True)
        record = {
            **SCHEMA, "status": "completed", "model": {"name": "fake-model"},
            "compression": {"method": method, "label": name, "pattern": "unstructured",
                            "n_m": None, "target_sparsity": 0.5, "measured_sparsity": 0.5,
                            "quantize": None},
            "benchmarks": {"bbq": task_record("compsafe_bbq", N)},
            "metrics": metrics, "timings": {"total": 1.0}, "error": None,
        }  # fmt: skip
        (folder / RESULTS_FILE).write_text(json.dumps(record))
        rows = [{"metrics": ["acc_ambig"], "acc_ambig": item} for item in items]
        write_items(folder, "bbq", [bbq_doc(i) for i in range(N)], rows)

    job("dense", "none", 0)
    job("wanda 50%", "wanda", 6)
    analysis = analyse([root], iterations=200, bootstrap_seed=0)
    dense = analysis.cell(by_label(analysis, "dense"), "bbq/acc_ambig")
    assert dense.value == 0 and dense.n_items == N // 2  # the ambiguous questions only
    assert dense.interval == pytest.approx(exact.wilson(0, N // 2)) and dense.interval[1] > 0.1
    wanda = analysis.cell(by_label(analysis, "wanda 50%"), "bbq/acc_ambig")
    assert wanda.test == "exact McNemar" and wanda.p_value == pytest.approx(exact.mcnemar(6, 0))
    assert wanda.interval == pytest.approx(exact.wilson(6, N // 2))
