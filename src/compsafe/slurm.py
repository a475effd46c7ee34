"""SLURM sweeps (`hydra/launcher=slurm`, `slurm_cpu`): say what each job asks for, refuse a
request that no node of the partition can hold, and follow job states with `squeue` when the
cluster has no accounting.

conf/hydra/launcher/slurm.yaml adds `SlurmSweepCallback` to `hydra.callbacks`; Hydra calls its
`on_multirun_start` in the submitting process, before anything is submitted (jobs never do).

Without accounting (no slurmdbd) `sacct` fails, and submitit, which reads job states from sacct,
logs "Bypassing sacct error ..., status may be inaccurate" on every poll (on stdout, stderr and
through Hydra's log) and never sees a job end that left no result file (cancelled, killed at
its time limit, out of memory): the sweep would wait forever. `SqueueWatcher` asks sacct once;
when it fails, it says so in one line and reads the states from `squeue` (which lists finished
jobs for MinJobAge, 300 s by default) and from submitit's result files from then on.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from submitit.slurm.slurm import SlurmInfoWatcher

from compsafe.errors import ConfigError, exit_with

log = logging.getLogger(__name__)

CPU_ONLY = "hydra/launcher=slurm_cpu"
# States after which a job runs no more (squeue's names); any other state not in submitit's
# own list of unfinished states is reported to it as RUNNING.
FINISHED = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "REVOKED",
        "TIMEOUT",
    }
)
UNFINISHED = frozenset(
    {"READY", "PENDING", "RUNNING", "UNKNOWN", "REQUEUED", "COMPLETING", "PREEMPTED"}
)
# A submitted job that squeue no longer lists: SLURM purged its record (MinJobAge) after it ended.
PURGED = "PURGED"


@dataclass(frozen=True)
class Request:
    """What one job of the sweep asks SLURM for, on one node."""

    cpus: int
    gpus: int
    mem_mb: int | None  # None: set through mem_per_cpu/mem_per_gpu or not at all

    @classmethod
    def from_launcher(cls, launcher: DictConfig) -> Request:
        tasks = int(launcher.get("tasks_per_node") or 1)
        cpus = int(launcher.get("cpus_per_task") or 1) * tasks
        gpus = launcher.get("gpus_per_node")
        if gpus is None and launcher.get("gpus_per_task") is not None:
            gpus = int(launcher.gpus_per_task) * tasks
        if gpus is None:
            gpus = gres_gpus(launcher.get("gres"))
        mem_gb = launcher.get("mem_gb")
        return cls(cpus, int(gpus or 0), int(mem_gb) * 1024 if mem_gb is not None else None)


@dataclass(frozen=True)
class Node:
    name: str
    cpus: int
    gpus: int
    mem_mb: int

    def holds(self, request: Request) -> bool:
        memory_fits = request.mem_mb is None or request.mem_mb <= self.mem_mb
        return request.cpus <= self.cpus and request.gpus <= self.gpus and memory_fits


def gres_gpus(gres: str | None) -> int:
    """GPUs in a gres string: `gpu:2`, `gpu:a100:4(S:0-1)`, `gpu:1,shard:4` -> 2, 4, 1."""
    total = 0
    for entry in str(gres or "").split(","):
        match = re.fullmatch(r"gpu(?::[^:(]+)?:(\d+)(?:\(.*\))?", entry.strip())
        if match:
            total += int(match.group(1))
    return total


def _size(mb: int | None) -> str:
    if mb is None:
        return "memory as the cluster defaults"
    return f"{mb / 1024:g} GB" if mb % 1024 == 0 else f"{mb / 1024:.1f} GB"


def _gpus(count: int) -> str:
    return "no GPU" if count == 0 else f"{count} GPU" + ("s" if count > 1 else "")


def describe(launcher: DictConfig, request: Request, jobs: int | None) -> str:
    """One line: how many jobs, where, and what each asks for."""
    partition = launcher.get("partition")
    where = f"partition {partition}" if partition else "the default partition"
    parts = [f"{int(launcher.get('nodes') or 1)} node"]
    tasks = int(launcher.get("tasks_per_node") or 1)
    if tasks > 1:
        parts.append(f"{tasks} tasks")
    parts += [f"{request.cpus} CPU" + ("s" if request.cpus > 1 else ""), _gpus(request.gpus)]
    if launcher.get("gres"):
        parts.append(f"gres {launcher.gres}")
    if request.mem_mb is not None:
        parts.append(_size(request.mem_mb))
    for key in ("mem_per_cpu", "mem_per_gpu", "account", "qos", "constraint"):
        if launcher.get(key):
            parts.append(f"{key} {launcher.get(key)}")
    extra = launcher.get("additional_parameters") or {}
    parts += [f"--{k}={v}" for k, v in OmegaConf.to_container(extra).items()] if extra else []
    timeouts = int(launcher.get("max_num_timeout") or 0)
    requeue = f", requeued up to {timeouts}x on timeout" if timeouts else ", not requeued"
    count = f"{jobs} jobs" if jobs is not None else "the jobs"
    return (
        f"SLURM: {count} as one array on {where} ({launcher.get('array_parallelism')} at most "
        f"running at once); "
        f"each asks for {', '.join(parts)}, {launcher.get('timeout_min')} min{requeue}"
    )


def partition_nodes(partition: str | None) -> tuple[list[Node], list[str]] | None:
    """(the partition's nodes, every partition's name) from sinfo; the default partition when
    `partition` is None; None when sinfo is missing, fails or says something unexpected."""
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%N|%P|%c|%m|%G"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    nodes, partitions = [], []
    try:
        for line in out.splitlines():
            name, part, cpus, mem, gres = line.strip().split("|")
            default = part.endswith("*")
            part = part.rstrip("*")
            partitions.append(part)
            if part == partition or (partition is None and default):
                nodes.append(Node(name, int(cpus), gres_gpus(gres), int(mem.rstrip("+"))))
    except ValueError:
        return None
    return nodes, sorted(set(partitions))


def fit_problem(launcher: DictConfig, request: Request) -> ConfigError | None:
    """Why no node of the partition can run one job, or None (fits, or sinfo cannot tell)."""
    partition = launcher.get("partition")
    found = partition_nodes(partition)
    if found is None:
        return None
    nodes, partitions = found
    if not nodes:
        if partition is None:
            return None  # no default partition: sbatch says what it wants
        known = ", ".join(partitions) or "none"
        return ConfigError(
            "hydra.launcher.partition", partition, f"no such partition here; partitions: {known}"
        )
    if any(node.holds(request) for node in nodes):
        return None
    asked = [f"{request.cpus} CPUs", _gpus(request.gpus)]
    if request.mem_mb is not None:
        asked.append(_size(request.mem_mb))
    best = max(nodes, key=lambda n: (n.gpus, n.cpus, n.mem_mb))
    have = f"{best.cpus} CPUs, {_gpus(best.gpus)}, {_size(best.mem_mb)}"
    where = f"partition {partition}" if partition else "the default partition"
    return ConfigError(
        "hydra.launcher",
        None,
        f"each job asks for {', '.join(asked)}, but no node of {where} has that "
        f"(largest: {have}); set hydra.launcher.cpus_per_task, mem_gb and gpus_per_node "
        f"(or gres) to what the nodes have; without GPUs: {CPU_ONLY}",
        show_value=False,
    )


def count_jobs(config: DictConfig) -> int | None:
    from compsafe.sweeper import expand_jobs

    try:
        sweeper = config.hydra.sweeper
        params, grid = sweeper.get("params"), sweeper.get("grid")
        return len(
            expand_jobs(
                OmegaConf.to_container(params, resolve=False) if params else None,
                OmegaConf.to_container(grid, resolve=False) if grid else None,
                list(config.hydra.overrides.task),
            )
        )
    except Exception:  # only for the message; the sweeper reports real problems
        return None


class SlurmSweepCallback(Callback):
    """Before a SLURM sweep submits: the request in one line, a request no node can hold
    refused in one line (exit status 2), squeue instead of sacct without accounting."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = config.hydra.launcher
        request = Request.from_launcher(launcher)
        log.info(describe(launcher, request, count_jobs(config)))
        problem = fit_problem(launcher, request)
        if problem:
            exit_with(problem)
        use_squeue_without_accounting()


