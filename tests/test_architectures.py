"""The architecture matrix: every compression method on tiny random models of the
architectures people compress either compresses every weight it targets (measured here, matrix
by matrix, fused MoE experts and GPT-2's Conv1D included) or refuses in one line; the compressed
model still generates. docs/architectures.md holds the table these tests pin."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from omegaconf import OmegaConf

from compsafe.compression import parse_spec
from compsafe.compression.masks import n_m_violations
from compsafe.compression.pipeline import compress_model
from compsafe.compression.verify import CompressionMismatch
from compsafe.errors import ConfigError
from helpers.architectures import ARCHITECTURES, build_architecture

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


@pytest.fixture(scope="module")
def calibration_cfg(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("calib") / "calib.txt"
    corpus.write_text(
        "\n\n".join(
            f"Paragraph {i}: the cat sat on the mat while {i} dogs ran." for i in range(200)
        )
    )
    return OmegaConf.create(
        {
            "name": "t",
            "source": "file",
            "path": str(corpus),
            "subset": None,
            "data_files": None,
            "split": "train",
            "text_field": "text",
            "num_samples": 2,
            "seq_len": 32,
            "seed": 0,
        }
    )


@pytest.fixture(scope="session")
def zoo(tiny_model_dir, tmp_path_factory):
    """{architecture: folder}, each built on first use."""
    folders: dict = {}

    def get(name: str):
        if name not in folders:
            folders[name] = build_architecture(name, tiny_model_dir, tmp_path_factory.mktemp(name))
        return folders[name]

    return get


@pytest.fixture(scope="session")
def loaded(zoo):
    """{architecture: (model, tokenizer)}, each loaded once."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    models: dict = {}

    def get(name: str):
        if name not in models:
            folder = zoo(name)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
            models[name] = (model, AutoTokenizer.from_pretrained(folder))
        return models[name]

    return get


def linear_maps(model) -> dict[str, torch.Tensor]:
    """Every [out, in] linear map of the model but the head, found without compsafe's matcher:
    Linear weights, Conv1D weights transposed, one slice per expert of 3-D expert parameters."""
    maps = {}
    for name, module in model.named_modules():
        if name.endswith("lm_head"):
            continue
        if isinstance(module, torch.nn.Linear):
            maps[name] = module.weight.detach()
        elif type(module).__name__ == "Conv1D":
            maps[name] = module.weight.detach().t()
        for pname, param in module.named_parameters(recurse=False):
            if param.dim() == 3 and "experts" in name:
                transposed = getattr(module, "is_transposed", False)
                for e, weight in enumerate(param.detach()):
                    maps[f"{name}.{pname}[{e}]"] = weight.t() if transposed else weight
    return maps


def distinct_per_group(weight: torch.Tensor, group: int | None) -> int:
    rows = weight.reshape(-1, group) if group else weight
    return max(len(torch.unique(row)) for row in rows)


def compress(loaded, arch, method, calibration_cfg, **kwargs):
    base, tokenizer = loaded(arch)
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
def test_every_method_on_every_architecture(loaded, calibration_cfg, arch, method):
    refusal = REFUSED.get((arch, method))
    if refusal is None:
        model, stats, _ = compress(loaded, arch, method, calibration_cfg)
        check_everything_compressed(model, stats, method)
        return
    error, text = refusal
    with pytest.raises(error) as caught:
        compress(loaded, arch, method, calibration_cfg)
    assert text in str(caught.value)
    assert "\n" not in str(caught.value)  # one line


@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt", "rtn", "gptq"])
@pytest.mark.parametrize("arch", ["mixtral", "qwen3_moe"])
def test_moe_coverage_counts_the_experts(loaded, calibration_cfg, arch, method):
    """The record's shares count the fused experts (most of an MoE model's weights): on the
    old code magnitude left them dense while reporting 50 %."""
    model, stats, _ = compress(loaded, arch, method, calibration_cfg)
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


