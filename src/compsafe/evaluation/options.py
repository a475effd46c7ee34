"""Options of our own lm-eval tasks: typed, checked before the model loads, passed at run time.

lm-eval calls a task's `custom_dataset` loader with the TaskManager's metadata. We put each
task's options under `metadata["compsafe"][<task name>]`, so options of one task never reach
another. From the lm_eval CLI:
`--metadata '{"compsafe": {"compsafe_crows_pairs": {"sample_size": 100}}}'`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from compsafe.errors import ConfigError, choices

T = TypeVar("T")
NAMESPACE = "compsafe"


def make_options(cls: type[T], values: Mapping[str, Any], key: str) -> T:
    """Build an options dataclass; unknown keys and bad values raise a one-line ConfigError."""
    valid = {f.name for f in fields(cls)}
    for name, value in values.items():
        if name not in valid:
            raise ConfigError(f"{key}.{name}", value, f"unknown option; {choices(valid)}")
    options = cls(**dict(values))
    check = getattr(options, "check", None)
    if check:
        check(key)
    return options


def options_from_metadata(task: str, cls: type[T], metadata: Mapping[str, Any]) -> T:
    """The options a loader receives from lm-eval's metadata (defaults when none are given)."""
    given = (metadata.get(NAMESPACE) or {}).get(task) or {}
    return make_options(cls, given, f"{task} options")


def positive(key: str, name: str, value: int | None, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key}.{name}", value, "must be a positive integer")


def check_task_source(
    key: str,
    source: str,
    sources: Sequence[str],
    paths: Mapping[str, str | None],
    kind: str = "file",
) -> None:
    """A known `source`; with source=file, each of `paths` ({option: value}) must exist."""
    if source not in sources:
        raise ConfigError(f"{key}.source", source, choices(sources))
    if source == "file":
        for name, value in paths.items():
            require_path(key, name, value, kind)


def require_path(key: str, name: str, value: str | None, kind: str = "file") -> None:
    """`value` names an existing file (kind="file") or folder (kind="folder")."""
    found = Path(value).expanduser() if value else None
    if not (found and (found.is_dir() if kind == "folder" else found.is_file())):
        raise ConfigError(f"{key}.{name}", value, f"no such {kind}")
