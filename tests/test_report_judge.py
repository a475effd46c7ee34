"""The report says how far the refusal judge's counts can be trusted, where they are read: its
measured accuracy and per-config compliance gaps as the jobs recorded them, and which models'
answers were never labelled."""

from __future__ import annotations

import json
import re
from pathlib import Path

from compsafe.report.stats.analysis import analyse
from compsafe.report.view.judge import recorded_accuracy
from compsafe.report.view.page import md_text
from compsafe.report.view.render import document
from compsafe.results.files import ITEMS_DIR, RESULTS_FILE
from helpers.records import SCHEMA, task_record

SHIPPED = (
    Path(__file__).resolve().parents[1] / "src/compsafe/evaluation/scorers/judge_accuracy.json"
)
LABELLED = json.loads(SHIPPED.read_text())["rules"]["labelled_model"]
# A second labelled model's held-out figures, as `other_models` records them
SECOND = {
    "accuracy": 0.852,
    "interval": [0.809, 0.887],
    "n": 318,
    "held_out": {"heldout66": "271/318"},
}


def write_job(
    root: Path,
    name: str,
    method: str,
    accuracy: str,
    model: str = LABELLED,
    xstest: bool = False,
    attacks: list[str] | None = None,
    sha256: str | None = None,
    rate: float = 0.5,
) -> None:
    """A completed refusal job of 24 requests whose record carries `accuracy` as the task's
    `judge_accuracy` detail (what the refusal judge states once per task); with `xstest`, an
    XSTest entry recording the same."""
    folder = root / name
    (folder / ITEMS_DIR).mkdir(parents=True)
    outcomes = [1] * 6 + [0] * 18 if method == "none" else [1] * 2 + [0] * 22
    bench = task_record("compsafe_refusal", len(outcomes), details={"judge_accuracy": accuracy})
    if attacks is not None:
        bench["options"] = {"attack": attacks}
    record = {
        **SCHEMA,
        "status": "completed",
        "model": {"name": Path(model).stem, "path": model, "sha256": sha256},
        "compression": {"method": method, "label": name, "target_sparsity": rate},
        "benchmarks": {"refusal": bench}
        | (
            {"xstest": task_record("compsafe_xstest", 10, details={"judge_accuracy": accuracy})}
            if xstest
            else {}
        ),
        "metrics": {"refusal/refusal_rate": sum(outcomes) / len(outcomes)},
    }
    (folder / RESULTS_FILE).write_text(json.dumps(record))
    with open(folder / ITEMS_DIR / "refusal.jsonl", "w") as fh:
        for i, outcome in enumerate(outcomes):
            doc = {"request": f"r{i}", "risk_area": "a", "attack": "none"}
            line = {"doc_id": i, "doc": doc, "metrics": ["refusal_rate"], "refusal_rate": outcome}
            fh.write(json.dumps(line) + "\n")


def page(root: Path, tmp_path: Path) -> tuple[str, str]:
    built = document(analyse([root], iterations=100), [], None, "t")
    return built.markdown(tmp_path), built.html(tmp_path)


def shipped_sweep(tmp_path: Path, jobs: list[tuple[str, str, float]]) -> tuple[str, str]:
    """A sweep of dense and `jobs` (name, method, pruning rate), each recording the shipped
    judge's figures: the page's markdown and its Refusal section."""
    recorded = json.dumps({"rules": json.loads(SHIPPED.read_text())["rules"]})
    write_job(tmp_path / "sweep", "dense", "none", recorded)
    for name, method, rate in jobs:
        write_job(tmp_path / "sweep", name, method, recorded, rate=rate)
    markdown, _ = page(tmp_path / "sweep", tmp_path)
    return markdown, markdown[markdown.index("## Refusal") :]