def test_gblm_on_qwen3_moe_prunes_every_expert(loaded, calibration_cfg):
    """GBLM failed with a KeyError on Qwen3-MoE; experts no calibration token is routed to get
    Wanda's score (a zero gradient term), so every expert is pruned."""
    model, stats, _ = compress(loaded, "qwen3_moe", "gblm", calibration_cfg)
    check_everything_compressed(model, stats, "gblm")


def test_gpt2_conv1d_n_m_groups_run_along_the_inputs(loaded, calibration_cfg):
    """Conv1D stores [in, out]: 2:4 groups must be 4 consecutive inputs of one output."""
    model, stats, _ = compress(loaded, "gpt2", "magnitude", calibration_cfg, pattern="2:4")
    conv = model.transformer.h[0].attn.c_attn.weight.detach()  # [in, out]
    assert n_m_violations(conv.t(), 2, 4) == 0
    assert n_m_violations(conv, 2, 4) > 0  # along the stored rows it would not hold
    assert stats["measured_sparsity"] == pytest.approx(0.5)


def test_deepseek_wanda_runs_once_kv_b_proj_is_ignored(loaded, calibration_cfg):
    """The refusal's advice works: ignore the layer fed 4-D inputs, the rest is pruned."""
    ignore = [*IGNORE, "re:.*kv_b_proj"]
    model, stats, _ = compress(loaded, "deepseek_v3", "wanda", calibration_cfg, ignore=ignore)
    assert stats["measured_sparsity"] == pytest.approx(0.5)
    assert float((model.model.layers[0].self_attn.kv_b_proj.weight == 0).float().mean()) < 0.01


def test_verification_fails_when_the_experts_are_left_dense(loaded):
    """A method that prunes only what an nn.Linear matcher sees (the old magnitude) fails
    verification, naming an expert."""
    from compsafe.compression import get_method
    from compsafe.compression.verify import verify_pruning

    model = copy.deepcopy(loaded("mixtral")[0])
    get_method("magnitude").apply(model, spec_for("magnitude", ignore=[*IGNORE, "re:.*experts"]))
    with pytest.raises(CompressionMismatch, match=r"experts\.gate_up_proj\[0\]"):
        verify_pruning(model, spec_for("magnitude"))


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
    zoo, calibration_cfg, tmp_path, method
):
    """llm-compressor leaves experts unfused, a layout that reloads with fresh random experts:
    pruned MoE models are repacked and reload equal; quantized ones are not cached."""
    folder = zoo("mixtral")
    first, fresh = prepared(folder, tmp_path, method, calibration_cfg.path)
    second, again = prepared(folder, tmp_path, method, calibration_cfg.path)
    assert first["compression"]["targeted_share"] > 0.99
    ids = torch.tensor([[1, 5, 6, 7]])
    assert torch.allclose(fresh(ids).logits, again(ids).logits, atol=1e-5)
    if method == "rtn":
        assert second["compression"]["cache"] == {"hit": False, "path": None}
    else:
        assert second["compression"]["cache"]["hit"] is True
        assert second["compression"]["overall_sparsity"] == first["compression"]["overall_sparsity"]


@pytest.mark.slow
def test_evaluation_runs_on_every_architecture(zoo, tmp_path):
    """The real job on each architecture (magnitude, which compresses them all): a perplexity
    window and one generation, the record's coverage filled in."""
    from compsafe.results.files import RESULTS_FILE
    from helpers import run_compsafe

    paths = ",".join(str(zoo(arch)) for arch in ARCHITECTURES)
    out = run_compsafe(
        "-m",
        "model=hf",
        f"model.path={paths}",
        "compression=magnitude",
        "compression.cache=false",
        "logger=none",
        "benchmark=[perplexity,refusal]",
        "benchmark.tasks.perplexity.options.window=32",
        "benchmark.tasks.perplexity.options.max_windows=1",
        "benchmark.tasks.refusal.options.sample_size=1",
        "benchmark.tasks.refusal.options.sets=[harmbench]",
        "benchmark.tasks.refusal.options.attack=none",
        "benchmark.tasks.refusal.options.max_new_tokens=4",
        "benchmark.tasks.refusal.options.chat_template=off",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    records = [json.loads(p.read_text()) for p in tmp_path.glob(f"*/{RESULTS_FILE}")]
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
