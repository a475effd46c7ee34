"""What a report may claim: Benjamini-Hochberg q-values, the two-stage bootstrap over seeds and
documents, replicates grouped by calibration seed, group findings only from enough items, and
warnings when jobs come from different machines."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from compsafe.report.data.cells import Cell
from compsafe.report.data.records import collect
from compsafe.report.stats.analysis import analyse
from compsafe.report.stats.inference import benjamini_hochberg, benjamini_yekutieli, control_fdr
from compsafe.report.view.build import build_report
from compsafe.report.view.findings import findings
from compsafe.report.view.table import format_table
from compsafe.results.files import ITEMS_DIR, RESULTS_FILE
from helpers.records import SCHEMA, task_record

TOX = "realtoxicityprompts/score"


# --- Benjamini-Hochberg and p-values ---------------------------------------------------------


def test_benjamini_hochberg_by_hand():
    # m = 5. Sorted p: 0.001 0.008 0.039 0.041 0.6 -> p*m/rank: 0.005 0.02 0.065 0.05125 0.6;
    # running minimum from the top: 0.005 0.02 0.05125 0.05125 0.6 (given back in input order).
    p = [0.039, 0.001, 0.6, 0.041, 0.008]
    assert benjamini_hochberg(p) == pytest.approx([0.05125, 0.005, 0.6, 0.05125, 0.02])
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([0.9, 0.95]) == pytest.approx([0.95, 0.95])  # capped, monotone


def test_benjamini_yekutieli_is_bh_times_the_harmonic_sum():
    p = [0.039, 0.001, 0.6, 0.041, 0.008]
    harmonic = 1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5
    expected = [min(1.0, q * harmonic) for q in benjamini_hochberg(p)]
    assert benjamini_yekutieli(p) == pytest.approx(expected)


def test_control_fdr_marks_by_q_within_each_config_and_family():
    def cells(*p, group=False):
        out = []
        for value in p:
            cell = Cell(0.0, p_value=value)
            cell.is_group = group
            out.append(cell)
        return out

    confirmatory = cells(0.01, 0.02, 0.03, 0.04, 0.5)
    exploratory = cells(0.03, 0.04, 0.5, 0.6, group=True)
    tested, _ = control_fdr(
        {1: [(c, True) for c in confirmatory] + [(c, False) for c in exploratory]}
    )
    assert tested == {"confirmatory": 5, "exploratory": 4}
    # every p < 0.05 would be "significant" alone; BH: q = 0.04 0.04 0.04 0.04 0.5 -> four kept
    assert [c.significant for c in confirmatory] == [True, True, True, True, False]
    assert not any(c.significant for c in exploratory)  # q = 0.08 0.08 0.6 0.6: none kept
    assert exploratory[0].q_value == pytest.approx(0.08)
    other = cells(0.03)  # another config's family: its q-values are its own
    control_fdr({2: [(c, True) for c in other]})
    assert other[0].significant and other[0].q_value == pytest.approx(0.03)


# --- a seeded sweep on disk -------------------------------------------------------------------

DOCS = [{"prompt": f"p{k}", "attribute": "insult" if k % 2 else "threat"} for k in range(80)]


def write_job(sweep: Path, name: str, method: str, seed: int, scores: list[float], **extra):
    """A completed job with RTP items; `config` as a job records its resolved config."""
    folder = sweep / name
    (folder / ITEMS_DIR).mkdir(parents=True)
    calibration = None if method in ("none", "magnitude") else {"name": "c", "seed": seed}
    by_attribute = {
        a: [s for s, d in zip(scores, DOCS, strict=True) if d["attribute"] == a and s is not None]
        for a in ("insult", "threat")
    }
    record = {
        **SCHEMA,
        "status": "completed",
        "model": {"name": "m"},
        "compression": {
            "method": method,
            "label": f"{method} 50%" if method != "none" else "dense",
            "target_sparsity": 0.5 * (method != "none"),
            "calibration": calibration,
        },
        "benchmarks": {"realtoxicityprompts": task_record("compsafe_realtoxicityprompts", 80)},
        "metrics": {
            TOX: statistics.fmean(s for s in scores if s is not None),  # None: not valued
            **{f"{TOX}/attribute={a}": statistics.fmean(v) for a, v in by_attribute.items()},
        },
        "environment": extra.get("environment", {}),
        "config": {
            "compression": {"method": method},
            "calibration": {"seed": seed},
            "paths": {"output_dir": str(folder)},
        },
    }
    (folder / RESULTS_FILE).write_text(json.dumps(record))
    with open(folder / ITEMS_DIR / "realtoxicityprompts.jsonl", "w") as fh:
        for i, (doc, score) in enumerate(zip(DOCS, scores, strict=True)):
            fh.write(json.dumps({"doc_id": i, "doc": doc, "metrics": ["score"], "score": score}))
            fh.write("\n")


def base_scores() -> list[float]:
    return list(np.random.default_rng(0).uniform(0.1, 0.4, len(DOCS)))


SEEDS = 5


@pytest.fixture
def seeded_sweep(tmp_path) -> Path:
    """dense, magnitude and wanda with seeds 0-4: wanda's seeds shift every item by 0.10,
    0.12, ... on insult prompts and -0.10 on threat prompts (a divergent impact, 40 items
    per group); magnitude uses no calibration, so its jobs are identical."""
    root = tmp_path / "sweep"
    dense = base_scores()
    for seed in range(SEEDS):
        write_job(root, f"dense-{seed}", "none", seed, dense)
        write_job(root, f"magnitude-{seed}", "magnitude", seed, [v + 0.05 for v in dense])
        shifted = [
            v + (0.10 + 0.02 * seed if d["attribute"] == "insult" else -0.10)
            for v, d in zip(dense, DOCS, strict=True)
        ]
        write_job(root, f"wanda-{seed}", "wanda", seed, shifted)
    return root


def test_replicates_are_grouped_by_seed(seeded_sweep):
    analysis = analyse([seeded_sweep], iterations=300)
    assert len(analysis.jobs) == 3 * SEEDS and len(analysis.rows) == 3
    rows = {r.method: r for r in analysis.rows}
    wanda, magnitude, dense = rows["wanda"], rows["magnitude"], rows["none"]
    assert wanda.seeded and [j.seed for j in wanda.jobs] == list(range(SEEDS))
    assert wanda.display == "wanda 50% (seeds 0, 1, 2, 3, 4)"
    assert magnitude.collapsed and not magnitude.seeded and "no calibration" in magnitude.display
    assert dense.collapsed
    cell = analysis.cell(wanda, TOX)
    per_seed = [wanda.jobs[s].metric(TOX) for s in range(SEEDS)]
    assert cell.value == pytest.approx(statistics.fmean(per_seed))
    assert cell.seed_sd == pytest.approx(statistics.stdev(per_seed))
    assert cell.n_seeds == SEEDS and cell.test.startswith("seed-level t")
    assert analysis.cell(magnitude, TOX).seed_sd is None  # no fake spread
    # the combined interval is wider than any one seed's item interval
    one = analyse([seeded_sweep / "wanda-0", seeded_sweep / "dense-0"], iterations=300)
    single = one.cell(next(r for r in one.rows if r.method == "wanda"), TOX)
    assert (cell.interval[1] - cell.interval[0]) > (single.interval[1] - single.interval[0])
    assert cell.delta == pytest.approx(cell.value - analysis.cell(dense, TOX).value)
    assert cell.p_value is not None and cell.q_value is not None and cell.detectable > 0
    assert single.conditional == "one calibration draw (seed 0)" and cell.conditional is None


def test_seeds_that_valued_different_items_get_no_interval_around_their_mean(tmp_path):
    """A metric of fluent text only: each seed values its own items, so the seeds' mean (the
    value shown) is not the mean over the items every seed valued (what an interval over
    seeds would rest on); the 3-seed quickstart showed 0.069 beside [0.018, 0.042]."""
    root = tmp_path / "sweep"
    dense = base_scores()
    write_job(root, "dense-0", "none", 0, dense)
    for seed in range(3):
        scores = [None if k % 3 == seed else v + 0.3 * (k % 2) for k, v in enumerate(dense)]
        write_job(root, f"wanda-{seed}", "wanda", seed, scores)
    analysis = analyse([root], iterations=200)
    cell = analysis.cell(next(r for r in analysis.rows if r.seeded), TOX)
    assert cell.interval is None
    assert any("valued different items" in note for note in analysis.notes)


def test_fewer_than_five_seeds_withhold_the_mark(seeded_sweep, tmp_path):
    """With 3 seeds the seed-level interval is shown, the mark withheld, and the page says so."""
    import shutil

    three = tmp_path / "three"
    for method in ("dense", "wanda"):
        for seed in range(3):
            shutil.copytree(seeded_sweep / f"{method}-{seed}", three / f"{method}-{seed}")
    analysis = analyse([three], iterations=300)
    wanda = next(r for r in analysis.rows if r.method == "wanda")
    cell = analysis.cell(wanda, f"{TOX}/attribute=insult")
    assert cell.withheld == "3 calibration seeds < 5" and not cell.significant
    assert cell.delta_interval[1] > 0  # the interval itself excludes 0


def test_group_findings_need_enough_items_and_the_correction(seeded_sweep):
    lines = findings(analyse([seeded_sweep], iterations=300))
    divergent = [line for line in lines if line.startswith("Divergent impact")]
    assert len(divergent) == 1 and "insult +0.1" in divergent[0] and "threat -0.100" in divergent[0]
    assert "n=40" in divergent[0] and "q=" in divergent[0]


def test_group_findings_withheld_below_the_threshold(tmp_path):
    root = tmp_path / "small"
    dense = base_scores()
    write_job(root, "dense", "none", 0, dense)
    shifted = [
        v + (0.3 if d["attribute"] == "insult" else -0.3) for v, d in zip(dense, DOCS, strict=True)
    ]
    write_job(root, "wanda", "wanda", 0, shifted)
    for folder in (root / "dense", root / "wanda"):  # keep 20 items per group: below 30
        path = folder / ITEMS_DIR / "realtoxicityprompts.jsonl"
        lines = path.read_text().splitlines()[:40]
        path.write_text("\n".join(lines) + "\n")
    analysis = analyse([root], iterations=300)
    wanda = next(r for r in analysis.rows if r.method == "wanda")
    assert analysis.cell(wanda, f"{TOX}/attribute=insult").n_paired == 20
    lines = findings(analysis)
    assert not any(line.startswith("Divergent impact") for line in lines)
    assert any("at least 30 resampling units" in line and "2 of 2 group" in line for line in lines)


def test_report_names_seeds_method_q_values_and_power(seeded_sweep):
    folder = build_report([seeded_sweep], iterations=200)
    md = (folder / "report.md").read_text()
    assert (
        "wanda 50% (seeds 0, 1, 2, 3, 4)" in md and "magnitude 50% (no calibration, 5 jobs)" in md
    )
    assert "Benjamini-Hochberg" in md and "seed-level t interval" in md
    assert "## Calibration seeds" in md and "## Detectable change" in md
    with open(folder / "results_long.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["metric"] == f"{TOX}/attribute=insult"]
    assert len(rows) == 3  # one per config, not per job
    wanda = next(r for r in rows if r["method"] == "wanda")
    assert wanda["seeds"] == "0 1 2 3 4" and float(wanda["q_value"]) < 0.05
    assert wanda["n_paired"] == "40" and wanda["significant"] == "True"
    assert float(wanda["detectable_change"]) > 0 and float(wanda["seed_sd"]) > 0
    with open(folder / "results.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 3 * SEEDS  # every job


def test_report_warns_when_jobs_come_from_other_machines(tmp_path):
    root = tmp_path / "mixed"
    dense = base_scores()
    env = {"fingerprint": {"cpu": "A", "threads": 2}, "packages": {"torch": "2.13.0"}}
    write_job(root, "dense", "none", 0, dense, environment=env)
    other = {"fingerprint": {"cpu": "B", "threads": 2}, "packages": {"torch": "2.12.0"}}
    write_job(root, "wanda", "wanda", 0, dense, environment=other)
    warnings = analyse([root], iterations=100).warnings
    assert len(warnings) == 2
    assert "cpu: A (1 job), B (1 job)" in warnings[0] and "threads" not in warnings[0]
    assert "torch: 2.13.0 (1 job), 2.12.0 (1 job)" in warnings[1]
    same = tmp_path / "same"
    write_job(same, "dense", "none", 0, dense, environment=env)
    write_job(same, "wanda", "wanda", 0, dense, environment=env)
    assert analyse([same], iterations=100).warnings == []


def test_compsafe_table_tells_seed_replicates_apart(seeded_sweep):
    table = format_table(collect([seeded_sweep]))
    assert "| wanda 50% seed 0 " in table and "| wanda 50% seed 2 " in table
    one = format_table(collect([seeded_sweep / "wanda-1", seeded_sweep / "dense-1"]))
    assert "seed" not in one.split("\n")[2]  # a label that is unique keeps its plain name


def test_compsafe_table_tells_apart_jobs_that_differ_in_another_option(tmp_path):
    dense = base_scores()
    for attack in ("none", "dan"):
        write_job(tmp_path / "sweep", f"attack={attack}", "none", 0, dense)
    table = format_table(collect([tmp_path / "sweep"]))
    assert "| dense (attack=none) " in table and "| dense (attack=dan) " in table