def test_the_refusal_section_states_the_judges_measured_accuracy_and_gaps(tmp_path):
    markdown, refusal = shipped_sweep(tmp_path, [("wanda", "wanda", 0.5)])
    rules = json.loads(SHIPPED.read_text())["rules"]
    low, high = rules["interval"]
    assert f"on {rules['accuracy']:.3f} [{low:.3f}, {high:.3f}]" in refusal
    assert f"On {rules['n']:,} labelled answers" in refusal
    complied = rules["per_outcome"]["complied"]
    assert f"finds {complied['k']} of the {complied['n']} answers" in refusal
    refused = rules["per_outcome"]["refused"]  # a refusal rate inherits what the judge misses
    assert f"finds {refused['k']} of the {refused['n']} the readers call refusals" in refusal
    assert f"{refused['k']} of the {refused['judged']} it counts are" in refusal
    for config, v in rules["complied_by_config"].items():
        # a rate in the name (`magnitude25`: "magnitude 25 %"), not a scheme's group
        # (`gptq w8 g64`, round 76, is shown as it is)
        rate = re.fullmatch(r"([a-z_]+)(\d{2})", config)
        name = f"{rate[1]} {int(rate[2])} %" if rate else config
        # a name is markdown-escaped on the page (round 73's `fp8_dynamic`: `fp8\_dynamic`)
        assert f"{md_text(name)} {v['judged']}/{v['readers']} of {v['n']}" in refusal
    assert "magnitude 25 % " in refusal  # round 68's rate, named as a reader names it
    assert "inherits the difference of these gaps" in refusal
    assert "had none labelled" not in refusal  # the labelled model itself
    assert markdown.count("**Judge.**") == 1  # one note for the task, not one per job


def test_another_model_is_named_as_unmeasured_and_names_stay_text(tmp_path):
    shipped = json.loads(SHIPPED.read_text())["rules"]
    hostile = {
        **shipped,
        "complied_by_config": {"<img src=x onerror=alert(1)>": {"judged": 1, "readers": 2, "n": 3}},
        "labelled_model": LABELLED,
    }
    recorded = json.dumps({"<script>alert(1)</script>": hostile})
    other = "org/<b>other</b>-model"
    write_job(tmp_path / "sweep", "dense", "none", recorded, model=other)
    write_job(tmp_path / "sweep", "wanda", "wanda", recorded, model=other)
    markdown, html = page(tmp_path / "sweep", tmp_path)
    assert "had none labelled: its judge error was not measured" in markdown
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>other" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_another_task_is_told_the_labels_are_not_its_prompts(tmp_path):
    """XSTest records the judge's accuracy too; its safe prompts were never labelled, and its
    compliance is not attack success."""
    recorded = json.dumps({"rules": json.loads(SHIPPED.read_text())["rules"]})
    write_job(tmp_path / "sweep", "dense", "none", recorded, xstest=True)
    write_job(tmp_path / "sweep", "wanda", "wanda", recorded, xstest=True)
    markdown, _ = page(tmp_path / "sweep", tmp_path)
    notes = [line for line in markdown.splitlines() if line.startswith("**Judge.**")]
    refusal, xstest = sorted(notes, key=lambda line: "xstest" in line)
    assert "attack success" in refusal and "not to this task's prompts" not in refusal
    assert "attack success" not in xstest and "not to this task's prompts" in xstest


def test_a_record_whose_details_are_not_a_mapping_adds_nothing():
    assert recorded_accuracy({"details": "judge_accuracy"}) == {}
    assert recorded_accuracy({"details": {"judge_accuracy": 3}}) == {}


def test_an_unreadable_or_absent_record_of_accuracy_adds_nothing(tmp_path):
    for i, accuracy in enumerate(("not json", "[1, 2]", json.dumps({"rules": {"n": 3}}), "{}")):
        root = tmp_path / f"sweep{i}"
        write_job(root, "dense", "none", accuracy)
        write_job(root, "wanda", "wanda", accuracy)
        markdown, _ = page(root, tmp_path)
        assert "**Judge.**" not in markdown


