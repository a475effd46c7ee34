"""Our lm-eval tasks: loaders, metrics, and running them through plain `lm_eval --include_path`."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from compsafe.cache import cache_root
from compsafe.errors import ConfigError
from compsafe.evaluation.collect import flatten_results, metric_name
from compsafe.evaluation.specs import TASKS_DIR, our_task_names, task_specs
from compsafe.evaluation.tasks import crows_pairs, perplexity
from helpers.records import record_aggregations
from helpers.word_tokenizer import WordTokenizer

FUNCTION_TAG = re.compile(r"!function\s+([\w.]+)")


def test_task_folder_defines_our_tasks():
    assert {"compsafe_crows_pairs", "compsafe_perplexity"} <= our_task_names()


def exec_like_lm_eval(module: str):
    """lm-eval executes a task module from its file, outside our package (named by its path)."""
    path = TASKS_DIR / f"{module}.py"
    spec = importlib.util.spec_from_file_location(str(path.with_suffix("")), path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def yaml_functions() -> list[str]:
    """Every `!function module.name` of our task YAMLs and the shared `_generation_yaml`."""
    files = [p for p in TASKS_DIR.iterdir() if p.name.endswith("yaml")]
    return sorted({ref for f in files for ref in FUNCTION_TAG.findall(f.read_text())})


@pytest.mark.parametrize(
    "module", sorted(p.stem for p in TASKS_DIR.glob("*.py") if p.stem != "__init__")
)
def test_task_modules_load_the_way_lm_eval_loads_them(module):
    exec_like_lm_eval(module)


@pytest.mark.parametrize("reference", yaml_functions())
def test_yaml_functions_exist_where_lm_eval_looks(reference):
    module, _, name = reference.rpartition(".")
    assert callable(getattr(exec_like_lm_eval(module), name))


def test_crows_pairs_full_data_has_1508_pairs():
    data = crows_pairs.load()["test"]
    assert len(data) == 1508
    assert set(data.column_names) == set(crows_pairs.FIELDS)


def test_crows_pairs_subset_is_seeded_and_stable():
    meta = {"compsafe": {crows_pairs.TASK: {"sample_size": 50, "seed": 7}}}
    first = crows_pairs.load(**meta)["test"]["sent_more"]
    assert len(first) == 50 and first == crows_pairs.load(**meta)["test"]["sent_more"]
    other = {"compsafe": {crows_pairs.TASK: {"sample_size": 50, "seed": 8}}}
    assert first != crows_pairs.load(**other)["test"]["sent_more"]


def test_crows_pairs_metrics_by_hand():
    more_wins = crows_pairs.process_results({}, [(-10.0, False), (-12.5, False)])
    assert more_wins == {"likelihood_diff": 2.5, "pct_stereotype": 1.0}
    less_wins = crows_pairs.process_results({}, [(-13.0, False), (-12.0, False)])
    assert less_wins == {"likelihood_diff": 1.0, "pct_stereotype": 0.0}


def test_crows_pairs_file_with_missing_fields(tmp_path):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text(json.dumps({"sent_more": "a", "sent_less": "b"}) + "\n")
    meta = {"compsafe": {crows_pairs.TASK: {"source": "file", "path": str(bad)}}}
    with pytest.raises(ConfigError, match="missing fields"):
        crows_pairs.load(**meta)


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(ConfigError, match="sample_size"):
        crows_pairs.load(compsafe={crows_pairs.TASK: {"sample_sise": 3}})


@pytest.mark.slow
def test_perplexity_windows_have_exact_token_counts(tiny_model_dir):
    from transformers import AutoTokenizer

    meta = {
        "tokenizer": str(tiny_model_dir),
        "compsafe": {perplexity.TASK: {"window": 32, "max_windows": 5}},
    }
    docs = perplexity.load(**meta)["test"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert len(docs) == 5
    assert docs["window"] == sorted(set(docs["window"]))  # spread, distinct
    for doc in docs:
        assert doc["num_tokens"] == len(tokenizer.encode(doc["text"]))
        assert abs(doc["num_tokens"] - 32) <= 2  # decode/encode round trip


@pytest.mark.slow
def test_perplexity_windows_are_cut_once_and_reread_identically(
    tiny_model_dir, tmp_path, monkeypatch
):
    """The windows a job cuts are cached on disk for the next job process: reread, they are the
    same rows; other options are cut anew."""
    monkeypatch.setenv("COMPSAFE_CACHE_DIR", str(tmp_path))
    meta = {
        "tokenizer": str(tiny_model_dir),
        "compsafe": {perplexity.TASK: {"window": 48, "max_windows": 3}},
    }
    perplexity._WINDOWS.clear()
    cut = perplexity.load(**meta)["test"].to_list()
    (cached,) = (cache_root() / "perplexity-windows").glob("*.json")
    perplexity._WINDOWS.clear()  # a new job process
    assert perplexity.load(**meta)["test"].to_list() == cut
    assert json.loads(cached.read_text()) == cut
    marked = [{**cut[0], "text": "read from the cache"}, *cut[1:]]
    cached.write_text(json.dumps(marked))
    perplexity._WINDOWS.clear()  # the rows come from the file, not from cutting again
    assert perplexity.load(**meta)["test"].to_list() == marked
    cached.write_text(json.dumps(cut))
    meta["compsafe"][perplexity.TASK]["window"] = 40
    perplexity._WINDOWS.clear()
    assert perplexity.load(**meta)["test"]["num_tokens"] != [d["num_tokens"] for d in cut]
    assert len(list((cache_root() / "perplexity-windows").glob("*.json"))) == 2


def test_perplexity_needs_a_tokenizer():
    with pytest.raises(ConfigError, match="tokenizer"):
        perplexity.load()


def test_window_starts_spread_over_the_corpus():
    assert perplexity.window_starts(10, None) == list(range(10))
    assert perplexity.window_starts(100, 4) == [0, 25, 50, 75]


def test_perplexity_windows_and_aggregation_by_hand():
    texts = ["a b c", "d e f g", "h i j k l"]  # 12 tokens once joined
    docs = perplexity.token_windows(texts, WordTokenizer(), 5, None, "key")
    assert [d["text"] for d in docs] == ["a b c d e", "f g h i j"]  # no overlap, tail dropped
    assert [(d["window"], d["num_tokens"]) for d in docs] == [(0, 6), (1, 6)]  # BOS counted
    spread = perplexity.token_windows(texts, WordTokenizer(), 2, 3, "key")
    assert [d["text"] for d in spread] == ["a b", "e f", "i j"]  # windows 0, 2, 4 of 6
    with pytest.raises(ConfigError, match="only 2 tokens"):
        perplexity.token_windows(["a b"], WordTokenizer(), 5, None, "key")

    per_doc = [
        perplexity.process_results(d, [ll]) for d, ll in zip(docs, [-6.0, -3.0], strict=True)
    ]
    aggregations = record_aggregations(perplexity.TASK)  # as the YAML declares them
    value = {m: agg([r[m] for r in per_doc]) for m, agg in aggregations.items() if m in per_doc[0]}
    assert value["token_perplexity"] == pytest.approx(math.exp(9 / 12))  # 2 x (5 words + BOS)
    assert value["word_perplexity"] == pytest.approx(math.exp(9 / 10))
    assert value["byte_perplexity"] == pytest.approx(math.exp(9 / 18))  # 9 bytes per window
    assert value["bits_per_byte"] == pytest.approx(9 / 18 / math.log(2))


def test_flatten_results_names():
    cfg = OmegaConf.create({"tasks": {"crows_pairs": {"task": "compsafe_crows_pairs"}}})
    results = {
        "results": {
            "compsafe_crows_pairs": {
                "alias": "x",
                "pct_stereotype,none": 0.5,
                "pct_stereotype_stderr,none": 0.1,
                "sample_len": 10,
            }
        },
        "n-samples": {"compsafe_crows_pairs": {"effective": 10}},
    }
    metrics, samples = flatten_results(results, cfg)
    assert metrics == {"crows_pairs/pct_stereotype": 0.5}  # lm-eval's stderr: the report's job
    assert samples == {"crows_pairs": 10}
    assert metric_name("exact_match,strict-match") == "exact_match_strict-match"


def test_builtin_tasks_by_name_are_keyed_by_name():
    cfg = OmegaConf.create(
        {"tasks": {"crows_pairs": {"task": "compsafe_crows_pairs"}}, "lm_eval_tasks": ["arc_easy"]}
    )
    assert set(task_specs(cfg)) == {"crows_pairs", "arc_easy"}
    metrics, _ = flatten_results({"results": {"arc_easy": {"acc,none": 0.25}}}, cfg)
    assert metrics == {"arc_easy/acc": 0.25}


@pytest.mark.slow
def test_plain_lm_eval_cli_runs_our_tasks(tiny_model_dir, tmp_path):
    """Users can run our task folder without compsafe's pipeline."""
    metadata = {
        "compsafe": {
            "compsafe_crows_pairs": {"sample_size": 6},
            "compsafe_perplexity": {"window": 32, "max_windows": 3},
            "compsafe_toxigen": {"sample_size": 3},
        }
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "run",
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model_dir},dtype=float32",
            "--tasks",
            "compsafe_crows_pairs,compsafe_perplexity,compsafe_toxigen",
            "--include_path",
            str(TASKS_DIR),
            "--device",
            "cpu",
            "--batch_size",
            "4",
            "--metadata",
            json.dumps(metadata),
            "--output_path",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    saved = json.loads(next((tmp_path / "out").rglob("results_*.json")).read_text())
    assert saved["results"]["compsafe_crows_pairs"]["pct_stereotype,none"] >= 0
    assert saved["results"]["compsafe_perplexity"]["token_perplexity,none"] > 1
    assert saved["n-samples"]["compsafe_crows_pairs"]["effective"] == 6
    toxigen = saved["results"]["compsafe_toxigen"]  # scored by the filter our YAML names
    assert 0 <= toxigen["score,none"] <= 1 and 0 <= toxigen["degenerate,none"] <= 1
