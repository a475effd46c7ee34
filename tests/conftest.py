"""Fixtures: an offline environment, a per-session model cache and a tiny real Llama model.

Helpers that tests import live in the `helpers` package beside this file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.tiny_model import build_tiny_model

# No test may reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_SILENT"] = "true"
os.environ.pop("WANDB_API_KEY", None)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Converted models go to a per-session cache, never the user's."""
    cache = os.environ.get("COMPSAFE_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    monkeypatch.setenv("COMPSAFE_CACHE_DIR", cache)


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`make test`, `--dist loadgroup`): the tests that read the shared
    sweep run on one worker, so it is built once per run rather than once per worker, and so do
    the tests of the built wheel (two `pip wheel` runs in one checkout collide in its build
    folder); the slow tests are handed out first, so the short ones fill the gaps at the end
    instead of one worker finishing a long test while the other waits."""
    for item in items:
        for shared in ("tiny_sweep", "wheel"):
            if shared in item.fixturenames:
                item.add_marker(pytest.mark.xdist_group(shared))
                break
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(scope="session")
def tiny_sweep(tiny_model_dir, tmp_path_factory):
    """One real 3-job multirun (dense, magnitude 50 %, SparseGPT 50 % after the other two) on
    the tiny model through the console entry point, logged to W&B offline: the end-to-end
    tests that read a sweep share it."""
    from helpers import run_compsafe, tiny_job

    folder = tmp_path_factory.mktemp("sweep")
    out = run_compsafe(
        "-m",
        *tiny_job(tiny_model_dir),
        "compression=none,magnitude,sparsegpt",
        "logger=wandb",
        "logger.mode=offline",
        f"hydra.sweep.dir={folder}",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return folder, out


@pytest.fixture(scope="session")
def arch_dir(tiny_model_dir, tmp_path_factory):
    """name -> the folder of a tiny random model of that architecture (helpers.architectures),
    each built on first use."""
    from helpers.architectures import build_architecture

    folders: dict = {}

    def get(name: str) -> Path:
        if name not in folders:
            folders[name] = build_architecture(name, tiny_model_dir, tmp_path_factory.mktemp(name))
        return folders[name]

    return get


@pytest.fixture(scope="session")
def arch_model(arch_dir):
    """name -> (model, tokenizer) of that architecture, each loaded once (copy before changing)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    models: dict = {}

    def get(name: str):
        if name not in models:
            folder = arch_dir(name)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
            models[name] = (model, AutoTokenizer.from_pretrained(folder))
        return models[name]

    return get


@pytest.fixture(scope="session")
def arch_calibration(tmp_path_factory):
    """A small calibration config (2 windows of 32 tokens from a file): architecture tests."""
    from helpers import file_calibration

    paragraphs = [f"Paragraph {i}: the cat sat on the mat while {i} dogs ran." for i in range(99)]
    return file_calibration(tmp_path_factory.mktemp("arch-calib"), paragraphs, num_samples=2)