def test_each_attack_run_gets_its_measured_accuracy_or_is_named_as_unmeasured(tmp_path):
    """A template's answers (a persona, two replies) are not those of a direct request: the
    judge's accuracy is stated for the attacks the jobs ran, and an attack under which no
    answer was labelled is named (a test fails on the note that pooled every attack)."""
    rules = json.loads(SHIPPED.read_text())["rules"]
    per_attack = {
        "none": {"k": 90, "n": 100, "accuracy": 0.9, "interval": [0.826, 0.945]},
        "dan": {"k": 30, "n": 40, "accuracy": 0.75, "interval": [0.598, 0.858]},
        "past_tense": {
            "k": 80,
            "n": 100,
            "accuracy": 0.8,
            "interval": [0.711, 0.867],
            "complied_judged": 24,
            "complied_readers": 12,
        },
    }
    recorded = json.dumps({"rules": {**rules, "per_attack": per_attack}})
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        attacks = ["none", "dan", "past_tense", "future_tense"]
        write_job(tmp_path / "s", name, method, recorded, attacks=attacks)
    markdown, _ = page(tmp_path / "s", tmp_path)
    note = next(line for line in markdown.splitlines() if line.startswith("**Judge.**"))
    assert "By attack: dan 0.750 [0.598, 0.858] (n = 40), none 0.900 [0.826, 0.945]" in note
    assert "0.800 [0.711, 0.867] (n = 100; compliance counted 24, read 12)" in note
    assert "No answers under future\\_tense were labelled" in note  # Markdown-escaped name
    older = json.dumps({"rules": {k: v for k, v in rules.items() if k != "per_attack"}})
    write_job(tmp_path / "o", "dense", "none", older, attacks=["dan"])
    write_job(tmp_path / "o", "wanda", "wanda", older, attacks=["dan"])
    markdown, _ = page(tmp_path / "o", tmp_path)  # recorded before per-attack figures existed
    assert "**Judge.**" in markdown and "By attack" not in markdown
    assert "No answers under" not in markdown
    write_job(tmp_path / "t", "dense", "none", recorded, attacks="gcg_suffix")  # one name
    write_job(tmp_path / "t", "wanda", "wanda", recorded, attacks="gcg_suffix")
    markdown, _ = page(tmp_path / "t", tmp_path)
    assert "No answers under gcg\\_suffix" in markdown


def test_a_tense_comparison_states_the_judges_part_of_the_difference(tmp_path):
    """Past minus present attack success is the tense attack's effect. On the labelled
    questions asked both ways the judge counted dense's control 49 times where the readers
    found 39 (past 41 and 38): the note gives both per config where a sweep ran both tenses,
    and nothing where it ran one, or for a record without the figures."""
    rules = json.loads(SHIPPED.read_text())["rules"]
    keys = ("pairs", "past_judged", "present_judged", "past_readers", "present_readers")
    pairs = {
        "dense": dict(zip(keys, (60, 41, 49, 38, 39), strict=True)),
        "gptq": dict(zip(keys, (60, 5, 9, 6, 6), strict=True)),
        "magnitude": dict(zip(keys, (60, 0, 0, 0, 0), strict=True)),
    }
    recorded = json.dumps({"rules": {**rules, "tense_pairs": pairs}})
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "s", name, method, recorded, attacks=["past_tense", "present_tense"])
    markdown, _ = page(tmp_path / "s", tmp_path)
    note = next(line for line in markdown.splitlines() if line.startswith("**Judge.**"))
    assert (
        "dense 41 and 49 of 60 judged, 38 and 39 read (past minus present -0.133 judged, "
        "-0.017 read); gptq 5 and 9 of 60 judged, 6 and 6 read" in note
    )
    assert "magnitude" not in note.split("Past against present")[1]  # none found any
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "p", name, method, recorded, attacks=["past_tense"])
    assert "Past against present" not in page(tmp_path / "p", tmp_path)[0]
    bare = json.dumps({"rules": {k: v for k, v in rules.items() if k != "tense_pairs"}})
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "b", name, method, bare, attacks=["past_tense", "present_tense"])
    assert "Past against present" not in page(tmp_path / "b", tmp_path)[0]


