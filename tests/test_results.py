"""The results contract: atomic writes, and a failure never replaces a completed result."""

from __future__ import annotations

import json
import os

import pytest

from compsafe.compression.prepare import Preparation
from compsafe.results.files import FAILED_FILE, ITEMS_DIR, ITEMS_STAGING, RESULTS_FILE
from compsafe.results.record import (
    COMPLETED,
    FAILED,
    atomic_write_json,
    new_record,
    read_results,
    write_results,
)
from helpers import RESULTS_CONTRACT, compose_config


def test_new_record_has_every_contract_key():
    assert RESULTS_CONTRACT <= set(new_record({"a": 1}))


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / RESULTS_FILE, {"status": COMPLETED})
    assert os.listdir(tmp_path) == [RESULTS_FILE]
    assert read_results(tmp_path) == {"status": COMPLETED}


def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch):
    atomic_write_json(tmp_path / RESULTS_FILE, {"status": COMPLETED, "n": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(tmp_path / RESULTS_FILE, {"status": COMPLETED, "n": 2})
    assert read_results(tmp_path) == {"status": COMPLETED, "n": 1}
    assert os.listdir(tmp_path) == [RESULTS_FILE]


def test_failure_never_overwrites_a_completed_result(tmp_path):
    write_results(tmp_path, {"status": COMPLETED, "metrics": {"x/y": 1.0}})
    path = write_results(tmp_path, {"status": FAILED, "error": "boom"})
    assert path.name == FAILED_FILE
    assert read_results(tmp_path)["status"] == COMPLETED
    assert json.loads((tmp_path / FAILED_FILE).read_text())["error"] == "boom"


def test_failure_without_earlier_result_is_the_result(tmp_path):
    write_results(tmp_path, {"status": FAILED, "error": "boom"})
    assert read_results(tmp_path)["status"] == FAILED


def test_unreadable_results_read_as_none(tmp_path):
    (tmp_path / RESULTS_FILE).write_text("{not json")
    assert read_results(tmp_path) is None


def composed_job(folder, *overrides):
    """The job config of `compsafe logger=none benchmark=crows_pairs ...` writing to `folder`."""
    paths = [f"paths.{k}={folder}" for k in ("root_dir", "output_dir", "sweep_dir")]
    return compose_config("logger=none", "benchmark=crows_pairs", *paths, *overrides)


def skip_model(self, record):
    """Stands in for loading and compressing: these tests are about what the job records."""
    from compsafe.compression.prepare import Prepared

    record["compression"]["measured_sparsity"] = 0.0
    record["timings"]["load"] = record["timings"]["compress"] = 0.0
    return Prepared(None, None, "tokenizer")


def evaluation(answer):
    """An evaluation that writes one item (`answer`) and fails when the answer is "broken"."""
    from compsafe.evaluation.harness import EvaluationResult

    def evaluate(*args, items_dir, **kwargs):
        items_dir.mkdir(parents=True, exist_ok=True)
        (items_dir / "crows_pairs.jsonl").write_text(json.dumps({"answer": answer}) + "\n")
        if answer == "broken":
            raise RuntimeError("scorer went away halfway")
        return EvaluationResult({"crows_pairs/pct_stereotype": 0.5}, {"crows_pairs": 1})

    return evaluate


@pytest.mark.slow
def test_a_failed_rerun_keeps_the_items_of_the_completed_result(tmp_path, monkeypatch):
    """Items are written to items.partial/ and replace items/ only when the run succeeds."""
    from compsafe import job

    cfg = composed_job(tmp_path, "+force=true")
    monkeypatch.setattr(Preparation, "prepare", skip_model)
    monkeypatch.setattr(job, "evaluate", evaluation("first"))
    assert job.run_job(cfg, tmp_path)["status"] == "completed"
    items = tmp_path / ITEMS_DIR / "crows_pairs.jsonl"
    assert json.loads(items.read_text()) == {"answer": "first"}
    monkeypatch.setattr(job, "evaluate", evaluation("broken"))
    with pytest.raises(RuntimeError, match="halfway"):
        job.run_job(cfg, tmp_path)
    assert json.loads(items.read_text()) == {"answer": "first"}  # untouched by the failure
    assert json.loads((tmp_path / RESULTS_FILE).read_text())["status"] == "completed"
    monkeypatch.setattr(job, "evaluate", evaluation("second"))
    assert job.run_job(cfg, tmp_path)["status"] == "completed"
    assert json.loads(items.read_text()) == {"answer": "second"}
    assert not (tmp_path / ITEMS_STAGING).exists()


def test_credentials_in_the_config_reach_neither_results_nor_wandb(tmp_path, monkeypatch):
    from compsafe import job

    cfg = composed_job(tmp_path, "+benchmark.tasks.crows_pairs.hf_token=hf_not_a_real_token")
    seen = {}
    real_tracker = job.Tracker

    def tracker(*args, config, **kwargs):
        seen["config"] = config
        return real_tracker(*args, config=config, **kwargs)

    monkeypatch.setattr(Preparation, "prepare", skip_model)
    monkeypatch.setattr(job, "evaluate", evaluation("ok"))
    monkeypatch.setattr(job, "Tracker", tracker)
    job.run_job(cfg, tmp_path)
    assert "hf_not_a_real_token" not in (tmp_path / RESULTS_FILE).read_text()
    assert "hf_not_a_real_token" not in json.dumps(seen["config"])
    assert "crows_pairs" in seen["config"]["benchmark"]["tasks"]


def test_code_revision_is_compsafes_checkout_never_the_users_folder(tmp_path, monkeypatch):
    import subprocess

    from compsafe.results import environment as results

    assert results.git_commit(tmp_path) is None  # not a repository at all
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "site-packages").mkdir()
    (tmp_path / "site-packages" / "module.py").write_text("")  # untracked, as a venv would be
    assert results.git_commit(tmp_path / "site-packages") is None

    class Installed:  # what pip records for `pip install git+https://...@<commit>` (PEP 610)
        def read_text(self, name):
            return json.dumps({"url": "https://x/compsafe.git", "vcs_info": {"commit_id": "abc"}})

    monkeypatch.setattr(results.metadata, "distribution", lambda name: Installed())
    assert results.installed_commit() == "abc"
    monkeypatch.setattr(results, "git_commit", lambda folder: None)
    assert results.code_revision() == "abc"


def test_results_record_the_machine_fingerprint():
    """What makes float results differ between machines is recorded with every result."""
    import torch

    from compsafe.results import environment as results

    fingerprint = results.environment("cpu")["fingerprint"]
    assert set(fingerprint) == {
        "cpu",
        "cpu_flags",
        "cpu_capability",
        "threads",
        "torch",
        "blas",
        "gpu",
        "cuda",
    }
    assert fingerprint["cpu"] and fingerprint["threads"] == torch.get_num_threads()
    assert fingerprint["torch"] == torch.__version__
    assert set(fingerprint["cpu_flags"]) <= set(results.CPU_FLAGS)
    assert fingerprint["gpu"] is None and fingerprint["cuda"] is None  # on the CPU


def timed_out_while_tokenizing(*args, items_dir, **kwargs):
    """An evaluation that SLURM's time limit interrupts while transformers builds tensors:
    submitit's signal handler raises `UncompletedJobError` there, and transformers re-raises
    any error in that step as its own ValueError about padding."""
    from submitit.core.utils import UncompletedJobError
    from transformers import BatchEncoding

    class Deadline(list):
        def __iter__(self):
            raise UncompletedJobError("Job not requeued because: timed-out too many times.")

    BatchEncoding({"input_ids": [[1, 2], Deadline()]}, tensor_type="pt")


def test_a_time_limit_inside_a_library_is_recorded_as_the_time_limit(tmp_path, monkeypatch):
    """The failed record and the error the sweep reports name SLURM's time limit, not the
    tokenizer error it was wrapped in (seen on the SLURM test cluster: "ValueError: Unable to
    create tensor ... padding" as the reason of a job that timed out)."""
    from submitit.core.utils import UncompletedJobError

    from compsafe import job

    cfg = composed_job(tmp_path, "+force=true")
    monkeypatch.setattr(Preparation, "prepare", skip_model)
    monkeypatch.setattr(job, "evaluate", timed_out_while_tokenizing)
    with pytest.raises(UncompletedJobError, match="timed-out too many times"):
        job.run_job(cfg, tmp_path)
    failed = json.loads((tmp_path / RESULTS_FILE).read_text())  # no completed result before
    assert failed["status"] == FAILED and failed["error"] == (
        "UncompletedJobError: Job not requeued because: timed-out too many times."
    )
    assert "Unable to create tensor" in failed["traceback"]  # the whole chain stays readable
    plain = ValueError("not a timeout")
    assert job.timeout_behind(plain) is plain
    looped = ValueError("a")
    looped.__context__ = ValueError("b")
    looped.__context__.__context__ = looped
    assert job.timeout_behind(looped) is looped  # a cycle ends the search
