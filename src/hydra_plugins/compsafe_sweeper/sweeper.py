"""compsafe's Hydra sweeper (`hydra/sweeper=compsafe`); the logic is in compsafe.sweeper."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import OmegaConf

from compsafe.sweeper import expand_jobs, launch, name_jobs, report, write_job_list

log = logging.getLogger(__name__)


class CompsafeSweeper(BasicSweeper):
    def __init__(
        self,
        max_batch_size: int | None = None,
        params: dict | None = None,
        grid: list | None = None,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.grid = (
            OmegaConf.to_container(grid)
            if grid is not None and not isinstance(grid, list)
            else grid
        )

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        jobs = name_jobs(expand_jobs(self.params, self.grid, arguments))
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        write_job_list(sweep_dir, jobs)  # lets the report list jobs that left no record
        log.info("Sweep of %d jobs in %s", len(jobs), sweep_dir)
        batches = list(self.split_overrides_to_chunks(jobs, self.max_batch_size))
        returns, index, lost = [], 0, None
        for batch in batches:
            self.validate_batch_is_legal(batch)
            results, why = launch(self.launcher, batch, index)
            lost = lost or why
            index += len(batch)
            returns.append(results)
        if report(sweep_dir, [r for batch in returns for r in batch], lost):
            sys.exit(1)  # the table and the failed jobs are printed; the command failed
        return returns
