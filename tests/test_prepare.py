"""The compressed-checkpoint cache protocol, in process: miss, hit, damaged entries, bad weights.

`Preparation.prepare` alone decides between the dense model, a cached checkpoint and a fresh
compression; these tests run it on the tiny model with magnitude pruning (no calibration).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from compsafe.compression import cache
from compsafe.compression.prepare import Preparation, check_compression
from compsafe.results.record import new_record
from helpers import compose_config


def preparation(model_dir, cache_dir, *overrides: str) -> Preparation:
    cfg = compose_config(
        "logger=none",
        f"model.path={model_dir}",
        "compression=magnitude",
        f"paths.cache_dir={cache_dir}",
        *overrides,
    )
    return check_compression(cfg)


def run(prep: Preparation) -> tuple[dict, torch.nn.Module]:
    """prepare() on a new record: (the record, the model it returned)."""
    record = new_record({})
    record["compression"] = prep.record()
    return record, prep.prepare(record).model


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture
def prep(tiny_model_dir, tmp_path) -> Preparation:
    return preparation(tiny_model_dir, tmp_path / "cache")


def test_a_miss_compresses_and_saves_then_a_hit_loads_the_same_weights(prep):
    first, fresh = run(prep)
    assert first["compression"]["cache"]["hit"] is False
    saved = first["compression"]["cache"]["path"]
    assert Path(saved).parent.parent == Path(prep.cache_dir) / "compressed"
    assert cache.read_manifest(Path(saved)) is not None
    assert first["timings"]["compress"] >= 0 and first["compression"]["seconds"] > 0

    second, loaded = run(prep)
    assert second["compression"]["cache"] == {"hit": True, "path": saved}
    assert second["timings"]["compress"] == 0.0
    assert second["model"] == first["model"]
    assert second["compression"]["measured_sparsity"] == first["compression"]["measured_sparsity"]
    expected = weights(fresh)
    for name, tensor in weights(loaded).items():
        assert torch.equal(tensor, expected[name]), name


@pytest.mark.parametrize("damage", ["no marker", "resized file", "unreadable manifest"])
def test_a_damaged_entry_is_discarded_and_rebuilt(prep, damage):
    first, _ = run(prep)
    entry = Path(first["compression"]["cache"]["path"])
    if damage == "no marker":
        (entry / cache.MARKER).unlink()
    elif damage == "resized file":
        with open(entry / "model.safetensors", "ab") as fh:
            fh.write(b"\0")
    else:
        (entry / cache.MANIFEST).write_text("{not json")
    again, _ = run(prep)
    assert again["compression"]["cache"] == {"hit": False, "path": str(entry)}
    assert cache.read_manifest(entry) is not None  # rebuilt whole
    assert run(prep)[0]["compression"]["cache"]["hit"] is True


def test_an_entry_whose_weights_lost_the_mask_fails_verification_and_is_rebuilt(prep, caplog):
    first, _ = run(prep)
    entry = Path(first["compression"]["cache"]["path"])
    tensors = load_file(entry / "model.safetensors")
    name = next(k for k in tensors if k.endswith("mlp.up_proj.weight"))
    tensors[name] = torch.ones_like(tensors[name])  # same size on disk, pruned weights refilled
    save_file(tensors, entry / "model.safetensors", metadata={"format": "pt"})
    sizes = json.loads((entry / cache.MANIFEST).read_text())["files"]
    sizes["model.safetensors"] = (entry / "model.safetensors").stat().st_size
    manifest = json.loads((entry / cache.MANIFEST).read_text()) | {"files": sizes}
    (entry / cache.MANIFEST).write_text(json.dumps(manifest))
    again, _ = run(prep)
    assert "Discarding cache entry" in caplog.text
    assert again["compression"]["cache"]["hit"] is False
    assert abs(again["compression"]["measured_sparsity"] - 0.5) < 0.01


def test_dense_and_cache_off_never_touch_the_cache(tiny_model_dir, tmp_path):
    dense, _ = run(preparation(tiny_model_dir, tmp_path / "c1", "compression=none"))
    assert dense["compression"]["cache"] is None and dense["compression"]["seconds"] == 0.0
    assert not (tmp_path / "c1" / "compressed").exists()
    off, _ = run(preparation(tiny_model_dir, tmp_path / "c2", "compression.cache=false"))
    assert off["compression"]["cache"] is None
    assert not (tmp_path / "c2" / "compressed").exists()
    assert abs(off["compression"]["measured_sparsity"] - 0.5) < 0.01


def test_calibration_is_checked_and_recorded_only_where_a_stage_needs_it(tiny_model_dir, tmp_path):
    assert preparation(tiny_model_dir, tmp_path).record()["calibration"] is None  # magnitude
    wanda = preparation(tiny_model_dir, tmp_path, "compression=wanda").record()["calibration"]
    assert wanda["name"] == "bold_wikipedia" and wanda["seed"] == 0
    rtn_after = preparation(tiny_model_dir, tmp_path, "compression.quantize=gptq")
    assert rtn_after.spec.stage_names == ("magnitude", "gptq") and rtn_after.spec.needs_calibration


def test_the_cache_key_covers_the_code_that_makes_the_weights(monkeypatch):
    """A fix in the compression, model-loading or calibration code (a new tie rule for masks)
    must never be served weights the old code made: their source is part of the key."""
    from compsafe.compression import cache
    from compsafe.compression.base import CompressionSpec

    spec = CompressionSpec("magnitude", 0.5, "unstructured", ("Linear",), ("lm_head",))
    before, material = cache.cache_key({"name": "m"}, spec, None, "cpu")
    assert material["code"] == cache.code_digest() and len(material["code"]) == 16
    monkeypatch.setattr(cache, "code_digest", lambda: "another-revision")
    after, _ = cache.cache_key({"name": "m"}, spec, None, "cpu")
    assert after != before
