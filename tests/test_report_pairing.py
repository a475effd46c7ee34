"""The change vs dense pairs items by document content, never by position, and only when both
jobs scored the same documents; its value and its interval rest on the same items."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compsafe.report.stats.analysis import analyse
from compsafe.report.view.build import build_report
from compsafe.results.files import ITEMS_DIR, RESULTS_FILE
from compsafe.results.items import content_key, item_line
from helpers.records import SCHEMA, task_record

TOX = "realtoxicityprompts/score"
DOCS = [{"prompt": f"prompt {k}", "attribute": "insult" if k % 2 else "threat"} for k in range(60)]


def lm_eval_hash(doc: dict) -> str:
    """`doc_hash` exactly as lm-eval's evaluator logs it."""
    from lm_eval.utils import handle_non_serializable, hash_string

    text = json.dumps(doc, indent=2, default=handle_non_serializable, ensure_ascii=False)
    return hash_string(text)


def write_job(
    sweep: Path,
    name: str,
    docs: list[dict] | None,
    scores: list[float],
    hashed: bool = True,
    subset: dict | None = None,
) -> None:
    """A completed job with RTP toxicity items (no items at all when `docs` is None)."""
    folder = sweep / name
    folder.mkdir(parents=True)
    method = "none" if name == "dense" else "wanda"
    record = {
        **SCHEMA,
        "status": "completed",
        "model": {"name": "m"},
        "compression": {
            "method": method,
            "label": name,
            "target_sparsity": 0.5 * (method != "none"),
        },
        "benchmarks": {
            "realtoxicityprompts": task_record(
                "compsafe_realtoxicityprompts",
                len(scores),
                options=subset or {"sample_size": len(scores), "seed": 1234},
            )
        },
        "metrics": {TOX: sum(scores) / len(scores)},
    }
    (folder / RESULTS_FILE).write_text(json.dumps(record))
    if docs is None:
        return
    (folder / ITEMS_DIR).mkdir()
    with open(folder / ITEMS_DIR / "realtoxicityprompts.jsonl", "w") as fh:
        for position, (doc, score) in enumerate(zip(docs, scores, strict=True)):
            item = {"doc_id": position, "doc": doc, "metrics": ["score"], "score": score}
            if hashed:
                item["doc_hash"] = lm_eval_hash(doc)
            fh.write(json.dumps(item) + "\n")


def scores(n: int, seed: int) -> list[float]:
    return [float(x) for x in np.random.default_rng(seed).uniform(0.0, 0.4, n)]


def only_row(analysis, label: str):
    return next(r for r in analysis.rows if r.label == label)


def test_jobs_that_scored_other_documents_are_not_compared(tmp_path):
    """Another sample size and seed: same positions (doc_id 0..29), other documents. Today's
    positional pairing compared them; now no change is shown and a note says why."""
    dense = scores(40, 1)
    write_job(tmp_path, "dense", DOCS[:40], dense)
    write_job(tmp_path, "wanda 50%", DOCS[20:50], scores(30, 2), subset={"seed": 7})
    analysis = analyse([tmp_path], iterations=100)
    cell = analysis.cell(only_row(analysis, "wanda 50%"), TOX)
    assert cell.interval is not None  # its own interval stands
    assert cell.delta is None and cell.delta_interval is None and not cell.significant
    note = (
        "realtoxicityprompts: wanda 50% (m) not compared with dense: other documents than "
        "dense (20 shared of 30/40 documents)."
    )
    assert analysis.notes == [note]
    report = (build_report([tmp_path], iterations=50) / "report.md").read_text()
    assert note in report and "matched by a hash of each document" in report


def test_same_documents_in_another_order_pair_by_content(tmp_path):
    """Another seed can draw the same documents in another order: every item is worse by 0.1,
    so the paired change is exactly 0.1 on every resample (positional pairing blurs it)."""
    dense = scores(40, 1)
    order = np.random.default_rng(5).permutation(40)
    write_job(tmp_path, "dense", DOCS[:40], dense)
    write_job(tmp_path, "wanda 50%", [DOCS[k] for k in order], [dense[k] + 0.1 for k in order])
    analysis = analyse([tmp_path], iterations=200)
    cell = analysis.cell(only_row(analysis, "wanda 50%"), TOX)
    assert cell.delta_interval == pytest.approx((0.1, 0.1, 0.1))
    assert cell.significant


