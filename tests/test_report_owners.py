"""One owner per concern in the report: one metric catalogue, one bootstrap, one group name."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hydra.types import RunMode

from compsafe.naming import sweep_group_name
from compsafe.report.data.records import Row
from compsafe.report.stats.bootstrap import Engine
from compsafe.report.view import table
from helpers import REPO
from helpers.records import SCHEMA, builtin_record, task_record
from helpers.stats import bootstrap_interval, sample

QUICK_TASKS = {
    "perplexity": "compsafe_perplexity",
    "crows_pairs": "compsafe_crows_pairs",
    "realtoxicityprompts": "compsafe_realtoxicityprompts",
    "bold": "compsafe_bold",
    "bbq": "compsafe_bbq",
    "refusal": "compsafe_refusal",
}
PERPLEXITY = "perplexity/token_perplexity"


def quick_record(**metrics) -> dict:
    """A record of the quickstart's tasks (in benchmark=quick's order), as a job writes it."""
    return {
        **SCHEMA,
        "status": "completed",
        "model": {"name": "m"},
        "compression": {"label": "wanda 50%", "measured_sparsity": 0.5},
        "benchmarks": {key: task_record(task) for key, task in QUICK_TASKS.items()},
        "metrics": metrics,
        "timings": {"total": 12.4},
    }


# compsafe-table's columns before the catalogues were merged (title, where, format), plus the
# refusal columns added with that dimension, the off-topic share of issue 22 and the overall
# sparsity of issue 23 (zeros over all non-embedding weights): the table
# must print exactly these.
HEADLINE_BEFORE = (
    ("sparsity", ("compression", "measured_sparsity"), "{:.3f}"),
    ("overall", ("compression", "overall_sparsity"), "{:.3f}"),
    ("ppl", ("metrics", "perplexity/token_perplexity"), "{:.2f}"),
    ("crows stereo", ("metrics", "crows_pairs/pct_stereotype"), "{:.3f}"),
    ("crows lld", ("metrics", "crows_pairs/likelihood_diff"), "{:.3f}"),
    ("rtp tox", ("metrics", "realtoxicityprompts/score"), "{:.3f}"),
    ("rtp >=.5", ("metrics", "realtoxicityprompts/share_high"), "{:.3f}"),
    ("rtp degen", ("metrics", "realtoxicityprompts/degenerate"), "{:.2f}"),
    ("rtp cont ppl", ("metrics", "realtoxicityprompts/continuation_perplexity"), "{:.1f}"),
    ("bold sent", ("metrics", "bold/sentiment"), "{:.3f}"),
    ("bold neg", ("metrics", "bold/negative"), "{:.3f}"),
    ("bbq acc", ("metrics", "bbq/acc"), "{:.3f}"),
    ("bbq s_amb", ("metrics", "bbq/bias_ambig"), "{:+.3f}"),
    ("bbq s_dis", ("metrics", "bbq/bias_disambig"), "{:+.3f}"),
    ("refusal", ("metrics", "refusal/refusal_rate"), "{:.2f}"),
    ("asr", ("metrics", "refusal/attack_success"), "{:.2f}"),
    ("ref degen", ("metrics", "refusal/degenerate"), "{:.2f}"),
    ("ref offtop", ("metrics", "refusal/off_topic"), "{:.2f}"),
    ("compress s", ("timings", "compress"), "{:.0f}"),
    ("seconds", ("timings", "total"), "{:.0f}"),
)


def test_table_columns_are_the_old_headline_columns(tmp_path):
    """compsafe-table's columns come from the records' catalogues (the task YAMLs): for the
    quickstart's tasks, exactly the columns the table had before the catalogue moved there."""
    columns = table.table_columns([Row(tmp_path, tmp_path, quick_record())])
    assert [(c.title, c.where, c.fmt) for c in columns] == list(HEADLINE_BEFORE)


def test_table_header_is_the_catalogue_titles(tmp_path):
    record = quick_record()
    for _, (section, key), _ in HEADLINE_BEFORE:
        record.setdefault(section, {})[key] = 1
    header = table.format_table([Row(tmp_path, tmp_path, record)]).splitlines()[0]
    assert [h.strip() for h in header.strip("|").split("|")][1:] == [
        t for t, _, _ in HEADLINE_BEFORE
    ]


def test_format_table_is_unchanged(tmp_path):
    record = quick_record(**{PERPLEXITY: 21.456, "bbq/bias_ambig": 0.25, "bbq/acc": math.nan})
    assert table.format_table([Row(tmp_path, tmp_path, record)]).splitlines()[:4] == [
        "| config    | sparsity | ppl   | bbq acc | bbq s_amb | seconds |",
        "|-----------|----------|-------|---------|-----------|---------|",
        "| wanda 50% | 0.500    | 21.46 | -       | +0.250    | 12      |",
        "model: m",
    ]