def test_a_tense_record_that_is_not_finite_or_counts_no_pairs_adds_nothing(tmp_path):
    """results.json is untrusted input: an infinite count or a config of no pairs is skipped,
    never a crash of the report."""
    rules = json.loads(SHIPPED.read_text())["rules"]
    keys = ("pairs", "past_judged", "present_judged", "past_readers", "present_readers")
    pairs = {"dense": dict(zip(keys, (60, float("inf"), 1, 1, 1), strict=True)),
             "gptq": dict(zip(keys, (0, 1, 1, 1, 1), strict=True))}  # fmt: skip
    recorded = json.dumps({"rules": {**rules, "tense_pairs": pairs}})  # Infinity in the JSON
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "s", name, method, recorded, attacks=["past_tense", "present_tense"])
    markdown, _ = page(tmp_path / "s", tmp_path)
    assert "**Judge.**" in markdown and "Past against present" not in markdown


def test_the_note_gives_past_against_original_on_behaviours_asked_both_ways(tmp_path):
    """A sweep that ran `past_tense` and `original`: the judge's behaviours broken in each
    beside the readers', per config; nothing where the sweep ran one of them."""
    rules = json.loads(SHIPPED.read_text())["rules"]
    keys = ("behaviours", "past_judged", "original_judged", "past_readers", "original_readers")
    pairs = {"dense": dict(zip(keys, (40, 30, 26, 28, 22), strict=True)),
             "magnitude": dict(zip(keys, (40, 0, 0, 0, 0), strict=True))}  # fmt: skip
    recorded = json.dumps({"rules": {**rules, "original_pairs": pairs}})
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "s", name, method, recorded, attacks=["past_tense", "original"])
    markdown, _ = page(tmp_path / "s", tmp_path)
    note = next(line for line in markdown.splitlines() if line.startswith("**Judge.**"))
    assert (
        "dense 30 and 26 of 40 judged, 28 and 22 read (past minus original +0.100 judged, "
        "+0.150 read)" in note
    )
    assert "magnitude" not in note.split("Past tense against the original")[1]
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "p", name, method, recorded, attacks=["past_tense"])
    assert "against the original" not in page(tmp_path / "p", tmp_path)[0]


def test_a_model_never_labelled_is_told_how_far_the_judge_carried_to_another(tmp_path):
    """The record holds the judge's held-out accuracy on a second labelled model's answers
    (`other_models`); a job on a third model gets that figure, not only "not measured"."""
    shipped = json.loads(SHIPPED.read_text())["rules"]
    recorded = json.dumps({"rules": {**shipped, "other_models": {"<i>second</i>": SECOND}}})
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "sweep", name, method, recorded, model="org/third")
    markdown, html = page(tmp_path / "sweep", tmp_path)
    assert "its judge error was not measured" in markdown
    assert "(round 66): 0.852 [0.809, 0.887] on 318 answers" in markdown
    assert "<i>second" not in html
    labelled = tmp_path / "labelled"
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(labelled, name, method, recorded)
    markdown, _ = page(labelled, tmp_path)
    assert "0.852" not in markdown  # the labelled model's own figure is what it reads


def test_a_job_on_a_labelled_models_file_reads_that_models_own_figures(tmp_path):
    """A model is matched by its file's SHA-256, wherever the file lay: a job on the second
    labelled model's file, loaded from any folder, is told that model's own held-out figures,
    not that it had none labelled; the embedded model's file under another path is the
    labelled model itself."""
    shipped = json.loads(SHIPPED.read_text())["rules"]
    second = {**SECOND, "sha256": "1d961463"}
    recorded = json.dumps({"rules": {**shipped, "other_models": {"qwen-coder": second}}})
    digest = "1d961463" + "0" * 56
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "q", name, method, recorded, model="~/models/<q>", sha256=digest)
    markdown, html = page(tmp_path / "q", tmp_path)
    assert "had none labelled" not in markdown
    assert "is the file of qwen-coder" in markdown
    assert "0.852 [0.809, 0.887] of 318 answers (round 66)" in markdown
    assert "<q>" not in html
    moved = shipped["labelled_sha256"]
    for name, method in (("dense", "none"), ("wanda", "wanda")):
        write_job(tmp_path / "e", name, method, recorded, model="/elsewhere/x.gguf", sha256=moved)
    markdown, _ = page(tmp_path / "e", tmp_path)
    assert "had none labelled" not in markdown and "is the file of" not in markdown


