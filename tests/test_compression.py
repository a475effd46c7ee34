"""Compression methods on the tiny model: targets and patterns reached, quantization grids held,
prune + quantize keeps the mask, results reproducible, bad input refused."""

from __future__ import annotations

import copy

import pytest
import torch
from omegaconf import OmegaConf

from compsafe.compression import REGISTRY, get_method, parse_spec
from compsafe.compression.layers import measure_sparsity, target_layers
from compsafe.compression.masks import layer_mask, n_m_mask, n_m_violations, row_mask
from compsafe.compression.pipeline import compress_model
from compsafe.compression.verify import (
    CompressionMismatch,
    check_layer_shapes,
    verify_pruning,
    verify_quantization,
)
from compsafe.errors import ConfigError
from helpers import CONFIG_DIR, compose_config, file_calibration

TARGETS, IGNORE = ["Linear"], ["re:.*lm_head"]
PRUNERS = ["magnitude", "wanda", "sparsegpt", "gblm"]
QUANTIZERS = ["rtn", "gptq", "awq", "int8"]


def spec_for(method: str, sparsity: float = 0.5, pattern: str = "unstructured", **extra):
    base = {
        "method": method,
        "sparsity": sparsity,
        "pattern": pattern,
        "targets": TARGETS,
        "ignore": IGNORE,
        "args": {},
        "quantize": None,
        "bits": 4,
        "group_size": 32,
        "symmetric": True,
    }
    return parse_spec(OmegaConf.create({**base, **extra}))


@pytest.fixture(scope="module")
def calibration_cfg(tmp_path_factory):
    paragraphs = [
        f"Paragraph {i}: the cat sat on the mat while {i} dogs ran past the lazy fox."
        for i in range(300)
    ]
    return file_calibration(tmp_path_factory.mktemp("calib"), paragraphs, num_samples=4)


def compressed(tiny_model, spec, calibration_cfg):
    model = copy.deepcopy(tiny_model[0])
    stats = compress_model(model, spec, tiny_model[1], calibration_cfg)
    return model, stats


def weights(model):
    return {n: m.weight.detach() for n, m in target_layers(model, TARGETS, IGNORE)}


def max_distinct_per_group(weight: torch.Tensor, group: int) -> int:
    groups = weight.reshape(weight.shape[0], -1, group).reshape(-1, group)
    return max(len(torch.unique(g)) for g in groups)


def test_registry_has_every_method_of_the_paper():
    assert {"none", *PRUNERS, *QUANTIZERS} <= set(REGISTRY)


def test_layer_mask_prunes_exactly_the_smallest():
    scores = torch.tensor([[0.5, 3.0, 0.1, 2.0], [1.0, 0.2, 0.05, 4.0]])
    assert layer_mask(scores, 0.5).tolist() == [
        [False, True, False, True],
        [True, False, False, True],
    ]


def test_row_mask_prunes_the_same_share_of_every_row():
    scores = torch.tensor([[0.5, 3.0, 0.1, 2.0], [1.0, 0.2, 0.05, 4.0]])
    assert row_mask(scores, 0.5).tolist() == [
        [False, True, False, True],
        [True, False, False, True],
    ]
    assert row_mask(scores, 0.25).sum(dim=1).tolist() == [3, 3]


def test_n_m_mask_keeps_n_largest_per_group():
    scores = torch.tensor([[1.0, 4.0, 2.0, 3.0, 8.0, 5.0, 7.0, 6.0]])
    assert n_m_mask(scores, 2, 4).tolist() == [[False, True, False, True, True, False, True, False]]
    assert n_m_violations(torch.ones(2, 8), 2, 4) == 4


def test_magnitude_pruned_weights_are_the_smallest(tiny_model, calibration_cfg):
    model, _ = compressed(tiny_model, spec_for("magnitude", 0.3), calibration_cfg)
    for name, original in weights(tiny_model[0]).items():
        pruned = weights(model)[name] == 0
        assert pruned.float().mean().item() == pytest.approx(0.3, abs=1e-3)
        assert original.abs()[pruned].max() <= original.abs()[~pruned].min()
    assert torch.equal(model.lm_head.weight, tiny_model[0].lm_head.weight)


@pytest.mark.parametrize("method", PRUNERS)
@pytest.mark.parametrize(
    ("sparsity", "pattern"),
    [(0.3, "unstructured"), (0.5, "unstructured"), (0.5, "2:4"), (0.5, "4:8")],
)
def test_pruning_reaches_target_and_pattern(tiny_model, calibration_cfg, method, sparsity, pattern):
    spec = spec_for(method, sparsity, pattern)
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    assert stats["measured_sparsity"] == pytest.approx(sparsity, abs=0.005)
    assert stats["layers"] == 14  # 2 layers x (q, k, v, o, gate, up, down)
    if spec.n_m:
        assert all(n_m_violations(w, *spec.n_m) == 0 for w in weights(model).values())
    assert torch.equal(model.lm_head.weight, tiny_model[0].lm_head.weight)
    assert torch.equal(model.model.embed_tokens.weight, tiny_model[0].model.embed_tokens.weight)


