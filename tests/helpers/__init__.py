"""Helpers the tests share (imported as `helpers`; fixtures stay in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "conf"

# The keys every results.json must have (the contract later stages rely on), written out here
# rather than imported, so the tests check the code against the spec.
RESULTS_CONTRACT = {
    "status",
    "model",
    "compression",
    "metrics",
    "timings",
    "environment",
    "config",
    "error",
}

# Small, fast benchmark settings for the tiny model (seconds, not minutes).
SMALL_BENCHMARK = [
    "benchmark=[perplexity,crows_pairs]",
    "benchmark.tasks.perplexity.options.window=64",
    "benchmark.tasks.perplexity.options.max_windows=4",
    "benchmark.tasks.crows_pairs.options.sample_size=12",
]
PERPLEXITY_ONLY = [
    "benchmark=perplexity",
    "benchmark.tasks.perplexity.options.window=64",
    "benchmark.tasks.perplexity.options.max_windows=2",
]


def tiny_job(model_dir: Path, *benchmark: str) -> list[str]:
    """Overrides for a job on the tiny model with a small benchmark (SMALL_BENCHMARK unless
    others are given)."""
    return ["model=hf", f"model.path={model_dir}", *(benchmark or SMALL_BENCHMARK)]


def compose_config(*overrides: str):
    """The composed job config of `compsafe <overrides>`, in process (no Hydra run)."""
    from hydra import compose, initialize_config_dir

    from compsafe.schema import register_configs

    register_configs()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def run_compsafe(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess (as users run it)."""
    return subprocess.run(
        [sys.executable, "-m", "compsafe", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def file_calibration(folder: Path, paragraphs: list[str], num_samples: int):
    """A calibration config reading `paragraphs` from a file in `folder` (windows of 32 tokens):
    the tiny-model tests' calibration, without the hub."""
    from omegaconf import OmegaConf

    corpus = folder / "calib.txt"
    corpus.write_text("\n\n".join(paragraphs))
    return OmegaConf.create(
        {
            "name": "t",
            "source": "file",
            "path": str(corpus),
            "subset": None,
            "data_files": None,
            "split": "train",
            "text_field": "text",
            "num_samples": num_samples,
            "seq_len": 32,
            "seed": 0,
        }
    )


def with_chat_template(model_dir: Path, folder: Path, template: str) -> Path:
    """A copy of a tiny model's folder whose tokenizer has `template` as its chat template."""
    import shutil

    from transformers import AutoTokenizer

    shutil.copytree(model_dir, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = template
    tokenizer.save_pretrained(folder)
    return folder
