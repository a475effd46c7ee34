"""Check every job of a command line before Hydra runs any of them.

Hydra composes a sweep's configs only as it reaches each job, and reports unknown options as
multi-line tracebacks. Here we compose them all first and turn any bad input into one line
that names the key and the valid choices, before a model is loaded.
"""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
)

from compsafe.errors import ConfigError, choices
from compsafe.naming import register_resolvers
from compsafe.schema import register_configs

# Flags after which Hydra does not run jobs (or reads its primary config from elsewhere).
SKIP_FLAGS = (
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--cfg",
    "-c",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--resolve",
    "-p",
    "--package",
)
MULTIRUN_FLAGS = ("-m", "--multirun")
# A user's own config folder, searched after ours, as Hydra does (`--config-dir DIR`).
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
SEARCHPATH = "hydra.searchpath"


def split_command_line(argv: list[str]) -> tuple[list[str], str | None]:
    """(overrides, the user's --config-dir or None): flags dropped, a flag's value kept apart."""
    overrides, user_dir = [], None
    args = iter(argv)
    for arg in args:
        flag, has_value, value = arg.partition("=")
        if flag in CONFIG_DIR_FLAGS:
            user_dir = value if has_value else next(args, "")
        elif not arg.startswith("-"):
            overrides.append(arg)
    return overrides, user_dir


def with_user_config_dir(overrides: list[str], user_dir: str | None, parser) -> list[str]:
    """The overrides with `--config-dir` folded into `hydra.searchpath`, so that composing
    here sees the user's configs exactly as Hydra's run will."""
    if user_dir is None:
        return overrides
    folder = Path(user_dir).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError("--config-dir", user_dir, "no such folder")
    entries = [f"file://{folder}"]
    rest = []
    for line in overrides:
        override = parser.parse_override(line)
        if override.get_key_element() == SEARCHPATH and not override.is_delete():
            entries += [str(v) for v in override.value() or []]
        else:
            rest.append(line)
    quoted = ", ".join("'" + entry.replace("'", "\\'") + "'" for entry in entries)
    return [*rest, f"{SEARCHPATH}=[{quoted}]"]


def config_groups(overrides: list[str]) -> dict[str, list[str]]:
    """Our config groups and their options, over Hydra's whole search path (ours, the user's
    `--config-dir` and `hydra.searchpath`); Hydra's own groups are left out."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.object_type import ObjectType

    loader = GlobalHydra.instance().config_loader()
    searchpath = [o for o in overrides if o.startswith(SEARCHPATH)]

    def options(group: str, kind: ObjectType) -> list[str]:
        return loader.get_group_options(group, kind, config_name="config", overrides=searchpath)

    return {
        group: sorted(options(group, ObjectType.CONFIG))
        for group in options("", ObjectType.GROUP)
        if group != "hydra"
    }


def _values(override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    value = override.value()
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]  # group=[a,b]


def check_group_choices(overrides, groups: dict[str, list[str]]) -> None:
    for override in overrides:
        group = override.key_or_group
        if group not in groups or override.is_delete():
            continue
        for value in _values(override):
            if value not in groups[group] and value != "null":
                raise ConfigError(group, value, choices(groups[group]))


def one_line(err: Exception) -> ConfigError:
    """A compose error as one line: unknown keys list the valid ones, missing values say so."""
    cause = err
    while cause.__cause__ is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    key = getattr(cause, "full_key", None) or "config"
    object_type = getattr(cause, "object_type", None)
    if isinstance(cause, MissingMandatoryValue):
        return ConfigError(key, None, f"required; set it, e.g. {key}=...", show_value=False)
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        if object_type is not None and hasattr(object_type, "__dataclass_fields__"):
            valid = ", ".join(object_type.__dataclass_fields__)
            return ConfigError(
                key, None, f"unknown key; valid keys here: {valid}", show_value=False
            )
        return ConfigError(
            key, None, f"not in the config; add a new key with +{key}=...", show_value=False
        )
    message = " ".join(str(cause).split("\n")[0].split())
    return ConfigError(key, None, message, show_value=False)


def job_overrides(overrides: list[str], multirun: bool, parser) -> list[list[str]]:
    """The override lists of every job the command line asks for (one for a single run)."""
    plain = [o.input_line for o in parser.parse_overrides(overrides) if not o.is_sweep_override()]
    base = compose("config", overrides=plain, return_hydra_config=True)
    multirun = multirun or base.hydra.mode == RunMode.MULTIRUN
    if not multirun:
        return [overrides]
    from compsafe.sweeper import expand_jobs

    sweeper = base.hydra.sweeper
    params = sweeper.get("params")
    grid = sweeper.get("grid")
    return expand_jobs(
        OmegaConf.to_container(params, resolve=False) if params else None,
        OmegaConf.to_container(grid, resolve=False) if grid else None,
        overrides,
    )


def sets_compression_args(overrides: list[str]) -> bool:
    """Whether the command line gives `compression.args`: only then does preflight import
    llm-compressor to validate them (our YAMLs' own args are validated by the test suite)."""
    return any(o.lstrip("+~").startswith("compression.args") for o in overrides)


def preflight(argv: list[str], config_dir: Path) -> int:
    """Compose and check every job; returns how many were checked, raises ConfigError."""
    register_configs()
    register_resolvers()
    if any(a.split("=")[0] in SKIP_FLAGS for a in argv):
        return 0
    parser = OverridesParser.create()
    overrides, user_dir = split_command_line(argv)
    try:
        parsed = parser.parse_overrides(overrides)
        overrides = with_user_config_dir(overrides, user_dir, parser)
    except HydraException as err:
        raise ConfigError("command line", " ".join(argv), " ".join(str(err).split())) from None
    with initialize_config_dir(str(config_dir), version_base="1.3", job_name="preflight"):
        try:
            check_group_choices(parsed, config_groups(overrides))
            multirun = any(a in MULTIRUN_FLAGS for a in argv)
            jobs = job_overrides(overrides, multirun, parser)
            from compsafe.check import check_config  # after the cheap checks above

            arguments = sets_compression_args(overrides) or user_dir is not None
            for job in jobs:
                check_config(compose("config", overrides=job), arguments)
        except (HydraException, OmegaConfBaseException) as err:
            raise one_line(err) from None
    return len(jobs)
