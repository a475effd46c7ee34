"""Every check a job's config gets before anything heavy runs (no weights, no torch).

The job runs it first; preflight runs it for every job of a command line before Hydra starts
any of them, so a typo anywhere in a sweep is one line at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig

from compsafe.compression.prepare import check_compression
from compsafe.evaluation.specs import check_benchmark_config
from compsafe.models import check_model_config

if TYPE_CHECKING:
    from compsafe.compression.prepare import Preparation


def check_config(cfg: DictConfig, arguments: bool = True) -> Preparation:
    """Model, compression (and its calibration), benchmark tasks and their options.
    `arguments=False` leaves `compression.args` to the job (llm-compressor validates them)."""
    check_model_config(cfg.model)
    preparation = check_compression(cfg, arguments)
    check_benchmark_config(cfg.benchmark)
    return preparation
