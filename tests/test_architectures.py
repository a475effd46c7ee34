"""The architecture matrix: every compression method on tiny random models of the
architectures people compress either compresses every weight it targets (measured here, matrix
by matrix, fused MoE experts and GPT-2's Conv1D included) or refuses in one line; the compressed
model still generates. docs/architectures.md holds the table these tests pin."""

from __future__ import annotations

import copy

import pytest
import torch
from omegaconf import OmegaConf

from compsafe.compression import parse_spec
from compsafe.compression.masks import n_m_violations
from compsafe.compression.pipeline import compress_model
from compsafe.compression.verify import CompressionMismatch
from compsafe.errors import ConfigError
from helpers.architectures import ARCHITECTURES, distinct_per_group, linear_maps

PRUNERS = ("magnitude", "wanda", "sparsegpt", "gblm")
QUANTIZERS = ("rtn", "gptq", "awq", "int8")
METHODS = PRUNERS + QUANTIZERS
TARGETS, IGNORE = ["Linear"], ["re:.*lm_head"]

# What each method does on each architecture where it does not compress every targeted weight:
# (the exception, text of its one line). Everything else must compress fully.
CONV1D = (ConfigError, "Conv1D layers (conv1d, e.g. transformer.h.0.attn.c_attn)")
NO_AWQ_MAPPING = (ConfigError, "no AWQ layer mappings")
FOUR_D = (ConfigError, "a layer here gets 4-D ones")
DT_PROJ_INPUTS = (ConfigError, "dt_proj has 4 inputs, not a multiple of 32")
DT_PROJ_DENSE = (ConfigError, "left dense, e.g. backbone.layers.0.mixer.dt_proj: the method never")
REFUSED = {
    **{("gpt2", m): CONV1D for m in METHODS if m != "magnitude"},
    ("gpt_neox", "awq"): NO_AWQ_MAPPING,
    ("opt", "awq"): NO_AWQ_MAPPING,
    ("deepseek_v3", "wanda"): FOUR_D,
    ("deepseek_v3", "sparsegpt"): FOUR_D,
    ("deepseek_v3", "gblm"): FOUR_D,
    ("mamba", "wanda"): DT_PROJ_DENSE,
    ("mamba", "sparsegpt"): DT_PROJ_DENSE,
    ("mamba", "gblm"): DT_PROJ_DENSE,
    ("mamba", "gptq"): DT_PROJ_INPUTS,
    ("mamba", "awq"): DT_PROJ_INPUTS,
    ("mamba", "rtn"): DT_PROJ_INPUTS,
}


def spec_for(method: str, pattern: str = "unstructured", ignore=IGNORE):
    return parse_spec(
        OmegaConf.create(
            {
                "method": method,
                "sparsity": 0.5,
                "pattern": pattern,
                "targets": TARGETS,
                "ignore": list(ignore),
                "args": {},
                "quantize": None,
                "bits": 4,
                "group_size": 32,
                "symmetric": True,
            }
        )
    )


def compress(arch_model, arch, method, calibration_cfg, **kwargs):
    base, tokenizer = arch_model(arch)
    model = copy.deepcopy(base)
    stats = compress_model(model, spec_for(method, **kwargs), tokenizer, calibration_cfg)
    return model, stats, tokenizer


