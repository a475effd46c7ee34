"""What produced a job's numbers: library versions, the machine, the code revision.

No environment variables are recorded (they may hold secrets).
"""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "compsafe",
    "torch",
    "transformers",
    "lm_eval",
    "llmcompressor",
    "compressed-tensors",
    "datasets",
    "hydra-core",
    "omegaconf",
    "wandb",
    "accelerate",
    # Scorers whose weights ship in the package: their version is part of the number.
    "alt-profanity-check",
    "vaderSentiment",
)


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(folder: str | Path) -> str | None:
    """HEAD of the checkout that tracks `folder` (with '-dirty' when it has local changes).

    None unless git tracks the folder's files: a wheel installed into a virtual environment
    that lies inside some other repository must not report that repository's commit.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        if not git("ls-files", "--", "."):
            return None
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def installed_commit(distribution: str = "compsafe") -> str | None:
    """The commit pip recorded when the package was installed from a git URL (PEP 610)."""
    try:
        direct_url = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    try:
        return json.loads(direct_url or "{}").get("vcs_info", {}).get("commit_id")
    except (ValueError, AttributeError):
        return None


def code_revision() -> str | None:
    """The revision of compsafe's own code (not of the folder the user runs it from)."""
    return git_commit(Path(__file__).resolve().parents[1]) or installed_commit()


# Vector instruction sets that change float results (kernel choice, summation order).
CPU_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "avx_vnni",
    "amx_bf16",
    "amx_tile",
    "neon",
    "asimd",
    "sve",
)


def _cpuinfo() -> tuple[str, list[str]]:
    """(CPU model, its instruction-set flags among CPU_FLAGS) from /proc/cpuinfo, where there."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in ("model name", "hardware", "cpu model") and model in ("", "x86_64"):
                    model = value.strip()
                elif key in ("flags", "features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, [f for f in CPU_FLAGS if f in flags]


def machine_fingerprint(device: str | None) -> dict[str, Any]:
    """What makes float results differ between machines: CPU and its vector instruction sets,
    the kernels torch picks for it, threads, torch and its BLAS, the GPU and CUDA."""
    import re

    import torch

    cpu, flags = _cpuinfo()
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    on_gpu = bool(device and device.startswith("cuda") and torch.cuda.is_available())
    return {
        "cpu": cpu,
        "cpu_flags": flags,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "blas": blas[1] if blas else None,
        "gpu": torch.cuda.get_device_name(torch.device(device)) if on_gpu else None,
        "cuda": torch.version.cuda if on_gpu else None,
    }


def environment(device: str | None) -> dict[str, Any]:
    """What produced the numbers: versions, hardware, code revision. No environment variables."""
    import torch

    device_name = platform.processor() or platform.machine()
    if device and device.startswith("cuda") and torch.cuda.is_available():
        device_name = torch.cuda.get_device_name(torch.device(device))
    return {
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        "device_name": device_name,
        "torch_threads": torch.get_num_threads(),
        "git_commit": code_revision(),
        "fingerprint": machine_fingerprint(device),
    }
