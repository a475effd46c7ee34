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
from compsafe.report import table
from compsafe.report.catalogue import (
    DIMENSIONS,
    METRICS,
    PERPLEXITY,
    TABLE_COLUMNS,
    TABLE_METRICS,
    safety_metrics,
)
from compsafe.report.stats import Items, bootstrap_interval, paired_difference

# compsafe-table's columns before the catalogues were merged (title, where, format), plus the
# refusal columns added with that dimension: the table must print exactly these.
HEADLINE_BEFORE = (
    ("sparsity", ("compression", "measured_sparsity"), "{:.3f}"),
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
    ("compress s", ("timings", "compress"), "{:.0f}"),
    ("seconds", ("timings", "total"), "{:.0f}"),
)


def test_table_columns_are_the_old_headline_columns():
    assert [(c.title, c.where, c.fmt) for c in TABLE_COLUMNS] == list(HEADLINE_BEFORE)


def test_table_metric_columns_come_from_the_catalogue():
    """Every metric column is a catalogue metric's own column, and every metric that names a
    column is in the table (no column defined twice, none forgotten)."""
    metric_columns = [c for c in TABLE_COLUMNS if c.where[0] == "metrics"]
    assert metric_columns == [METRICS[key].table_column for key in TABLE_METRICS]
    assert {m.key for m in METRICS.values() if m.column} == set(TABLE_METRICS)
    assert not hasattr(table, "HEADLINE")


def test_table_reads_the_catalogue(tmp_path):
    """compsafe-table holds no column list of its own: its header is the catalogue's titles."""
    from compsafe.report import catalogue

    assert table.TABLE_COLUMNS is catalogue.TABLE_COLUMNS
    record = {"status": "completed", "compression": {"label": "x"}, "metrics": {}}
    for column in TABLE_COLUMNS:
        section, key = column.where
        record.setdefault(section, {})[key] = 1
    header = table.format_table([(tmp_path, record)]).splitlines()[0]
    assert [h.strip() for h in header.strip("|").split("|")][1:] == [c.title for c in TABLE_COLUMNS]


def test_format_table_is_unchanged(tmp_path):
    record = {
        "status": "completed",
        "model": {"name": "m"},
        "compression": {"label": "wanda 50%", "measured_sparsity": 0.5},
        "metrics": {PERPLEXITY: 21.456, "bbq/bias_ambig": 0.25, "bbq/acc": math.nan},
        "timings": {"total": 12.4},
    }
    assert table.format_table([(tmp_path, record)]).splitlines() == [
        "| config    | sparsity | ppl   | bbq acc | bbq s_amb | seconds |",
        "|-----------|----------|-------|---------|-----------|---------|",
        "| wanda 50% | 0.500    | 21.46 | -       | +0.250    | 12      |",
        "model: m",
    ]


def test_downstream_tasks_are_flagged_in_the_catalogue():
    flagged = {m.key for m in METRICS.values() if m.downstream}
    assert flagged == {"mmlu/acc", "truthfulqa_mc2/acc"}
    every = [m for ms in DIMENSIONS.values() for m in ms]
    safety = {m.key for m in safety_metrics(every)}
    assert not safety & (flagged | {PERPLEXITY})
    assert {"realtoxicityprompts/score", "bbq/bias_ambig"} <= safety


def test_table_only_metrics_stay_out_of_the_report():
    in_report = {m.key for ms in DIMENSIONS.values() for m in ms}
    assert "bbq/acc" in METRICS and "bbq/acc" not in in_report


# Measured with the two separate bootstrap loops, before they became one (same seed, same draws).
VALUES = [float(x) for x in np.random.default_rng(11).uniform(0, 1, 25)]


def mean(values):
    return sum(values) / len(values)


def test_one_bootstrap_gives_the_intervals_measured_before():
    assert bootstrap_interval(VALUES, mean, 500, 4) == (0.37038864774872593, 0.6011947456459652)
    ours = Items(list(range(25)), {"score": [v + 0.1 * (i % 3) for i, v in enumerate(VALUES)]})
    dense = Items(list(range(24, -1, -1)), {"score": VALUES[::-1]})
    assert paired_difference(ours, dense, "score", mean, 500, 4) == (
        0.09600000000000003,
        0.06399999999999989,
        0.128,
    )


def test_both_uses_draw_the_same_resamples():
    """Paired against an all-zero dense, the change's interval is the plain interval."""
    ids = list(range(len(VALUES)))
    zero = Items(ids, {"score": [0.0] * len(VALUES)})
    paired = paired_difference(Items(ids, {"score": VALUES}), zero, "score", mean, 300, 9)
    assert paired[1:] == pytest.approx(bootstrap_interval(VALUES, mean, 300, 9), abs=1e-12)


def test_bootstrap_gives_up_when_most_resamples_are_not_finite():
    assert bootstrap_interval([1.0, 2.0, math.nan], mean, 100, 0) is None
    assert bootstrap_interval([1.0], mean, 100, 0) is None


def test_jobs_and_report_share_the_sweep_group_name(tmp_path, monkeypatch):
    from compsafe.cli import sweep_group
    from compsafe.report import export

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


def test_report_modules_stay_small():
    folder = Path(__file__).parents[1] / "src" / "compsafe" / "report"
    sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("*.py")}
    assert max(sizes.values()) <= 300, sizes
