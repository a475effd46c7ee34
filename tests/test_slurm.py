"""Sweeps on a real SLURM cluster, all through `hydra/launcher=slurm` (or `slurm_cpu`) and the
real sbatch: one array per sweep with array_parallelism respected, failures isolated as with the
local sweeper, time-outs requeued up to max_num_timeout, a cancelled sweep resumed by rerunning
the command, results and W&B offline runs in the sweep folder, the commands of docs/slurm.md.

The cluster tests need a running cluster and are skipped without COMPSAFE_SLURM=1: `make
test-slurm` starts a throw-away one-node cluster (scripts/slurm-cluster, as root), runs them and
stops it. With COMPSAFE_SLURM=1 but no cluster answering, they fail instead of skipping. The
tests at the end (request line, fit check, squeue parsing) need no cluster and always run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from compsafe import slurm
from compsafe.results.files import RESULTS_FILE
from helpers import CONFIG_DIR, PERPLEXITY_ONLY, REPO, run_compsafe, tiny_job
from helpers.wandb_log import logged_values

ON_CLUSTER = os.environ.get("COMPSAFE_SLURM") == "1"


def on_cluster(test):
    """A test that submits to the cluster: slow, skipped (with the reason) unless asked for."""
    skip = pytest.mark.skipif(
        not ON_CLUSTER,
        reason="needs a SLURM cluster: `make test-slurm` starts one (scripts/slurm-cluster, "
        "as root) and runs these with COMPSAFE_SLURM=1",
    )
    return pytest.mark.slow(skip(pytest.mark.usefixtures("cluster")(test)))


# What fits the test cluster's one node (2 CPUs here): one CPU and 2 GB per job.
FITS = [
    "hydra.launcher.partition=debug",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=2",
]
SLURM = ["hydra/launcher=slurm", "hydra.launcher.gpus_per_node=0", *FITS]
NO_ACCOUNTING = "SLURM without accounting (sacct: "
STAMP = re.compile(r"^submitit INFO \((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\) - (.*)$", re.M)


@pytest.fixture(scope="module")
def cluster():
    """Asked for (COMPSAFE_SLURM=1) means it must be there: fail, never skip, without it."""
    if shutil.which("sbatch") is None:
        pytest.fail("COMPSAFE_SLURM=1 but sbatch is not on PATH: start scripts/slurm-cluster")
    state = subprocess.run(
        ["sinfo", "--noheader", "--partition=debug", "--format=%T"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if state.returncode != 0 or not state.stdout.strip():
        pytest.fail(f"COMPSAFE_SLURM=1 but no partition debug answers: {state.stderr.strip()}")


def tiny(model_dir: Path) -> list[str]:
    return tiny_job(model_dir, *PERPLEXITY_ONLY)


def records(folder: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in folder.glob(f"*/{RESULTS_FILE}")}


def arrays(sweep: Path) -> list[str]:
    """The SLURM array ids the sweep submitted (submitit's folders under .submitit/)."""
    return sorted((p.name for p in (sweep / ".submitit").iterdir() if p.name.isdigit()), key=int)


def task_logs(sweep: Path, array: str) -> dict[str, str]:
    """Each array task's submitit log (stdout), by task id ("0", "1", ...)."""
    logs = {}
    for path in (sweep / ".submitit").glob(f"{array}_*/{array}_*_0_log.out"):
        logs[path.parent.name.split("_")[1]] = path.read_text(errors="replace")
    return logs


def task_logs_of(sweep: Path) -> dict[str, str]:
    """Every array task's submitit log, by "<array>_<task>"; none when there is no array yet."""
    if not (sweep / ".submitit").is_dir():
        return {}
    return {f"{a}_{t}": log for a in arrays(sweep) for t, log in task_logs(sweep, a).items()}


def stamps(log: str, event: str) -> list[datetime]:
    return [
        datetime.strptime(when, "%Y-%m-%d %H:%M:%S,%f")
        for when, message in STAMP.findall(log)
        if message.startswith(event)
    ]


def documented_commands() -> list[list[str]]:
    """The `compsafe ...` commands of docs/slurm.md's bash blocks, as argv lists."""
    text = (REPO / "docs/slurm.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["compsafe"]:
                commands.append(words[1:])
    return commands


def documented_command(launcher: str) -> list[str]:
    """The first command of docs/slurm.md that uses the launcher."""
    found = [c for c in documented_commands() if f"hydra/launcher={launcher}" in c]
    assert found, f"docs/slurm.md has no `compsafe ... hydra/launcher={launcher}`"
    return found[0]


def assert_quiet(out: subprocess.CompletedProcess) -> None:
    """No sacct warnings, one line about the missing accounting."""
    both = out.stdout + out.stderr
    assert "Bypassing sacct error" not in both
    assert "Slurm accounting storage is disabled\n" not in out.stderr  # sacct's own stderr
    assert both.count(NO_ACCOUNTING) == 1


@on_cluster
def test_documented_cpu_sweep_is_one_array_with_its_parallelism(tiny_model_dir, tmp_path):
    sweep = tmp_path / "sweep"
    out = run_compsafe(
        *documented_command("slurm_cpu"),
        *tiny(tiny_model_dir),
        "hydra.launcher.array_parallelism=1",
        "logger=wandb",
        "logger.mode=offline",
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert_quiet(out)
    assert (
        "SLURM: 2 jobs as one array on partition debug (1 at most running at once); each asks "
        "for 1 node, 1 CPU, no GPU, 4 GB, 240 min" in out.stdout
    )
    assert "| magnitude 30%" in out.stdout and "| magnitude 50%" in out.stdout
    # One sbatch: one array of two tasks, at most one running.
    (array,) = arrays(sweep)
    script = (sweep / ".submitit" / array / f"{array}_submission.sh").read_text()
    assert "#SBATCH --array=0-1%1" in script
    assert "#SBATCH --gpus-per-node=0" in script and "#SBATCH --mem=4GB" in script
    logs = task_logs(sweep, array)
    assert sorted(logs) == ["0", "1"]
    spans = sorted(
        (stamps(log, "Starting with")[0], stamps(log, "Exiting after successful")[-1])
        for log in logs.values()
    )
    assert spans[0][1] <= spans[1][0], f"array tasks overlapped: {spans}"
    # The sweep folder as with the local launcher: jobs.json, one folder per job, W&B offline.
    assert json.loads((sweep / "jobs.json").read_text()) == ["sparsity=0.3", "sparsity=0.5"]
    done = records(sweep)
    assert sorted(done) == ["sparsity=0.3", "sparsity=0.5"]
    for name, record in done.items():
        assert record["status"] == "completed"
        assert record["compression"]["target_sparsity"] == float(name.split("=")[1])
        (run_file,) = (sweep / name / "wandb").glob("offline-run-*/run-*.wandb")
        logged = logged_values(run_file)
        for key, value in record["metrics"].items():
            assert logged["summary"][key] == pytest.approx(value)


@on_cluster
def test_failed_job_is_isolated_as_with_the_local_sweeper(tiny_model_dir, tmp_path):
    # compression.pattern=3:7: dense is fine, magnitude fails (64 inputs are not a multiple of 7).
    job = [*tiny(tiny_model_dir), "logger=none", "compression=none,magnitude"]
    job.append("compression.pattern=3:7")
    with ThreadPoolExecutor(1) as pool:  # the local sweep runs while SLURM schedules its own
        slurm = pool.submit(
            run_compsafe, "-m", *job, *SLURM, f"hydra.sweep.dir={tmp_path / 'slurm'}"
        )
        local = run_compsafe("-m", *job, f"hydra.sweep.dir={tmp_path / 'local'}")
        on_slurm = slurm.result()
    assert on_slurm.returncode == local.returncode == 1, on_slurm.stderr[-3000:]
    assert_quiet(on_slurm)
    failure = "compression=magnitude: ConfigError: compression.pattern=3:7"
    for out in (on_slurm, local):
        assert "1 of 2 jobs failed" in out.stdout and failure in out.stdout
        assert "| dense" in out.stdout
    slurm_records, local_records = records(tmp_path / "slurm"), records(tmp_path / "local")
    assert {k: r["status"] for k, r in slurm_records.items()} == {
        "compression=none": "completed",
        "compression=magnitude": "failed",
    }
    assert {k: r["status"] for k, r in local_records.items()} == {
        k: r["status"] for k, r in slurm_records.items()
    }
    for name in slurm_records:
        assert slurm_records[name]["metrics"] == local_records[name]["metrics"]
        assert slurm_records[name]["error"] == local_records[name]["error"]


@on_cluster
def test_cancelled_sweep_resumes_when_the_command_is_rerun(tiny_model_dir, tmp_path):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        *tiny(tiny_model_dir),
        "logger=none",
        "compression=none,magnitude",
        *SLURM,
        "hydra.launcher.array_parallelism=1",
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "compsafe", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not list(sweep.glob(f"*/{RESULTS_FILE}")):
            time.sleep(0.2)
        (array,) = arrays(sweep)
        subprocess.run(["scancel", array], check=True, timeout=30)
        # The submitting command notices (squeue: CANCELLED) and stops; it does not hang.
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0, output[-3000:]
    assert "state: CANCELLED" in output
    before = records(sweep)
    assert len(before) == 1, before  # one job done, the other cancelled (pending or running)
    (done,) = before
    assert before[done]["status"] == "completed"
    again = run_compsafe(*args)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    after = records(sweep)
    assert sorted(after) == ["compression=magnitude", "compression=none"]
    assert all(r["status"] == "completed" for r in after.values())
    assert after[done] == before[done]  # kept, not recomputed
    rerun = arrays(sweep)[-1]
    assert rerun != array
    order = json.loads((sweep / "jobs.json").read_text())  # array task i runs job order[i]
    logs = task_logs(sweep, rerun)
    for task, name in enumerate(order):
        assert ("Already completed, skipping" in logs[str(task)]) == (name == done)


@on_cluster
def test_documented_gpu_sweep_is_refused_in_one_line_on_a_cluster_without_gpus(
    tiny_model_dir, tmp_path
):
    """The GPU command of docs/slurm.md, on this GPU-less cluster (partition debug, the tiny
    model for the hub one): the request is printed, then refused before anything is submitted."""
    command = [
        a
        for a in documented_command("slurm")
        if not a.startswith(("hydra.launcher.partition=", "model="))
    ]
    command += [f"model.path={tiny_model_dir}", "model=hf", f"hydra.sweep.dir={tmp_path}"]
    out = run_compsafe(*command, "hydra.launcher.partition=debug")
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
    assert re.search(r"SLURM: \d+ jobs as one array on partition debug", out.stdout)
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("compsafe: error: hydra.launcher: each job asks for 8 CPUs, 1 GPU, ")
    assert re.search(r"no node of partition debug has that \(largest: \d+ CPUs, no GPU, ", line)
    assert line.endswith("without GPUs: hydra/launcher=slurm_cpu")
    assert not (tmp_path / ".submitit").exists()  # nothing was submitted


TIMEOUT_TEST = "test_timed_out_job_is_requeued_then_failed_beside_the_completed_one"


@pytest.fixture(scope="module")
def timeout_sweep(cluster, tiny_model_dir, tmp_path_factory):
    """The time-out sweep, started before the other tests (autouse below): it spends most of
    its time waiting for SLURM's clock, so the others run meanwhile on the node's other CPU.

    A job too long for timeout_min=2 beside one that takes seconds. The slow one is real work:
    BOLD over all its 23,674 prompts, two sampled continuations each (about 3 minutes of one
    CPU here for the tiny model), the fast one the same on 8 prompts. Its own compressed-model
    cache, so that what its first run compresses is what its requeued run finds.
    """
    folder = tmp_path_factory.mktemp("timeout")
    sweep = folder / "sweep"
    # Files, not pipes: nobody reads the output until the test at the end of the module.
    stdout, stderr = open(folder / "stdout", "w+"), open(folder / "stderr", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compsafe",
            "-m",
            *tiny_job(tiny_model_dir, "benchmark=bold"),
            "benchmark.tasks.bold.options.samples_per_prompt=2",
            "benchmark.tasks.bold.options.sample_size=8,null",
            "compression=magnitude",
            "logger=none",
            *SLURM,
            "hydra.launcher.timeout_min=2",
            # SLURM sends USR2 on its 30 s tick once the limit is less than signal_delay_s + 30 s
            # away: 20-50 s after the start here, after the fast job has finished. The limit
            # itself (SIGKILL) is 70 s later: a slow machine's late tick or late handler does
            # not turn the requeue into a kill (with 1 min and 10 s, the margin was 10-40 s).
            "hydra.launcher.signal_delay_s=70",
            "hydra.launcher.max_num_timeout=1",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=REPO,
        stdout=stdout,
        stderr=stderr,
        env={**os.environ, "COMPSAFE_CACHE_DIR": str(folder / "cache")},
        start_new_session=True,
    )
    yield sweep, proc, folder
    stdout.close()
    stderr.close()
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for array in arrays(sweep) if (sweep / ".submitit").is_dir() else []:
            subprocess.run(["scancel", array], timeout=30)


@pytest.fixture(scope="module", autouse=True)
def start_timeout_sweep_first(request):
    if ON_CLUSTER and any(item.name == TIMEOUT_TEST for item in request.session.items):
        request.getfixturevalue("timeout_sweep")


@on_cluster
def test_timed_out_job_is_requeued_then_failed_beside_the_completed_one(timeout_sweep):
    """A job over its time limit: submitit catches SLURM's USR2 and requeues it, up to
    max_num_timeout times, then it is recorded as failed beside the completed one. Its rerun
    loads the compressed model from the cache (what was finished) instead of compressing again.
    (The sweep: the timeout_sweep fixture.)"""
    sweep, proc, folder = timeout_sweep
    proc.wait(timeout=400)
    stdout, stderr = ((folder / name).read_text() for name in ("stdout", "stderr"))
    out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    # What SLURM and submitit did, should an assertion below fail: the slow job's own log.
    seen = "\n".join(log[-3000:] for log in task_logs_of(sweep).values()) + out.stdout[-2000:]
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    assert_quiet(out)
    assert "2 min, requeued up to 1x on timeout" in out.stdout
    assert "1 of 2 jobs failed" in out.stdout, seen
    reason = "UncompletedJobError: Job not requeued because: timed-out too many times."
    assert f"sample_size=null: {reason}" in out.stdout, seen
    done = records(sweep)
    assert done["sample_size=8"]["status"] == "completed"
    slow = done["sample_size=null"]
    assert slow["status"] == "failed" and slow["error"] == reason
    assert slow["compression"]["cache"]["hit"] is True  # the rerun did not compress again
    (array,) = arrays(sweep)
    log = task_logs(sweep, array)["1"]
    assert len(stamps(log, "Starting with")) == 2  # the first run and one requeued rerun
    assert f"Requeued job {array}_1 (0 remaining timeouts)" in log
    first, rerun = log.split("Starting with JobEnvironment")[1:]
    assert "Evaluating compsafe_bold" in first  # stopped while evaluating, compression done
    assert "Compressed model found in the cache" in rerun and "Compressing:" not in rerun


# Without a cluster: the request line, the fit check, the squeue fallback's parsing.


def launcher(*overrides: str):
    """`hydra.launcher` as composed for `compsafe <overrides>`."""
    from hydra import compose, initialize_config_dir

    from compsafe.naming import register_resolvers
    from compsafe.schema import register_configs

    register_configs()
    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=True).hydra.launcher


def test_request_counts_gpus_from_any_key_and_memory_in_mb():
    assert slurm.gres_gpus("gpu:2") == 2
    assert slurm.gres_gpus("gpu:a100:4(S:0-1),shard:8") == 4
    assert slurm.gres_gpus("(null)") == slurm.gres_gpus(None) == 0
    default = slurm.Request.from_launcher(launcher("hydra/launcher=slurm"))
    assert default == slurm.Request(cpus=8, gpus=1, mem_mb=64 * 1024)
    typed = launcher(
        "hydra/launcher=slurm",
        "hydra.launcher.gpus_per_node=null",
        "hydra.launcher.gres=gpu:a100:2",
    )
    assert slurm.Request.from_launcher(typed).gpus == 2
    assert slurm.Request.from_launcher(launcher("hydra/launcher=slurm_cpu")) == slurm.Request(
        cpus=4, gpus=0, mem_mb=16 * 1024
    )


def test_request_line_and_refusal_name_what_was_asked_for(monkeypatch):
    cfg = launcher("hydra/launcher=slurm", "hydra.launcher.partition=debug")
    request = slurm.Request.from_launcher(cfg)
    assert slurm.describe(cfg, request, 36) == (
        "SLURM: 36 jobs as one array on partition debug (16 at most running at once); each asks "
        "for 1 node, 8 CPUs, 1 GPU, 64 GB, 240 min, requeued up to 3x on timeout"
    )
    small = [slurm.Node("n1", cpus=2, gpus=0, mem_mb=24105)]
    monkeypatch.setattr(slurm, "partition_nodes", lambda partition: (small, ["debug"]))
    error = str(slurm.fit_problem(cfg, request))
    assert error.startswith(
        "hydra.launcher: each job asks for 8 CPUs, 1 GPU, 64 GB, but no node of partition debug "
        "has that (largest: 2 CPUs, no GPU, 23.5 GB)"
    )
    gpu = [*small, slurm.Node("g1", cpus=32, gpus=4, mem_mb=512000)]
    monkeypatch.setattr(slurm, "partition_nodes", lambda partition: (gpu, ["debug"]))
    assert slurm.fit_problem(cfg, request) is None
    monkeypatch.setattr(slurm, "partition_nodes", lambda partition: None)  # no sinfo: no check
    assert slurm.fit_problem(cfg, request) is None
    monkeypatch.setattr(slurm, "partition_nodes", lambda partition: ([], ["cpu", "gpu"]))
    assert str(slurm.fit_problem(cfg, request)) == (
        "hydra.launcher.partition=debug: no such partition here; partitions: cpu, gpu"
    )


def test_squeue_states_without_accounting():
    watcher = slurm.SqueueWatcher()
    watcher.accounting = False
    for job in ("12_0", "12_1", "12_2", "12_3", "13"):
        watcher.register_job(job)
    info = watcher.read_info("12_0|COMPLETED|vm\n12_1|CONFIGURING|vm\n12_2|PENDING|\n")
    states = {job: info[job]["State"] for job in ("12_0", "12_1", "12_2", "12_3", "13")}
    assert states == {
        "12_0": "COMPLETED",
        "12_1": "RUNNING",  # not over: submitit does not know the state, so it keeps waiting
        "12_2": "PENDING",
        "12_3": slurm.PURGED,  # ended long enough ago for SLURM to forget it: over
        "13": slurm.PURGED,
    }