def check_everything_compressed(model, stats, method):
    """Every linear map compressed (pruned to 50 % or on a 4/8-bit grid); the record counts
    them all; the model generates."""
    maps = linear_maps(model)
    assert stats["targeted_weights"] == sum(w.numel() for w in maps.values())
    for name, weight in maps.items():
        if method in PRUNERS:
            assert float((weight == 0).float().mean()) == pytest.approx(0.5, abs=0.02), name
        elif method == "int8":
            assert distinct_per_group(weight, None) <= 256, name
        else:
            assert distinct_per_group(weight, 32) <= 16, name
    assert 0.9 < stats["targeted_share"] <= 1.0
    if method in PRUNERS:
        assert stats["overall_sparsity"] == pytest.approx(0.5 * stats["targeted_share"], abs=0.02)
    else:
        assert stats["quantized_share"] == pytest.approx(stats["targeted_share"])
    out = model.generate(torch.tensor([[1, 5, 6]]), max_new_tokens=3, do_sample=False)
    assert out.shape == (1, 6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_method_on_every_architecture(arch_model, arch_calibration, arch, method):
    refusal = REFUSED.get((arch, method))
    if refusal is None:
        model, stats, _ = compress(arch_model, arch, method, arch_calibration)
        check_everything_compressed(model, stats, method)
        return
    error, text = refusal
    with pytest.raises(error) as caught:
        compress(arch_model, arch, method, arch_calibration)
    assert text in str(caught.value)
    assert "\n" not in str(caught.value)  # one line


@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt", "rtn", "gptq"])
@pytest.mark.parametrize("arch", ["mixtral", "qwen3_moe"])
def test_moe_coverage_counts_the_experts(arch_model, arch_calibration, arch, method):
    """The record's shares count the fused experts (most of an MoE model's weights): on the
    old code magnitude left them dense while reporting 50 %."""
    model, stats, _ = compress(arch_model, arch, method, arch_calibration)
    experts = {n: w for n, w in linear_maps(model).items() if ".experts." in n}
    if method in PRUNERS:
        assert all(
            float((w == 0).float().mean()) == pytest.approx(0.5, abs=0.02) for w in experts.values()
        )
    else:
        assert all(distinct_per_group(w, 32) <= 16 for w in experts.values())
    expert_weights = sum(w.numel() for w in experts.values())
    assert expert_weights > 0.5 * stats["non_embedding_weights"]
    assert stats["targeted_weights"] > expert_weights
    assert stats["targeted_share"] > 0.99
    if method in PRUNERS:
        assert stats["overall_sparsity"] > 0.49
    else:
        assert stats["quantized_share"] > 0.99


def test_gblm_on_qwen3_moe_prunes_every_expert(arch_model, arch_calibration):
    """GBLM failed with a KeyError on Qwen3-MoE; experts no calibration token is routed to get
    Wanda's score (a zero gradient term), so every expert is pruned."""
    model, stats, _ = compress(arch_model, "qwen3_moe", "gblm", arch_calibration)
    check_everything_compressed(model, stats, "gblm")


def test_gpt2_conv1d_n_m_groups_run_along_the_inputs(arch_model, arch_calibration):
    """Conv1D stores [in, out]: 2:4 groups must be 4 consecutive inputs of one output."""
    model, stats, _ = compress(arch_model, "gpt2", "magnitude", arch_calibration, pattern="2:4")
    conv = model.transformer.h[0].attn.c_attn.weight.detach()  # [in, out]
    assert n_m_violations(conv.t(), 2, 4) == 0
    assert n_m_violations(conv, 2, 4) > 0  # along the stored rows it would not hold
    assert stats["measured_sparsity"] == pytest.approx(0.5)


def test_deepseek_wanda_runs_once_kv_b_proj_is_ignored(arch_model, arch_calibration):
    """The refusal's advice works: ignore the layer fed 4-D inputs, the rest is pruned."""
    ignore = [*IGNORE, "re:.*kv_b_proj"]
    model, stats, _ = compress(arch_model, "deepseek_v3", "wanda", arch_calibration, ignore=ignore)
    assert stats["measured_sparsity"] == pytest.approx(0.5)
    assert float((model.model.layers[0].self_attn.kv_b_proj.weight == 0).float().mean()) < 0.01


def test_verification_fails_when_the_experts_are_left_dense(arch_model):
    """A method that prunes only what an nn.Linear matcher sees (the old magnitude) fails
    verification, naming an expert."""
    from compsafe.compression import get_method
    from compsafe.compression.verify import verify_pruning

    model = copy.deepcopy(arch_model("mixtral")[0])
    get_method("magnitude").apply(model, spec_for("magnitude", ignore=[*IGNORE, "re:.*experts"]))
    with pytest.raises(CompressionMismatch, match=r"experts\.gate_up_proj\[0\]"):
        verify_pruning(model, spec_for("magnitude"))


DISPLAY = {
    "Llama": "llama",
    "Qwen2": "qwen2",
    "Qwen3": "qwen3",
    "Gemma-2": "gemma2",
    "Gemma-3 text": "gemma3",
    "Phi-3": "phi3",
    "GPT-2": "gpt2",
    "GPT-NeoX": "gpt_neox",
    "OPT": "opt",
    "Mixtral": "mixtral",
    "Qwen3-MoE": "qwen3_moe",
    "DeepSeek-V3": "deepseek_v3",
    "gpt-oss": "gpt_oss",
    "Mamba": "mamba",
}


def test_the_documented_table_is_the_tested_one():
    """docs/architectures.md's matrix says "yes" exactly where this file expects compression."""
    from helpers import REPO

    lines = (REPO / "docs" / "architectures.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| architecture |"))
    methods = [cell.strip() for cell in header.strip("|").split("|")][1:]
    assert tuple(methods) == METHODS
    seen = set()
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        name, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        arch = DISPLAY[name.rsplit(" (", 1)[0]]
        seen.add(arch)
        for method, cell in zip(methods, cells, strict=True):
            assert (cell == "yes") == ((arch, method) not in REFUSED), (arch, method, cell)
    assert seen == set(ARCHITECTURES)


def test_gblm_expert_no_token_reaches_is_pruned_by_wandas_score(arch_model, arch_calibration):
    """With one token that has a target, the router sends it to 2 of Mixtral's 4 experts: the
    other two get a zero gradient term (the documented rule) and are still pruned to 50 %, by
    |W| x ||X|| (llm-compressor runs every expert on every token for the input norms)."""
    from compsafe.compression import experts
    from compsafe.compression.calibration import build_calibration
    from compsafe.compression.gblm import gradient_norms

    base, tokenizer = arch_model("mixtral")
    one_token = OmegaConf.merge(arch_calibration, {"num_samples": 1, "seq_len": 2})
    model = copy.deepcopy(base)
    experts.linearize(model)
    norms = gradient_norms(model, spec_for("gblm"), build_calibration(one_token, tokenizer), 100.0)
    names = {module: name for name, module in model.named_modules()}
    silent = {names[m] for m, g in norms.items() if not g.any() and ".experts." in names[m]}
    assert len(silent) == 2 * 3  # two experts x (gate, up, down): only token 0 has a target
    model = copy.deepcopy(base)
    stats = compress_model(model, spec_for("gblm"), tokenizer, one_token)
    assert stats["measured_sparsity"] == pytest.approx(0.5)
    maps = linear_maps(model)
    assert all(
        float((w == 0).float().mean()) == pytest.approx(0.5, abs=0.02) for w in maps.values()
    )
