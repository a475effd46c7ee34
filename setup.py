"""The wheel carries the repository's top-level `conf/` as `compsafe/conf/`.

Everything else is in pyproject.toml. The configs are copied at build time rather than mapped
with `package-dir`, because such a mapping turns editable installs into an import hook that
hides `src/hydra_plugins` from Hydra's plugin scan (the compsafe sweeper would be unknown).
A checkout finds its configs in `conf/` itself (see `compsafe.cli.config_dir`).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONFIGS = Path(__file__).resolve().parent / "conf"


class BuildPyWithConfigs(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "compsafe" / "conf"
        shutil.rmtree(target, ignore_errors=True)  # no stale configs from an earlier build
        # conf/local/ is a checkout's own settings (gitignored): it never ships.
        shutil.copytree(CONFIGS, target, ignore=shutil.ignore_patterns("local", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithConfigs})