def test_builtin_tasks_are_downstream_in_their_records(tmp_path):
    from compsafe.report.data.catalogue import Catalogue, is_safety

    record = quick_record()
    record["benchmarks"]["mmlu"] = builtin_record("mmlu", {"acc": True})
    catalogue = Catalogue.from_rows([Row(tmp_path, tmp_path, record)])
    assert catalogue.get("mmlu/acc").downstream and not is_safety(catalogue.get("mmlu/acc"))
    assert catalogue.perplexity.key == PERPLEXITY and not is_safety(catalogue.perplexity)
    assert is_safety(catalogue.get("realtoxicityprompts/score"))
    assert is_safety(catalogue.get("bbq/bias_ambig"))


def test_a_metric_a_task_declares_reaches_the_report_from_the_record(tmp_path):
    """BBQ's `unknown` share is declared in its YAML only: the record carries it, the report
    shows it with its title and direction (no agreed one), nothing in report/ names it."""
    from compsafe.report.data.catalogue import Catalogue

    metric = Catalogue.from_rows([Row(tmp_path, tmp_path, quick_record())]).get("bbq/unknown")
    assert metric.entry.shown and metric.higher_is_worse is None
    assert metric.title == 'BBQ "unknown" answers' and metric.dimension == "Representational harm"
    report_code = [p.read_text() for p in (REPO / "src/compsafe/report").rglob("*.py")]
    assert not any("bbq/unknown" in code or '"unknown" answers' in code for code in report_code)


def test_table_only_columns_stay_out_of_the_report_tables(tmp_path):
    from compsafe.report.data.catalogue import Catalogue

    catalogue = Catalogue.from_rows([Row(tmp_path, tmp_path, quick_record())])
    shown = {m.key for m in catalogue.shown()}
    assert "bbq/acc" in {m.key for m in catalogue.columns()} and "bbq/acc" not in shown


VALUES = [float(x) for x in np.random.default_rng(11).uniform(0, 1, 25)]


def mean(values):
    return sum(values) / len(values)


def test_a_value_and_its_change_against_zero_share_their_resamples():
    """Paired against an all-zero dense, the change's interval is the value's interval: the
    two uses draw the same resamples (one engine)."""
    engine = Engine(300, 9)
    value = engine.value(sample(VALUES, mean)).interval()
    change = engine.change(sample(VALUES, mean), sample([0.0] * len(VALUES), mean)).interval()
    assert change == pytest.approx(value, abs=1e-12)


def test_no_interval_when_resamples_are_not_finite():
    assert bootstrap_interval([1.0, 2.0, math.nan], mean, 100, 0) is None
    assert bootstrap_interval([1.0], mean, 100, 0) is None


def test_jobs_and_report_share_the_sweep_group_name(tmp_path, monkeypatch):
    from compsafe.cli import sweep_group
    from compsafe.report.view import export

    sweep = Path("multirun") / "quickstart-1f0c2a9e"
    assert sweep_group_name(sweep) == "multirun_quickstart-1f0c2a9e"
    assert sweep_group_name(str(sweep)) == sweep_group_name(sweep)
    multirun = SimpleNamespace(mode=RunMode.MULTIRUN, sweep=SimpleNamespace(dir=str(sweep)))
    assert sweep_group(multirun) == sweep_group_name(sweep)
    assert sweep_group(SimpleNamespace(mode=RunMode.RUN, sweep=multirun.sweep)) is None

    seen = {}

    class FakeRun:
        def log(self, _):
            pass

    fake = SimpleNamespace(
        init=lambda **kw: seen.update(kw) or FakeRun(),
        Table=lambda **kw: None,
        Image=lambda path: None,
        finish=lambda: None,
    )
    monkeypatch.setitem(sys.modules, "wandb", fake)
    wide = tmp_path / "results.csv"
    wide.write_text("a\n1\n")
    analysis = SimpleNamespace(rows=[SimpleNamespace(sweep=sweep)])
    export.log_to_wandb(analysis, wide, [], "compsafe", "offline")
    assert seen["group"] == sweep_group(multirun)


def test_overall_sparsity_is_shown_beside_the_targeted_sparsity(tmp_path):
    """An MoE whose experts were left out is 50 % sparse in its targets, not overall: the
    table and the report's overview show both (issue 23)."""
    from compsafe.report.view.overview import sparsity_text

    record = quick_record(**{PERPLEXITY: 21.456})
    record["compression"].update(overall_sparsity=0.11, targeted_share=0.22)
    lines = table.format_table([Row(tmp_path, tmp_path, record)]).splitlines()
    assert lines[0].split("|")[2:4] == [" sparsity ", " overall "]
    assert lines[2].split("|")[2:4] == [" 0.500    ", " 0.110   "]
    assert sparsity_text(record["compression"]) == "0.50 (0.11 overall)"
    assert sparsity_text({"measured_sparsity": 0.5, "overall_sparsity": 0.498}) == "0.50"
