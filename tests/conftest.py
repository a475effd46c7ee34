"""Shared fixtures: an offline environment and a tiny real Llama model built by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "conf"

# No test may reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_SILENT"] = "true"
os.environ.pop("WANDB_API_KEY", None)

TINY_TEXT = (
    "The quick brown fox jumps over the lazy dog. A model that is pruned may say things it "
    "would not have said before. Safety is more than perplexity. "
) * 20


def build_tiny_model(folder: Path) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here: real classes, random init."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([TINY_TEXT], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="</s>",
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


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
