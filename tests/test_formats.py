"""Weight-and-activation formats (FP8, W8A8, W4A8, NVFP4, MXFP4) and the FP8 KV cache on the
tiny model: grids and scales verified, activations and cached keys/values quantized in the
forward that the evaluation runs (fresh and from the compressed-checkpoint cache), pruning
masks kept, bad input refused in one line."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from compsafe.compression.layers import target_layers
from compsafe.compression.masks import n_m_violations
from compsafe.compression.pipeline import compress_model
from compsafe.compression.verify import CompressionMismatch, check_layer_shapes
from compsafe.compression.verify_formats import verify_format, verify_kv_cache
from compsafe.errors import ConfigError
from helpers import PERPLEXITY_ONLY, compose_config, file_calibration, tiny_job
from test_compression import IGNORE, TARGETS, compressed, spec_for

FORMATS = ["fp8", "fp8_dynamic", "fp8_block", "w8a8", "w4a8", "nvfp4", "mxfp4"]
E2M1_VALUES = 15  # ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}: the most distinct values of an FP4 group


@pytest.fixture(scope="module")
def calibration_cfg(tmp_path_factory):
    paragraphs = [f"Paragraph {i}: the cat sat on the mat while {i} dogs ran." for i in range(200)]
    return file_calibration(tmp_path_factory.mktemp("calib"), paragraphs, num_samples=4)


def max_distinct(values: torch.Tensor, group: int) -> int:
    """The most distinct values in any run of `group` consecutive values of the last dim."""
    rows = values.detach().reshape(-1, values.shape[-1])
    groups = rows.reshape(rows.shape[0], -1, group).reshape(-1, group)
    return max(len(torch.unique(g)) for g in groups)


@pytest.mark.parametrize("method", FORMATS)
def test_every_format_compresses_and_verifies(tiny_model, calibration_cfg, method):
    spec = spec_for(method)
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    facts = stats["quantization"]
    assert facts["layers"] == 14 and facts["activations"] and facts["format"] == spec.quant.scheme
    for _, module in target_layers(model, TARGETS, IGNORE):
        assert hasattr(module.forward, "__wrapped__")  # compressed-tensors' quantized forward
        if method in ("nvfp4", "mxfp4"):
            assert max_distinct(module.weight, spec.quant.group_size) <= E2M1_VALUES
        if method == "fp8":  # one scale per tensor: at most the 253 finite E4M3 magnitudes x2
            assert len(torch.unique(module.weight)) <= 2 * 127


def test_labels_and_fixed_groups():
    assert spec_for("nvfp4").label == "nvfp4"
    assert spec_for("nvfp4", group_size=128).quant.group_size == 16  # the format's own
    assert spec_for("mxfp4").quant.group_size == 32
    assert spec_for("w4a8").label == "w4a8 g32"
    assert spec_for("fp8_block", group_size=64).label == "fp8_block b64"
    assert spec_for("fp8", kv_cache="fp8").label == "fp8 + kv fp8"
    assert spec_for("none", kv_cache="fp8").label == "dense + kv fp8"
    wanda = spec_for("wanda", pattern="2:4", quantize="fp8", kv_cache="fp8")
    assert wanda.label == "wanda 2:4 + fp8 + kv fp8"
    assert not spec_for("nvfp4").cacheable and spec_for("fp8").cacheable


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"kv_cache": "fp16"}, "compression.kv_cache=fp16: valid choices: fp8, null"),
        ({"args": {"smoothing_strength": "x"}}, "compression.args.smoothing_strength=x"),
    ],
)
def test_bad_format_config_is_one_line(extra, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        spec_for("w8a8", **extra)


def test_a_group_that_does_not_divide_is_refused(tiny_model):
    """NVFP4 groups 16 inputs; a model whose layers have 24 would be refused before work."""
    layer = torch.nn.Linear(24, 8)
    model = torch.nn.Sequential(layer)
    with pytest.raises(ConfigError, match="compression=nvfp4: layer 0 has 24 inputs"):
        check_layer_shapes(model, spec_for("nvfp4"))


def test_verification_catches_off_grid_weights_bad_scales_and_a_plain_forward(
    tiny_model, calibration_cfg
):
    spec = spec_for("nvfp4")
    model, _ = compressed(tiny_model, spec, calibration_cfg)
    layer = model.model.layers[0].mlp.up_proj
    with torch.no_grad():
        layer.weight[0, 0] += 1e-3
    with pytest.raises(CompressionMismatch, match="off the grid"):
        verify_format(model, spec)

    spec = spec_for("mxfp4")
    model, _ = compressed(tiny_model, spec, calibration_cfg)
    layer = model.model.layers[0].mlp.up_proj
    with torch.no_grad():
        layer.weight_scale[0, 0] *= 1.5
    with pytest.raises(CompressionMismatch, match="not powers of two"):
        verify_format(model, spec)

    spec = spec_for("fp8_dynamic")
    model, _ = compressed(tiny_model, spec, calibration_cfg)
    model.model.layers[1].self_attn.o_proj.quantization_enabled = False
    with pytest.raises(CompressionMismatch, match="does not quantize its inputs"):
        verify_format(model, spec)


def test_pruning_mask_survives_a_format(tiny_model, calibration_cfg):
    """2:4 + FP8 is what sparse-FP8 serving runs: every pruned weight stays zero."""
    spec = spec_for("wanda", pattern="2:4", quantize="fp8", kv_cache="fp8")
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    assert stats["quantization"]["format"] == "FP8"
    assert stats["kv_cache_quantization"]["layers"] == 2
    assert stats["measured_sparsity"] >= stats["sparsity_after_pruning"] >= 0.5 - 0.005
    for _, module in target_layers(model, TARGETS, IGNORE):
        assert n_m_violations(module.weight, 2, 4) == 0


@pytest.mark.parametrize("method", ["none", "gptq", "nvfp4"])
def test_kv_cache_combines_with_any_method(tiny_model, calibration_cfg, method):
    spec = spec_for(method, kv_cache="fp8")
    model, stats = compressed(tiny_model, spec, calibration_cfg)
    assert stats["kv_cache_quantization"] == verify_kv_cache(model, spec)
    attention = model.model.layers[0].self_attn
    assert attention.k_scale.item() > 0 and attention.v_scale.item() > 0
    if spec.quant:  # the cache scheme did not reset the layers' own quantization
        assert model.model.layers[0].mlp.up_proj.quantization_status is not None


# --- the evaluation runs the format as served --------------------------------------------


def job_config(model_dir, folder, *overrides):
    paths = [f"paths.{k}={folder}" for k in ("root_dir", "output_dir", "sweep_dir")]
    return compose_config(
        *tiny_job(model_dir, *PERPLEXITY_ONLY),
        "logger=none",
        "calibration.num_samples=4",
        "calibration.seq_len=32",
        f"paths.cache_dir={folder.parent / 'cache'}",
        "benchmark.reference_model=null",  # only the evaluated model runs
        "+force=true",
        *paths,
        *overrides,
    )


class LinearInputs:
    """Records what every targeted Linear multiplies (the input after the quantized forward's
    own fake quantization) while the job evaluates: torch.nn.functional.linear is wrapped, and
    records only inside the job's `evaluate` (not calibration, which sees raw inputs)."""

    def __init__(self, monkeypatch, vocab: int):
        from compsafe import job

        self.inputs: list[torch.Tensor] = []
        self.active = False
        linear, evaluate = torch.nn.functional.linear, job.evaluate

        def recording_linear(input, weight, bias=None):
            if self.active and weight.shape[0] != vocab:  # the lm_head is not targeted
                self.inputs.append(input.detach().float().clone())
            return linear(input, weight, bias)

        def recording_evaluate(*args, **kwargs):
            self.active = True
            try:
                return evaluate(*args, **kwargs)
            finally:
                self.active = False

        monkeypatch.setattr(torch.nn.functional, "linear", recording_linear)
        monkeypatch.setattr(job, "evaluate", recording_evaluate)


