"""Hydra callbacks: after a single run, print its results table (sweeps: compsafe.sweeper)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class PrintResultsTable(Callback):
    """Prints one row per job from the `results.json` files the run or sweep wrote."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        from compsafe.report.cli import print_results

        print_results(Path(config.hydra.runtime.output_dir))