def use_squeue_without_accounting() -> None:
    """Make submitit's SLURM jobs poll through SqueueWatcher (it uses sacct where it works)."""
    from submitit.slurm import slurm

    if not isinstance(slurm.SlurmJob.watcher, SqueueWatcher):
        slurm.SlurmJob.watcher = SqueueWatcher(delay_s=slurm.SlurmJob.watcher._delay_s)


class SqueueWatcher(SlurmInfoWatcher):
    """submitit's SlurmInfoWatcher, reading squeue instead of sacct when sacct does not work."""

    def __init__(self, delay_s: int = 60) -> None:
        super().__init__(delay_s=delay_s)
        self.accounting: bool | None = None  # unknown until the first poll

    def _make_command(self) -> list[str] | None:
        command = super()._make_command()  # sacct -o JobID,State,NodeList --parsable2 -j ...
        if command is None:
            return None
        if self.accounting is None:
            self.accounting = self._sacct_works(command[command.index("-j") + 1])
        if self.accounting:
            return command
        user = f"--user={os.getuid()}"  # this process's jobs, whatever $USER says
        return ["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%N", user]

    @staticmethod
    def _sacct_works(job_id: str) -> bool:
        try:
            done = subprocess.run(
                ["sacct", "--noheader", "-X", "-o", "JobID", "-j", job_id],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as err:
            reason = str(err)
        else:
            if done.returncode == 0:
                return True
            reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        log.info(
            "SLURM without accounting (sacct: %s): job states come from squeue and submitit's "
            "files",
            reason,
        )
        return False

    def read_info(self, string: bytes | str) -> dict[str, dict[str, str]]:
        if self.accounting:
            return super().read_info(string)
        text = string.decode() if isinstance(string, bytes) else string
        lines = ["JobID|State|NodeList"]
        listed = set()
        for line in text.splitlines():
            job_id, _, rest = line.strip().partition("|")
            state, _, nodes = rest.partition("|")
            state = state.strip().split()[0] if state.strip() else "UNKNOWN"
            if state not in FINISHED and state not in UNFINISHED:
                state = "RUNNING"  # CONFIGURING, SUSPENDED, STAGE_OUT, ...: not over yet
            listed.add(job_id)
            lines.append(f"{job_id}|{state}|{nodes}")
        info = super().read_info("\n".join(lines))
        for job_id in self._registered - self._finished:
            if job_id not in listed and job_id.split("_")[0] not in listed:
                info[job_id] = {"JobID": job_id, "State": PURGED, "NodeList": ""}
        return info