@pytest.mark.parametrize("method", ["wanda", "sparsegpt", "gblm", "magnitude"])
def test_n_m_means_n_nonzeros_per_m(tiny_model, calibration_cfg, method):
    """llm-compressor's "n:m" prunes n; ours keeps N. 1:4 must be 75 % sparse."""
    model, stats = compressed(tiny_model, spec_for(method, pattern="1:4"), calibration_cfg)
    assert stats["measured_sparsity"] == pytest.approx(0.75, abs=0.005)
    assert all(n_m_violations(w, 1, 4) == 0 for w in weights(model).values())


@pytest.mark.parametrize("method", ["rtn", "gptq", "awq"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_4bit_groups_take_at_most_16_values(tiny_model, calibration_cfg, method, symmetric):
    spec = spec_for(method, symmetric=symmetric)
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    assert stats["quantization"].pop("quantized_share") == stats["quantized_share"] > 0.99
    assert stats["quantization"] == {
        "method": method,
        "bits": 4,
        "group_size": 32,
        "symmetric": symmetric,
        "strategy": "group",
        "layers": 14,
    }
    for weight in weights(model).values():
        assert max_distinct_per_group(weight, 32) <= 16
    assert not torch.equal(
        weights(model)["model.layers.0.mlp.up_proj"],
        weights(tiny_model[0])["model.layers.0.mlp.up_proj"],
    )


def test_int8_rows_take_at_most_256_values(tiny_model, calibration_cfg):
    spec = spec_for("int8", bits=4, group_size=32)  # int8 fixes its own scheme
    assert (spec.quant.bits, spec.quant.group_size, spec.quant.symmetric) == (8, None, True)
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    assert stats["quantization"]["strategy"] == "channel"
    for weight in weights(model).values():
        assert max(len(torch.unique(row)) for row in weight) <= 256


@pytest.mark.parametrize("quantizer", ["gptq", "awq", "rtn"])
def test_prune_then_quantize_keeps_the_mask(tiny_model, calibration_cfg, quantizer):
    pruned, _ = compressed(tiny_model, spec_for("sparsegpt", pattern="2:4"), calibration_cfg)
    spec = spec_for("sparsegpt", pattern="2:4", quantize=quantizer)
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    assert spec.label == f"sparsegpt 2:4 + {quantizer} w4 g32"
    for name, weight in weights(model).items():
        assert torch.all(weight[weights(pruned)[name] == 0] == 0)  # every pruned weight stays 0
        assert n_m_violations(weight, 2, 4) == 0
        assert max_distinct_per_group(weight, 32) <= 16
    assert stats["sparsity_after_pruning"] == pytest.approx(0.5, abs=0.005)
    assert stats["measured_sparsity"] >= stats["sparsity_after_pruning"]
    if quantizer == "gptq":
        assert stats["refilled_weights"] > 0  # GPTQ's updates refill; we zero them again


@pytest.mark.parametrize(
    "spec_args",
    [
        {"method": "wanda"},
        {"method": "gblm"},
        {"method": "gptq"},
        {"method": "wanda", "quantize": "gptq"},
    ],
)
def test_same_config_same_weights(tiny_model, calibration_cfg, spec_args):
    spec = spec_for(**spec_args)
    first, _ = compressed(tiny_model, spec, calibration_cfg)
    second, _ = compressed(tiny_model, spec, calibration_cfg)
    for name, weight in weights(first).items():
        assert torch.equal(weight, weights(second)[name])


def test_verification_catches_a_wrong_model(tiny_model):
    with pytest.raises(CompressionMismatch, match=r"14 targeted matrices left \(nearly\) dense"):
        verify_pruning(tiny_model[0], spec_for("wanda", 0.5))
    short = copy.deepcopy(tiny_model[0])
    get_method("magnitude").apply(short, spec_for("magnitude", 0.4))
    with pytest.raises(CompressionMismatch, match=r"measured sparsity 0\.4000"):
        verify_pruning(short, spec_for("wanda", 0.5))
    with pytest.raises(CompressionMismatch, match="unquantized"):
        verify_quantization(tiny_model[0], spec_for("gptq"))
    model = copy.deepcopy(tiny_model[0])
    get_method("magnitude").apply(model, spec_for("magnitude", 0.5))  # unstructured 50 %
    with pytest.raises(CompressionMismatch, match="break 2:4"):
        verify_pruning(model, spec_for("magnitude", pattern="2:4"))


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (
            {"group_size": 48},
            "compression.group_size=48: layer model.layers.0.self_attn.q_proj has 64",
        ),
        (
            {"pattern": "3:7"},
            "compression.pattern=3:7: layer model.layers.0.self_attn.q_proj has 64",
        ),
    ],
)
def test_shapes_that_do_not_divide_are_refused(tiny_model, extra, key):
    spec = spec_for("wanda", quantize="gptq", **extra)
    with pytest.raises(ConfigError, match=key):
        check_layer_shapes(tiny_model[0], spec)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"method": "nope"}, "compression.method=nope: valid choices: awq, fp8"),
        ({"sparsity": 1.0}, "compression.sparsity=1.0: must be in [0, 1)"),
        ({"sparsity": -0.1}, "compression.sparsity=-0.1"),
        ({"pattern": "4:2"}, "compression.pattern=4:2: N:M needs 0 < N < M"),
        ({"pattern": "half"}, "compression.pattern=half"),
        ({"quantize": "nf4"}, "compression.quantize=nf4: valid choices: awq, fp8, fp8_block"),
        ({"method": "gptq", "quantize": "awq"}, "compression.quantize=awq: gptq already quantizes"),
        ({"method": "none", "quantize": "gptq"}, "compression.quantize=gptq"),
        ({"method": "gptq", "bits": 9}, "compression.bits=9: must be in 2..8"),
        ({"method": "gptq", "group_size": 0}, "compression.group_size=0"),
        ({"method": "gptq", "args": {"block_size": "big"}}, "compression.args.block_size=big"),
        ({"method": "awq", "args": {"n_grids": 3}}, "compression.args.n_grids=3"),
        ({"method": "magnitude", "args": {"anything": 1}}, "compression.args"),
        ({"method": "rtn", "args": {"anything": 1}}, "rtn takes no arguments"),
    ],
)
def test_bad_compression_config(extra, message):
    with pytest.raises(ConfigError) as caught:
        spec_for(**{"method": "wanda", **extra})
    assert message in str(caught.value)


