"""Where compsafe keeps what it converts or derives once and reuses (models, perplexity windows).

The same rule as `paths.cache_dir` in the configs, for code that runs without the job's config
(lm-eval task loaders, scorers): `$COMPSAFE_CACHE_DIR`, else `~/.cache/compsafe`.
"""

from __future__ import annotations

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
    """Written whole or not at all (a temporary file renamed), so a concurrent job never reads
    half a file; a cache that cannot be written is only a missed saving."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(content))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