def test_a_config_no_labelled_answer_comes_from_is_named_as_unmeasured(tmp_path):
    """The judge's accuracy depends on the rate (round 68: lower at 25 % than at 50 %), so a
    sweep's config at a rate no round read is named; one at a labelled rate is not."""
    jobs = [("wanda 30%", "wanda", 0.3), ("wanda 25%", "wanda", 0.25), ("wanda 50%", "wanda", 0.5)]
    _, refusal = shipped_sweep(tmp_path, jobs)
    assert "No answers of wanda 30 % were labelled" in refusal
    assert "judge's error there was not measured" in refusal
    assert "wanda 25 % were labelled" not in refusal and "wanda 25 %, " not in refusal


def test_labelled_names_follow_the_labels_naming():
    from compsafe.report.view.judge import labelled_name

    assert labelled_name({"method": "none"}) == "dense"
    assert labelled_name(None) == "dense"
    assert labelled_name({"method": "wanda", "target_sparsity": 0.5}) == "wanda"
    assert labelled_name({"method": "magnitude", "target_sparsity": 0.25}) == "magnitude25"
    assert labelled_name({"method": "gptq", "target_sparsity": None}) == "gptq"
    assert labelled_name({"method": "wanda", "target_sparsity": 0.5, "n_m": "2:4"}) == "wanda 2:4"
    assert labelled_name({"method": "wanda", "target_sparsity": 0.05}) == "wanda05"


def test_a_quantized_job_is_named_by_its_scheme_not_by_a_rate_of_0():
    """A real GPTQ job records target_sparsity 0.0 (round 67's records): it is the labels'
    `gptq` at the scheme the rounds read (4 bits, groups of 64), and another scheme is a
    config no round read (named, so the note calls it unmeasured); it was read as a pruning
    rate of 0 % ("gptq 0 %", unmeasured) before."""
    from compsafe.report.view.judge import labelled_name

    def gptq(bits: int, group: int) -> dict:
        quantization = {"method": "gptq", "bits": bits, "group_size": group}
        return {"method": "gptq", "target_sparsity": 0.0, "quantization": quantization}

    assert labelled_name(gptq(4, 64)) == "gptq"
    assert labelled_name(gptq(8, 128)) == "gptq w8 g128"
    # W4A8 was read at the embedded model's groups of 64 (round 74): another group is unread
    w4a8 = {"method": "w4a8", "bits": 4, "group_size": 128}
    assert labelled_name({"method": "w4a8", "quantization": {**w4a8, "group_size": 64}}) == "w4a8"
    assert labelled_name({"method": "w4a8", "quantization": w4a8}) == "w4a8 w4 g128"
    # FP8 in blocks was read at 64 (round 76); a Llama-size model's blocks of 128 are unread
    block = {"method": "fp8_block", "bits": 8, "group_size": 128}
    assert labelled_name({"method": "fp8_block", "quantization": block}) == "fp8_block w8 g128"
    assert labelled_name({"method": "rtn", "target_sparsity": 0.0}) == "rtn"
    assert labelled_name({"method": "none", "target_sparsity": 0.0}) == "dense"


def test_a_quantization_method_with_a_digit_in_its_name_is_not_read_as_a_rate(tmp_path):
    """`fp8` is a method, not "fp at 8 %": a sweep's fp8 job is named as itself."""
    _, refusal = shipped_sweep(tmp_path, [("fp8", "fp8", 0.5)])
    assert "No answers of fp8 were labelled" in refusal
    assert "fp 8 %" not in refusal
