"""Folder names for sweeps and jobs that a person can read and a rerun finds again.

`hydra.sweep.dir` is `multirun/<experiment or "sweep">-<hash of the command's overrides>`, so the
same command writes to the same folder and resumes; `hydra.sweep.subdir` is the job's own
overrides, e.g. `compression=wanda,sparsity=0.5`. A sweep's W&B group is named from its folder.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from omegaconf import OmegaConf

SHORT_PREFIXES = ("compression.", "model.", "calibration.", "benchmark.", "logger.")
SKIPPED = ("experiment", "force", "hydra")
MAX_VALUE = 40


def _key_value(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def job_dirname(overrides) -> str:
    """'compression=wanda,sparsity=0.5' from a job's overrides (experiment and hydra.* left out)."""
    parts = []
    for override in overrides or []:
        key, value = _key_value(str(override))
        if key.split(".")[0] in SKIPPED or key.startswith("hydra/"):
            continue
        if key.startswith(SHORT_PREFIXES):
            key = key.split(".")[-1]
        value = re.sub(r"[^A-Za-z0-9._:=+-]+", "_", value.replace("\\", "")).strip("_")
        if len(value) > MAX_VALUE:
            value = value[:24] + "-" + hashlib.sha1(value.encode()).hexdigest()[:8]
        parts.append(f"{key}={value}")
    return ",".join(parts).replace(":", "-") or "default"


def _names_sweep(override: str) -> bool:
    """hydra.* settings and `+force` change how a sweep runs, not which jobs it holds."""
    return not _key_value(override)[0].startswith(("hydra", "force"))


def sweep_name(argv: list[str] | None = None) -> str:
    """`<experiment>-<hash>` from the command line's overrides (hydra.* ones excluded)."""
    argv = sys.argv[1:] if argv is None else argv
    overrides = sorted(a for a in argv if "=" in a and not a.startswith("-") and _names_sweep(a))
    experiment = next(
        (_key_value(o)[1] for o in overrides if _key_value(o)[0] == "experiment"), "sweep"
    )
    digest = hashlib.sha1("\n".join(overrides).encode()).hexdigest()[:8]
    return f"{experiment}-{digest}"


def sweep_group_name(sweep_dir: str | Path) -> str:
    """The W&B group of a sweep's jobs and of its report, from the sweep folder: its parent's
    name and its own, e.g. 'multirun_quickstart-1f0c2a9e' (one owner, so the two agree)."""
    sweep = Path(sweep_dir)
    return f"{sweep.parent.name}_{sweep.name}"


def register_resolvers() -> None:
    """`${compsafe_sweep_name:}` (cached, so every job of a sweep agrees) and
    `${compsafe_job_dirname:${hydra:overrides.task}}`."""
    if not OmegaConf.has_resolver("compsafe_sweep_name"):
        OmegaConf.register_new_resolver("compsafe_sweep_name", lambda: sweep_name(), use_cache=True)
    if not OmegaConf.has_resolver("compsafe_job_dirname"):
        OmegaConf.register_new_resolver("compsafe_job_dirname", job_dirname)
