"""The Hydra app: `compsafe [group=option ...] [key=value ...] [-m]`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from compsafe.errors import ConfigError, exit_with
from compsafe.naming import register_resolvers, sweep_group_name
from compsafe.schema import register_configs


def config_dir() -> Path:
    """compsafe's own configs: `$COMPSAFE_CONFIG_DIR`, else the installed package's copy (the
    wheel carries the repository's `conf/` as `compsafe/conf/`), else a checkout's `conf/`.

    A user's own configs are added with Hydra's means (`--config-dir`, `hydra.searchpath`),
    not here.
    """
    override = os.environ.get("COMPSAFE_CONFIG_DIR")
    if override:
        return Path(override).resolve()
    package = Path(__file__).resolve().parent
    installed = package / "conf"
    return installed if installed.is_dir() else package.parents[1] / "conf"


CONFIG_DIR = config_dir()

register_configs()
register_resolvers()


def sweep_group(hydra_cfg) -> str | None:
    """A W&B group for the jobs of one sweep (named as its report's, by naming.py); None for a
    single run."""
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return sweep_group_name(hydra_cfg.sweep.dir)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    from compsafe.job import run_job

    hydra_cfg = HydraConfig.get()
    group = sweep_group(hydra_cfg)
    try:
        run_job(cfg, Path(hydra_cfg.runtime.output_dir), group=group)
    except ConfigError as err:  # found only once the model was loaded (e.g. a layer's shape)
        if group is not None:
            raise  # in a sweep: the sweeper lists the failed job, the other jobs go on
        exit_with(err)


def main() -> None:
    """Check the whole command line first (one-line errors), then hand over to Hydra (a sweep
    with a failed job ends with exit status 1: see compsafe.sweeper)."""
    from compsafe.help import help_text, wants_help
    from compsafe.preflight import preflight

    try:
        if wants_help(sys.argv[1:]):
            print(help_text(sys.argv[1:], CONFIG_DIR))
            return
        preflight(sys.argv[1:], CONFIG_DIR)
    except ConfigError as err:
        exit_with(err)
    app()


if __name__ == "__main__":
    main()
