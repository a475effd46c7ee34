"""Sweeps at scale: failures isolated and listed, reruns resume, kills lose nothing, jobs do not
leak into each other, and the paper's grid composes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compsafe.naming import job_dirname, sweep_name
from compsafe.preflight import preflight
from compsafe.results.files import RESULTS_FILE
from compsafe.sweeper import expand_jobs, name_jobs
from helpers import CONFIG_DIR, PERPLEXITY_ONLY, REPO, run_compsafe, tiny_job


def tiny(model_dir: Path) -> list[str]:
    return [*tiny_job(model_dir, *PERPLEXITY_ONLY), "logger=none"]


def records(folder: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in folder.glob(f"*/{RESULTS_FILE}")}


@pytest.mark.slow
def test_failed_job_is_isolated_listed_and_rerun_resumes(tiny_model_dir, tmp_path):
    sweep = tmp_path / "sweep"
    # 2 jobs; the first (3:7: 64 inputs are not a multiple of 7) fails after it started, the
    # second still runs.
    args = [
        "-m",
        *tiny(tiny_model_dir),
        "compression=magnitude",
        "compression.pattern=3:7,unstructured",
        f"hydra.sweep.dir={sweep}",
    ]
    first = run_compsafe(*args)
    assert first.returncode == 1
    assert "1 of 2 jobs failed" in first.stdout
    assert "pattern=3-7: ConfigError: compression.pattern=3:7" in first.stdout
    done = records(sweep)
    assert sorted(done) == ["pattern=3-7", "pattern=unstructured"]
    assert [r["status"] for r in done.values()].count("completed") == 1
    assert done["pattern=unstructured"]["status"] == "completed"
    again = run_compsafe(*args)
    assert again.returncode == 1
    assert (again.stdout + again.stderr).count("Already completed, skipping") == 1
    completed = {k: v for k, v in done.items() if v["status"] == "completed"}
    assert {k: v for k, v in records(sweep).items() if k in completed} == completed  # untouched


def test_force_reruns_a_completed_job_and_another_config_is_not_skipped(tmp_path):
    """What decides a skip (in process; the sweep above runs it for real): a completed record
    of the same resolved config, unless +force=true; paths and force itself do not count."""
    from compsafe.job import finished_before
    from compsafe.results.record import COMPLETED, new_record, write_results

    config = {"compression": {"method": "magnitude"}, "paths": {"output_dir": "a"}}
    write_results(tmp_path, {**new_record(config), "status": COMPLETED})
    moved = {**config, "paths": {"output_dir": "b"}, "force": False}
    assert finished_before(tmp_path, moved)["status"] == COMPLETED
    other = {**config, "compression": {"method": "wanda"}}
    assert finished_before(tmp_path, other) is None


@pytest.mark.slow
def test_killed_sweep_resumes_without_losing_or_duplicating(tiny_model_dir, tmp_path):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        *tiny(tiny_model_dir),
        "compression=magnitude",
        "compression.sparsity=0.3,0.5,0.7",  # no calibration: the kill is what is tested
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "compsafe", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
        start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list(sweep.glob(f"*/{RESULTS_FILE}")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = records(sweep)
    assert before and all(r["status"] == "completed" for r in before.values())
    assert not list(sweep.rglob(".results.json.*.tmp"))  # no half-written file left behind
    resumed = run_compsafe(*args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = records(sweep)
    assert len(after) == 3 and all(r["status"] == "completed" for r in after.values())
    for name, record in before.items():
        assert after[name] == record  # finished before the kill: kept as it was


@pytest.mark.slow
def test_same_job_same_metrics_alone_and_in_a_sweep(tiny_sweep, tiny_model_dir, tmp_path):
    """SparseGPT run third in the session's sweep (after dense and magnitude: no state leaks
    from one job into the next) gives what it gives alone."""
    sweep, _ = tiny_sweep
    alone = run_compsafe(
        *tiny_job(tiny_model_dir),
        "logger=none",
        "compression=sparsegpt",
        f"hydra.run.dir={tmp_path / 'alone'}",
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    in_sweep = records(sweep)["compression=sparsegpt"]
    by_itself = json.loads((tmp_path / "alone" / RESULTS_FILE).read_text())
    assert in_sweep["metrics"] == by_itself["metrics"]
    assert (
        in_sweep["compression"]["measured_sparsity"]
        == by_itself["compression"]["measured_sparsity"]
    )


@pytest.mark.slow
def test_submitit_local_runs_each_job_in_its_own_process(tiny_model_dir, tmp_path):
    sweep = tmp_path / "sweep"
    out = run_compsafe(
        "-m",
        *tiny(tiny_model_dir),
        "compression=none,magnitude",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    done = records(sweep)
    assert sorted(done) == ["compression=magnitude", "compression=none"]
    assert all(r["status"] == "completed" for r in done.values())
    assert (sweep / ".submitit").is_dir()


def test_paper_grid_is_the_papers_36_configs():
    jobs = expand_jobs(None, _paper_grid(), [])
    assert len(jobs) == 36
    names = [job_dirname(j) for j in jobs]
    assert names[0] == "compression=none"
    for method in ("magnitude", "wanda", "sparsegpt", "gblm"):
        rates = [n for n in names if n.startswith(f"compression={method},sparsity=")]
        assert len(rates) == 6
        assert f"compression={method},pattern=2-4" in names
        assert f"compression={method},pattern=4-8" in names
    assert {"compression=int8", "compression=awq", "compression=gptq"} <= set(names)


def _paper_grid():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from compsafe.naming import register_resolvers
    from compsafe.schema import register_configs

    register_configs()
    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["experiment=paper_grid"], return_hydra_config=True)
    return OmegaConf.to_container(cfg.hydra.sweeper.grid)


def test_grid_unions_products_and_command_line_multiplies():
    grid = [
        {"compression": "none"},
        {"compression": "wanda,sparsegpt", "compression.sparsity": "0.3,0.5"},
    ]
    jobs = expand_jobs(None, grid, ["model=hf,smollm2_135m"])
    assert len(jobs) == 2 * (1 + 4)
    replaced = expand_jobs(None, grid, ["compression=magnitude"])  # the command line wins
    assert {frozenset(j) for j in replaced} == {
        frozenset({"compression=magnitude"}),
        frozenset({"compression=magnitude", "compression.sparsity=0.3"}),
        frozenset({"compression=magnitude", "compression.sparsity=0.5"}),
    }


def test_job_names_use_the_overrides_that_vary():
    jobs = name_jobs(
        [
            ["compression=wanda", "compression.sparsity=0.5", "logger=none"],
            ["compression=sparsegpt", "compression.sparsity=0.5", "logger=none"],
        ]
    )
    assert jobs[0][-1] == "hydra.sweep.subdir='compression=wanda'"
    assert (
        job_dirname(["model.path=/data/x/y", "compression.pattern=2:4"])
        == "path=data_x_y,pattern=2-4"
    )


def test_sweep_folder_is_the_same_for_the_same_command():
    argv = ["-m", "experiment=quickstart", "logger=none", "hydra.sweep.dir=x"]
    assert sweep_name(argv) == sweep_name(list(reversed(argv)))
    assert sweep_name(argv).startswith("quickstart-")
    assert sweep_name([*argv, "+force=true"]) == sweep_name(argv)  # forcing reruns in place
    assert sweep_name(["-m", "compression=wanda"]) != sweep_name(["-m", "compression=sparsegpt"])


def test_preflight_checks_every_job_of_a_grid():
    assert (
        preflight(["-m", "compression=none,magnitude", "compression.sparsity=0.3,0.5"], CONFIG_DIR)
        == 4
    )


class _LauncherWhoseJobWasCancelled:
    """What submitit's launcher does when a job ended without a result (`scancel`, killed by
    SLURM): it raises for the whole batch."""

    def launch(self, batch, initial_job_idx):
        from submitit.core.utils import UncompletedJobError

        raise UncompletedJobError("Job 42_1 (task: 0) with path /x\nhas state CANCELLED")


def test_a_cancelled_job_is_listed_as_failed_beside_the_finished_ones(tmp_path, capsys):
    """The sweep still prints its table and lists the failed and unfinished jobs from their
    folders (exit status 1 through cli.main), instead of submitit's traceback."""
    from compsafe import sweeper
    from compsafe.results.files import JOBS_FILE, RESULTS_FILE
    from helpers.records import SCHEMA

    (tmp_path / JOBS_FILE).write_text(json.dumps(["a", "b", "c", "d"]))
    # d: a run requeued on a time-out (its record says failed, no error), its rerun killed.
    errors = {"a": None, "b": "RuntimeError: boom", "d": None}
    for name, status in (("a", "completed"), ("b", "failed"), ("d", "failed")):
        (tmp_path / name).mkdir()
        record = {
            **SCHEMA,
            "status": status,
            "error": errors[name],
            "compression": {"label": name},
            "metrics": {},
        }
        (tmp_path / name / RESULTS_FILE).write_text(json.dumps(record))
    results, why = sweeper.launch(_LauncherWhoseJobWasCancelled(), [["x=1"]], 0)
    assert results == [] and "has state CANCELLED" in why and "\n" not in why
    assert sweeper.report(tmp_path, results, why) == [
        (str(tmp_path / "b"), "RuntimeError: boom"),
        (str(tmp_path / "c"), f"no result: {why}"),
        (str(tmp_path / "d"), f"no result: {why}"),
    ]
    out = capsys.readouterr().out
    assert "3 of 4 jobs failed:" in out and "Rerun the same command" in out
    assert ": None" not in out
    assert f"FAILED {tmp_path / 'd'}: stopped before it finished" in out  # under the table

    class Broken:
        def launch(self, batch, initial_job_idx):
            raise ValueError("not ours to swallow")

    with pytest.raises(ValueError):
        sweeper.launch(Broken(), [["x=1"]], 0)