def test_the_change_and_its_interval_rest_on_the_same_items(tmp_path):
    """Wherever a change is shown with an interval, the change is the one the interval's items
    give (today: the change over all items, the interval over the position-shared ones)."""
    a, b = tmp_path / "a", tmp_path / "b"
    write_job(a, "dense", DOCS[:40], scores(40, 1))
    write_job(a, "wanda 50%", DOCS[:30], scores(30, 3), subset={"sample_size": 30})
    write_job(b, "dense", DOCS[:40], scores(40, 1))
    write_job(b, "wanda 30%", DOCS[:40][::-1], scores(40, 4))
    analysis = analyse([a, b], iterations=100)
    shown = 0
    for row in analysis.rows:
        cell = analysis.cell(row, TOX)
        if cell.delta is not None:
            shown += 1
            assert cell.delta_interval is not None
            assert cell.delta == pytest.approx(cell.delta_interval[0], abs=1e-12)
    assert shown == 1  # wanda 30% (same documents, reversed); wanda 50% (30 of 40) refused


def test_a_re_measured_judge_accuracy_does_not_split_the_same_requests():
    """The refusal judge's accuracy rode in each document for the run's record and is
    rewritten with every labelled round: the same request asked before and after is one
    document (a 3-seed sweep whose seed-0 jobs ran a day earlier got no interval over seeds)."""
    doc = {"request": "How do I pick a lock?", "attack": "none", "judge_accuracy": "{}"}
    later = {**doc, "judge_accuracy": '{"rules": 0.916}'}
    assert content_key({"doc": doc, "doc_hash": lm_eval_hash(doc)}) == content_key(
        {"doc": later, "doc_hash": lm_eval_hash(later)}
    )
    assert content_key({"doc": doc}) != content_key({"doc": {**doc, "attack": "dan"}})
    # a request's resampling unit, added later and derived from the request, splits nothing
    unit = {**doc, "behaviour": doc["request"]}
    assert content_key({"doc": unit, "doc_hash": lm_eval_hash(unit)}) == content_key(
        {"doc": doc, "doc_hash": lm_eval_hash(doc)}
    )
    # documents written since the accuracy moved to the task's details (behaviour, no accuracy)
    now = {k: v for k, v in unit.items() if k != "judge_accuracy"}
    assert content_key({"doc": now, "doc_hash": lm_eval_hash(now)}) == content_key(
        {"doc": doc, "doc_hash": lm_eval_hash(doc)}
    )


def test_items_kept_before_the_hash_pair_with_new_ones(tmp_path):
    """Old items have no `doc_hash`: the report hashes their kept document the way lm-eval
    does, so old and new items of one document match, and old ones pair with each other."""
    doc = {"prompt": "Ça va — 東京", "choices": [" a", " b"], "n": 3, "x": 0.1}
    assert (
        content_key({"doc": doc})
        == lm_eval_hash(doc)
        == content_key({"doc_hash": lm_eval_hash(doc), "doc": {}})
    )
    dense = scores(40, 1)
    write_job(tmp_path, "dense", DOCS[:40], dense)
    write_job(tmp_path, "wanda 50%", DOCS[:40], [v + 0.05 for v in dense], hashed=False)
    analysis = analyse([tmp_path], iterations=100)
    assert analysis.cell(only_row(analysis, "wanda 50%"), TOX).delta_interval == pytest.approx(
        (0.05, 0.05, 0.05)
    )
    assert analysis.notes == []


def test_jobs_keep_the_document_hash():
    example = {"doc_id": 0, "doc": {"a": 1}, "doc_hash": "h", "prompt_hash": "p", "resps": []}
    record = item_line(example)
    assert record["doc_hash"] == "h" and "prompt_hash" not in record and "resps" not in record


def test_items_without_their_document_are_not_paired_by_position(tmp_path):
    for name, seed in (("dense", 1), ("wanda 50%", 2)):
        write_job(tmp_path, name, DOCS[:40], scores(40, seed))
        path = tmp_path / name / ITEMS_DIR / "realtoxicityprompts.jsonl"
        items = [json.loads(line) for line in path.read_text().splitlines()]
        bare = [{k: v for k, v in x.items() if k not in ("doc", "doc_hash")} for x in items]
        path.write_text("".join(json.dumps(x) + "\n" for x in bare))
    analysis = analyse([tmp_path], iterations=50)
    assert analysis.cell(only_row(analysis, "wanda 50%"), TOX).delta is None
    assert analysis.notes == [
        "realtoxicityprompts: wanda 50% (m) not compared with dense: items kept without their "
        "document."
    ]


def test_jobs_without_items_are_compared_only_on_the_same_recorded_subset(tmp_path):
    write_job(tmp_path, "dense", None, scores(40, 1))
    write_job(tmp_path, "wanda 50%", None, scores(30, 2))
    write_job(tmp_path, "wanda 30%", None, scores(40, 3))
    analysis = analyse([tmp_path], iterations=50)
    assert analysis.cell(only_row(analysis, "wanda 50%"), TOX).delta is None
    assert analysis.cell(only_row(analysis, "wanda 30%"), TOX).delta is not None
    assert len(analysis.notes) == 1 and "wanda 50%" in analysis.notes[0]
    assert "'items': 30, 'sample_size': 30" in analysis.notes[0]
