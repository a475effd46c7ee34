"""Pruning methods on tiny models: targets reached, patterns kept, magnitude exact."""

from __future__ import annotations

import copy

import pytest
import torch
from omegaconf import OmegaConf

from compsafe.compression import REGISTRY, get_method, parse_spec
from compsafe.compression.calibration import build_calibration
from compsafe.compression.layers import measure_sparsity, target_layers
from compsafe.compression.magnitude import n_m_mask, unstructured_mask
from compsafe.errors import ConfigError


def spec_for(method: str, sparsity: float = 0.5, pattern: str = "unstructured", **args):
    cfg = OmegaConf.create(
        {
            "method": method,
            "sparsity": sparsity,
            "pattern": pattern,
            "targets": ["Linear"],
            "ignore": ["re:.*lm_head"],
            "args": args,
        }
    )
    return parse_spec(cfg)


def test_registry_has_the_methods_of_this_issue():
    assert {"none", "magnitude", "wanda", "sparsegpt"} <= set(REGISTRY)


def test_unstructured_mask_prunes_exactly_the_smallest():
    scores = torch.tensor([[0.5, -3.0, 0.1, 2.0], [1.0, 0.2, -0.05, 4.0]]).abs()
    keep = unstructured_mask(scores, 0.5)
    assert keep.tolist() == [[False, True, False, True], [True, False, False, True]]


def test_n_m_mask_keeps_n_largest_per_group():
    scores = torch.tensor([[1.0, 4.0, 2.0, 3.0, 8.0, 5.0, 7.0, 6.0]])
    assert n_m_mask(scores, 2, 4).tolist() == [[False, True, False, True, True, False, True, False]]


def test_magnitude_pruned_weights_are_the_smallest(tiny_model):
    model = copy.deepcopy(tiny_model[0])
    before = {
        n: m.weight.detach().clone() for n, m in target_layers(model, ["Linear"], ["re:.*lm_head"])
    }
    get_method("magnitude").apply(model, spec_for("magnitude", 0.3))
    for name, module in target_layers(model, ["Linear"], ["re:.*lm_head"]):
        original, pruned = before[name].abs(), module.weight == 0
        assert pruned.float().mean().item() == pytest.approx(0.3, abs=1e-3)
        # Every pruned weight is no larger than every kept one.
        assert original[pruned].max() <= original[~pruned].min()
    assert torch.equal(model.lm_head.weight, tiny_model[0].lm_head.weight)


@pytest.mark.parametrize("pattern", ["2:4", "4:8"])
def test_magnitude_n_m(tiny_model, pattern):
    model = copy.deepcopy(tiny_model[0])
    spec = spec_for("magnitude", pattern=pattern)
    get_method("magnitude").apply(model, spec)
    n, m = spec.n_m
    for _, module in target_layers(model, spec.targets, spec.ignore):
        groups = (module.weight != 0).reshape(module.weight.shape[0], -1, m).sum(-1)
        assert int(groups.max()) <= n
    assert measure_sparsity(model, spec.targets, spec.ignore)["measured_sparsity"] == pytest.approx(
        0.5
    )


def calibration_for(tokenizer, tmp_path):
    corpus = tmp_path / "calib.txt"
    corpus.write_text(
        "\n\n".join(f"Paragraph {i}: the cat sat on the mat and {i} dogs ran." for i in range(200))
    )
    cfg = OmegaConf.create(
        {
            "name": "t",
            "source": "file",
            "path": str(corpus),
            "subset": None,
            "data_files": None,
            "split": "train",
            "text_field": "text",
            "num_samples": 4,
            "seq_len": 32,
            "seed": 0,
        }
    )
    return build_calibration(cfg, tokenizer)


def test_calibration_is_deterministic(tiny_model, tmp_path):
    first = calibration_for(tiny_model[1], tmp_path)["input_ids"]
    assert first == calibration_for(tiny_model[1], tmp_path)["input_ids"]
    assert len(first) == 4 and all(len(w) == 32 for w in first)


@pytest.mark.parametrize("method", ["wanda", "sparsegpt"])
@pytest.mark.parametrize(("sparsity", "pattern"), [(0.5, "unstructured"), (0.5, "2:4")])
def test_llmcompressor_methods_reach_target(tiny_model, tmp_path, method, sparsity, pattern):
    model, tokenizer = copy.deepcopy(tiny_model[0]), tiny_model[1]
    spec = spec_for(method, sparsity, pattern)
    get_method(method).apply(
        model, spec, calibration=calibration_for(tokenizer, tmp_path), tokenizer=tokenizer
    )
    measured = measure_sparsity(model, spec.targets, spec.ignore)
    assert measured["measured_sparsity"] == pytest.approx(0.5, abs=0.005)
    assert measured["layers"] == 14  # 2 layers x (q, k, v, o, gate, up, down)
    assert torch.equal(model.lm_head.weight, tiny_model[0].lm_head.weight)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"method": "nope"}, "compression.method"),
        ({"sparsity": 1.0}, "compression.sparsity"),
        ({"sparsity": -0.1}, "compression.sparsity"),
        ({"pattern": "4:2"}, "compression.pattern"),
        ({"pattern": "half"}, "compression.pattern"),
    ],
)
def test_bad_compression_config(kwargs, key):
    base = {"method": "magnitude", "sparsity": 0.5, "pattern": "unstructured"}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        spec_for(**{**base, **kwargs})


def test_modifier_arguments_are_validated_by_llmcompressor():
    with pytest.raises(ConfigError, match="block_size"):
        spec_for("sparsegpt", block_size="big")
    with pytest.raises(ConfigError, match=r"compression\.args"):
        spec_for("magnitude", anything=1)


def test_n_m_sets_the_target_rate():
    assert spec_for("wanda", 0.1, "4:8").target_sparsity == 0.5
    assert spec_for("none", 0.5).target_sparsity == 0.0
