"""`compsafe --help`, answered without composing a config.

Hydra's own `--help` builds its config-group list with one config repository per group and
option (about 80 here): seconds before a word is printed. The help text is the same template
(`conf/hydra/help/compsafe.yaml`); the groups and their options are read from the config
folders on the search path: ours, `--config-dir`, and `file://` entries of `hydra.searchpath`.
"""

from __future__ import annotations

import string
from pathlib import Path

HELP_FLAGS = ("--help", "-h")


def wants_help(argv: list[str]) -> bool:
    return any(arg in HELP_FLAGS for arg in argv)


def search_folders(argv: list[str], config_dir: Path) -> list[Path]:
    """Our config folder, then the user's (`--config-dir`, `hydra.searchpath` file entries)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from compsafe.preflight import SEARCHPATH, split_command_line, with_user_config_dir

    overrides, user_dir = split_command_line(argv)
    parser = OverridesParser.create()
    folders = [config_dir]
    for line in with_user_config_dir(overrides, user_dir, parser):
        override = parser.parse_override(line)
        if override.get_key_element() == SEARCHPATH and not override.is_delete():
            entries = [str(v) for v in override.value() or []]
            folders += [Path(e[len("file://") :]) for e in entries if e.startswith("file://")]
    return folders


def config_groups(folders: list[Path]) -> dict[str, list[str]]:
    """{group: its options} over the folders (Hydra's own groups left out)."""
    groups: dict[str, set[str]] = {}
    for folder in folders:
        for group in sorted(p for p in folder.iterdir() if p.is_dir() and p.name != "hydra"):
            groups.setdefault(group.name, set()).update(p.stem for p in group.glob("*.yaml"))
    return {group: sorted(options) for group, options in sorted(groups.items()) if options}


def help_text(argv: list[str], config_dir: Path) -> str:
    """The help template with its header, footer and the config groups filled in."""
    import yaml

    help_cfg = yaml.safe_load((config_dir / "hydra/help/compsafe.yaml").read_text("utf-8"))
    template = help_cfg["template"]
    for part in ("header", "footer"):
        template = template.replace(f"${{hydra.help.{part}}}", help_cfg[part].rstrip("\n"))
    groups = config_groups(search_folders(argv, config_dir))
    listing = "".join(f"{group}: {', '.join(options)}\n" for group, options in groups.items())
    return string.Template(template).safe_substitute(APP_CONFIG_GROUPS=listing)