def test_n_m_sets_the_target_rate():
    assert spec_for("wanda", 0.1, "4:8").target_sparsity == 0.5
    assert spec_for("wanda", 0.1, "1:4").target_sparsity == 0.75
    assert spec_for("none", 0.5).target_sparsity == 0.0
    assert spec_for("gptq", 0.5).target_sparsity == 0.0


def test_measure_sparsity_over_targets_only(tiny_model):
    stats = measure_sparsity(tiny_model[0], TARGETS, IGNORE)
    assert stats["layers"] == 14 and stats["measured_sparsity"] < 0.01


def test_gblm_is_wanda_plus_a_gradient_term(tiny_model, calibration_cfg):
    """With the gradient term scaled to 0 GBLM's score is Wanda's: same masks; with it, not."""
    wanda, _ = compressed(tiny_model, spec_for("wanda"), calibration_cfg)
    no_gradient, _ = compressed(
        tiny_model, spec_for("gblm", args={"gradient_scale": 0.0}), calibration_cfg
    )
    gblm, _ = compressed(tiny_model, spec_for("gblm"), calibration_cfg)
    masks = {name: w == 0 for name, w in weights(wanda).items()}
    assert all(torch.equal(w == 0, masks[n]) for n, w in weights(no_gradient).items())
    assert any(not torch.equal(w == 0, masks[n]) for n, w in weights(gblm).items())


@pytest.mark.slow
def test_compressed_copies_are_freed(tiny_model, calibration_cfg):
    """A sweep must not keep every job's copy alive (llm-compressor's tracing registered them
    in torch.fx's module-level table)."""
    import gc

    from transformers import PreTrainedModel

    def live() -> int:
        gc.collect()
        return sum(isinstance(o, PreTrainedModel) for o in gc.get_objects())

    before = live()
    for method in ("wanda", "sparsegpt", "gptq"):
        model, _ = compressed(tiny_model, spec_for(method), calibration_cfg)
        del model
    assert live() == before


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (CONFIG_DIR / "compression").glob("*.yaml"))
)
def test_every_shipped_method_config_passes_its_librarys_validation(name):
    """Preflight leaves `compression.args` from our own YAMLs to this test (it validates them
    only when the command line sets some): each one must pass llm-compressor's modifiers."""
    cfg = compose_config(f"compression={name}")
    assert parse_spec(cfg.compression, arguments=True).method == cfg.compression.method