def fp8_per_tensor(x: torch.Tensor) -> bool:
    """One scale per tensor: at most the 2 x 127 E4M3 magnitudes (and zero) times it."""
    return len(torch.unique(x)) <= 2 * 127


def int8_per_token(x: torch.Tensor) -> bool:
    """Every token's row is integers times one scale: its absmax is 127 or 128 steps (the
    symmetric int8 range is [-128, 127])."""
    rows = x.reshape(-1, x.shape[-1])
    absmax = rows.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12)

    def off_integers(steps_to_absmax: int) -> torch.Tensor:
        steps = rows / (absmax / steps_to_absmax)
        return (steps - steps.round()).abs().amax(dim=-1)

    return bool((torch.minimum(off_integers(127), off_integers(128)) < 1e-3).all())


def e2m1_groups_of_16(x: torch.Tensor) -> bool:
    """Every 16 inputs take at most the 15 E2M1 values times their group's scale."""
    return max_distinct(x, 16) <= E2M1_VALUES


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, on_grid",
    [("fp8", fp8_per_tensor), ("w8a8", int8_per_token), ("nvfp4", e2m1_groups_of_16)],
)
def test_activations_are_quantized_during_evaluation(
    tiny_model_dir, tmp_path, monkeypatch, method, on_grid
):
    """The job's own evaluation (lm-eval through our wrapper) multiplies quantized inputs, on a
    freshly compressed model and on the one the cache gives back; the dense model does not."""
    from compsafe.job import run_job

    vocab = json.loads((tiny_model_dir / "config.json").read_text())["vocab_size"]

    def inputs_of(compression: str, name: str):
        recorder = LinearInputs(monkeypatch, vocab)
        folder = tmp_path / name
        record = run_job(job_config(tiny_model_dir, folder, f"compression={compression}"), folder)
        monkeypatch.undo()
        assert record["status"] == "completed"
        assert len(recorder.inputs) >= 14
        return record, recorder.inputs

    _, dense = inputs_of("none", "dense")
    assert not any(on_grid(x) for x in dense)
    first, fresh = inputs_of(method, "fresh")
    assert all(on_grid(x) for x in fresh)
    second, cached = inputs_of(method, "cached")
    assert all(on_grid(x) for x in cached)
    if method != "nvfp4":  # nvfp4 is never cached (its checkpoint unpacks in bfloat16)
        assert second["compression"]["cache"]["hit"] is True
    assert second["metrics"] == first["metrics"]


