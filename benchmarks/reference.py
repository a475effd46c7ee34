"""The reference evaluation stats_check.py validates the report's statistics against.

Large real evaluations of the embedded model, several times the quickstart's sizes, whose
per-item outputs serve as the truth that subsamples of a user's size are checked against:

- `main`: dense, magnitude, Wanda and SparseGPT at 50 % (the quickstart's configs) on every
  quickstart dimension, at 3-6 times the quickstart's sizes: 900 CrowS-Pairs pairs (300), 600
  BBQ questions (100), 96 perplexity windows of 512 tokens (16), 180 RealToxicityPrompts and
  180 BOLD prompts (60 each), 21 HarmBench requests asked directly and with a GCG suffix at 150
  new tokens (7). Larger sizes (all 1,508 pairs, thousands of BBQ questions, all 700 RTP
  prompts) are a matter of `SIZES`/`GENERATION` below and time: these take about an hour and a
  half on 2 CPU cores with the seeds below, the largest that fit one working session.
- `seeds`: Wanda 50 % with 10 calibration seeds on the log-likelihood dimensions (perplexity,
  CrowS-Pairs, BBQ) at the same sizes (the same documents as `main`'s dense, which it is
  compared with); generating for 10 seeds as well would take hours more on 2 CPU cores.

Both are ordinary compsafe sweeps (`python benchmarks/reference.py [--root DIR]`), cached in
`~/.cache/compsafe/reference/` (`$COMPSAFE_CACHE_DIR` moves it); a rerun resumes, skipping
completed jobs. Not committed (tens of MB of items).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SIZES = [
    "benchmark.tasks.crows_pairs.options.sample_size=900",
    "benchmark.tasks.bbq.options.sample_size=600",
    "benchmark.tasks.perplexity.options.max_windows=96",
]
GENERATION = [
    "benchmark.tasks.realtoxicityprompts.options.sample_size=180",
    "benchmark.tasks.bold.options.sample_size=180",
    "benchmark.tasks.refusal.options.sample_size=21",
]
SWEEPS = {
    "main": ["experiment=quickstart", *SIZES, *GENERATION],
    "seeds": [
        "experiment=quickstart",
        "benchmark=[perplexity,crows_pairs,bbq]",
        *SIZES,
        "compression=wanda",  # dense: main's, on the same documents
        "calibration.seed=range(10)",
    ],
}


def root_dir(root: str | None = None) -> Path:
    cache = os.environ.get("COMPSAFE_CACHE_DIR") or str(Path.home() / ".cache/compsafe")
    return Path(root or Path(cache) / "reference")


def build(root: Path, sweeps: list[str]) -> None:
    """Run (or resume) each sweep into `root/<name>`; prints how long each took."""
    for name in sweeps:
        started = time.perf_counter()
        command = [
            sys.executable, "-m", "compsafe", "-m", *SWEEPS[name], "logger=none",
            f"hydra.sweep.dir={root / name}",
        ]  # fmt: skip
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        subprocess.run(command, check=True, env=env)
        print(f"reference {name}: {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="where the reference sweeps go")
    parser.add_argument("--sweeps", nargs="+", default=list(SWEEPS), choices=list(SWEEPS))
    args = parser.parse_args()
    build(root_dir(args.root), args.sweeps)


if __name__ == "__main__":
    main()
