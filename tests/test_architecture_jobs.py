"""The architecture matrix through the real job (slow): compressed MoE models reload from the
cache with their experts, and every architecture evaluates (a perplexity window, a generation)."""

from __future__ import annotations

import json

import pytest
import torch

from helpers.architectures import ARCHITECTURES


def prepared(model_dir, cache_dir, method: str, calibration_path):
    from compsafe.compression.prepare import check_compression
    from compsafe.results.record import new_record
    from helpers import compose_config

    cfg = compose_config(
        "logger=none",
        f"model.path={model_dir}",
        f"compression={method}",
        "compression.group_size=32",
        f"paths.cache_dir={cache_dir}",
        "calibration.source=file",
        f"calibration.path={calibration_path}",
        "calibration.num_samples=2",
        "calibration.seq_len=32",
    )
    record = new_record({})
    preparation = check_compression(cfg)
    record["compression"] = preparation.record()
    return record, preparation.prepare(record).model


@pytest.mark.slow
@pytest.mark.parametrize("method", ["wanda", "rtn"])
def test_compressed_moe_reloads_from_the_cache_with_its_experts(
    arch_dir, arch_calibration, tmp_path, method
):
    """llm-compressor leaves experts unfused, a layout that reloads with fresh random experts:
    pruned MoE models are repacked and reload equal; quantized ones are not cached."""
    folder = arch_dir("mixtral")
    first, fresh = prepared(folder, tmp_path, method, arch_calibration.path)
    second, again = prepared(folder, tmp_path, method, arch_calibration.path)
    assert first["compression"]["targeted_share"] > 0.99
    ids = torch.tensor([[1, 5, 6, 7]])
    assert torch.allclose(fresh(ids).logits, again(ids).logits, atol=1e-5)
    if method == "rtn":
        assert second["compression"]["cache"] == {"hit": False, "path": None}
    else:
        assert second["compression"]["cache"]["hit"] is True
        assert second["compression"]["overall_sparsity"] == first["compression"]["overall_sparsity"]


@pytest.mark.slow
def test_evaluation_runs_on_every_architecture(arch_dir, tmp_path):
    """The real job on each architecture (magnitude, which compresses them all): a perplexity
    window and one generation, the record's coverage filled in."""
    from compsafe.results.files import RESULTS_FILE
    from helpers import run_compsafe

    paths = ",".join(str(arch_dir(arch)) for arch in ARCHITECTURES)
    # A short text: the packaged corpus would be tokenized whole once per architecture.
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "\n".join(f"The river ran past the mill for the {i}th time." for i in range(40))
    )
    out = run_compsafe(
        "-m",
        "model=hf",
        f"model.path={paths}",
        "compression=magnitude",
        "compression.cache=false",
        "logger=none",
        "benchmark=[perplexity,refusal]",
        "benchmark.tasks.perplexity.options.source=file",
        f"+benchmark.tasks.perplexity.options.path={corpus}",
        "benchmark.tasks.perplexity.options.window=32",
        "benchmark.tasks.perplexity.options.max_windows=1",
        "benchmark.tasks.refusal.options.sample_size=1",
        "benchmark.tasks.refusal.options.sets=[harmbench]",
        "benchmark.tasks.refusal.options.attack=none",
        "benchmark.tasks.refusal.options.max_new_tokens=4",
        "benchmark.tasks.refusal.options.chat_template=off",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    records = [json.loads(p.read_text()) for p in (tmp_path / "sweep").glob(f"*/{RESULTS_FILE}")]
    assert len(records) == len(ARCHITECTURES)
    for record in records:
        assert record["status"] == "completed", record["error"]
        assert record["metrics"]["perplexity/token_perplexity"] > 1
        assert "refusal/refusal_rate" in record["metrics"]
        compression = record["compression"]
        assert compression["measured_sparsity"] == pytest.approx(0.5, abs=0.005)
        assert 0.9 < compression["targeted_share"] <= 1
        assert compression["overall_sparsity"] > 0.45
    assert "overall" in out.stdout