@pytest.mark.slow
def test_kv_cache_values_are_quantized_during_evaluation(tiny_model_dir, tmp_path, monkeypatch):
    """With compression.kv_cache=fp8 every key and value the attention caches is FP8 E4M3
    times one per-layer scale during the evaluation; the record says so."""
    from compressed_tensors.modeling.kvcache import QuantizedKVCache

    from compsafe.job import run_job

    seen: list[tuple[int, int]] = []
    original = QuantizedKVCache.forward

    def forward(self, key_states, value_states, *args, **kwargs):
        keys, values = original(self, key_states, value_states, *args, **kwargs)
        if not during.active:  # calibration observes raw keys and values
            return keys, values
        seen.append((len(torch.unique(key_states)), len(torch.unique(keys))))
        seen.append((len(torch.unique(value_states)), len(torch.unique(values))))
        return keys, values

    monkeypatch.setattr(QuantizedKVCache, "forward", forward)
    during = LinearInputs(monkeypatch, vocab=-1)  # its `active` marks the job's evaluation
    folder = tmp_path / "kv"
    cfg = job_config(tiny_model_dir, folder, "compression=none", "compression.kv_cache=fp8")
    record = run_job(cfg, folder)
    assert record["status"] == "completed"
    assert record["compression"]["kv_cache"] == "fp8"
    assert record["compression"]["label"] == "dense + kv fp8"
    assert record["compression"]["kv_cache_quantization"]["layers"] == 2
    assert seen and max(before for before, _ in seen) > 2 * 127
    assert all(after <= 2 * 127 for _, after in seen)


@pytest.mark.parametrize("method", ["fp8", "nvfp4"])
def test_fused_moe_experts_are_refused_in_one_line(arch_model, arch_calibration, method):
    """Repacked fused experts have no quantized forward: a format would leave their activations
    unquantized, so it refuses them and names the methods that compress experts."""
    model = copy.deepcopy(arch_model("mixtral")[0])
    with pytest.raises(ConfigError) as caught:
        compress_model(model, spec_for(method), arch_model("mixtral")[1], arch_calibration)
    message = str(caught.value)
    assert "fused experts" in message and "gptq" in message and "\n" not in message
