"""Where compsafe keeps what it converts or derives once and reuses (models, perplexity windows).

The same rule as `paths.cache_dir` in the configs, for code that runs without the job's config
(lm-eval task loaders, scorers): `$COMPSAFE_CACHE_DIR`, else `~/.cache/compsafe`.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("COMPSAFE_CACHE_DIR") or "~/.cache/compsafe").expanduser()


def read_json(path: Path):
    """A cached JSON file's content, or None when it is missing or unreadable (then rebuilt)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, content) -> None:
    """`results.record.atomic_write_json` (never a half-written file for a concurrent job to
    read); a cache that cannot be written is only a missed saving, not an error."""
    from compsafe.results.record import atomic_write_json

    with contextlib.suppress(OSError):
        atomic_write_json(path, content)
