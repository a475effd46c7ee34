"""The manual holds together: its links and anchors resolve, and it documents every option.

Pages: README.md, CHANGELOG.md, benchmarks/README.md and docs/*.md. A relative link must name a
file or folder of the repository; an `#anchor` (in the page, or `page.md#anchor`) must be a
heading of its target as GitHub slugifies it. Every option of a config group (as Hydra lists
it) has a table row starting with the option in code, `| `wanda` |`, in the section of its
group's page whose heading names the group in code, `## Compression: `compression``. Every task
YAML is named on the benchmarks page, and the metric table names every benchmark key of
conf/benchmark/ (and nothing else) with metrics its task declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TASKS_DIR = REPO / "src/compsafe/evaluation/tasks"
PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "benchmarks/README.md"]
PAGES += sorted(DOCS.glob("*.md"))

# The page that documents each config group: a new group needs its page here.
GROUP_PAGES = {
    "model": "docs/configuration.md",
    "compression": "docs/configuration.md",
    "calibration": "docs/configuration.md",
    "benchmark": "docs/benchmarks.md",
    "logger": "docs/configuration.md",
    "experiment": "docs/configuration.md",
    "paths": "docs/configuration.md",
    "hydra/launcher": "docs/configuration.md",
}
METRICS_PAGE = DOCS / "metrics.md"
METRICS_HEADER = ["benchmark", "metric", "what it measures", "direction"]
DIRECTIONS = {"higher is better", "higher is worse", "no agreed direction"}
# Metrics the harness adds after lm-eval, when a task's metadata asks for them.
ITEM_METRICS = {
    "continuation_perplexity": ("continuation_perplexity", "continuation_perplexity_self"),
    "prompt_perplexity": ("prompt_perplexity",),
}

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def prose(text: str) -> Iterator[str]:
    """The page's lines outside fenced code blocks."""
    fence = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if match and fence is None:
            fence = match[1]
        elif match and line.strip().startswith(fence or "\0"):
            fence = None
        elif fence is None:
            yield line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation other than hyphens and
    underscores dropped, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def headings(path: Path) -> list[tuple[int, str, int]]:
    """(level, text, line index in prose) of every heading of a page."""
    found = []
    for index, line in enumerate(prose(path.read_text(encoding="utf-8"))):
        if match := HEADING.match(line):
            found.append((len(match[1]), match[2], index))
    return found


def anchors(path: Path) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for _, text, _ in headings(path):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> Iterator[str]:
    """Every link target of a page, outside code blocks and inline code."""
    for line in prose(path.read_text(encoding="utf-8")):
        text = re.sub(r"(`+)(?:(?!\1).)+\1", "", line)
        yield from LINK.findall(text)
        yield from REFERENCE.findall(text)
        yield from HTML_LINK.findall(text)


def broken(page: Path, target: str) -> str | None:
    """Why a relative link of `page` does not resolve, or None when it does (or is external)."""
    if EXTERNAL.match(target):
        return None
    where, _, anchor = unquote(target).partition("#")
    file = (page.parent / where).resolve() if where else page
    if not file.is_relative_to(REPO) or not file.exists():
        return "no such file"
    if not anchor:
        return None
    if file.suffix != ".md":
        return None if re.fullmatch(r"L\d+(-L\d+)?", anchor) else "anchor into a non-Markdown file"
    return None if anchor in anchors(file) else f"no heading #{anchor} in {file.name}"


def problems(pages: list[Path]) -> list[str]:
    return [
        f"{page.relative_to(REPO)}: ({target}): {why}"
        for page in pages
        for target in links(page)
        if (why := broken(page, target))
    ]


def test_slugs_follow_github():
    assert slug("Weights & Biases") == "weights--biases"
    assert slug("`stats_check.py`: do the report's statistics keep their promises?") == (
        "stats_checkpy-do-the-reports-statistics-keep-their-promises"
    )
    assert slug("Launchers: `hydra/launcher`") == "launchers-hydralauncher"
    assert slug("See [the report](report.md)") == "see-the-report"


def test_a_broken_link_or_anchor_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Title\n\n[ok](#title-1) [gone](#nowhere) [file](missing.md)\n"
        "`[code](missing.md)`\n\n```\n[block](missing.md)\n```\n[web](https://example.org)\n"
    )
    assert problems([page]) == [
        "page.md: (#nowhere): no heading #nowhere in page.md",
        "page.md: (missing.md): no such file",
    ]


def test_every_relative_link_and_anchor_resolves():
    assert problems(PAGES) == []


def test_every_docs_page_is_linked_from_the_readme():
    targets = {(REPO / unquote(t).partition("#")[0]).resolve() for t in links(REPO / "README.md")}
    assert [p.name for p in DOCS.glob("*.md") if p.resolve() not in targets] == []


def config_groups() -> dict[str, list[str]]:
    """Our config groups and their options as Hydra lists them (plugins' launchers included)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.object_type import ObjectType

    from compsafe.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()

        def options(group: str, kind: ObjectType) -> list[str]:
            return loader.get_group_options(group, kind, config_name="config")

        groups = [g for g in options("", ObjectType.GROUP) if g not in ("hydra", "local")]
        return {g: options(g, ObjectType.CONFIG) for g in [*groups, "hydra/launcher"]}


def section(path: Path, group: str) -> list[str]:
    """The lines of the section whose heading names `group` in code, up to the next heading of
    its level or above."""
    lines = list(prose(path.read_text(encoding="utf-8")))
    found = [(level, i) for level, text, i in headings(path) if f"`{group}`" in text]
    assert found, f"{path.name} has no heading naming `{group}`"
    level, start = found[0]
    ends = [i for lv, _, i in headings(path) if i > start and lv <= level]
    return lines[start : min(ends, default=len(lines))]


def test_every_config_option_has_a_row_on_its_groups_page():
    groups = config_groups()
    assert sorted(groups) == sorted(GROUP_PAGES), "a config group without a page in GROUP_PAGES"
    assert "slurm" in groups["hydra/launcher"] and "basic" in groups["hydra/launcher"]
    for group, options in groups.items():
        rows = {m[1] for line in section(REPO / GROUP_PAGES[group], group)
                if (m := re.match(r"\|\s*`([^`]+)`", line))}  # fmt: skip
        assert sorted(set(options) - rows) == [], f"{group} options without a row"


def metric_rows() -> list[list[str]]:
    """The metric table between the markers of docs/metrics.md, as cells (code marks removed)."""
    text = METRICS_PAGE.read_text(encoding="utf-8")
    assert text.count("<!-- metrics:begin -->") == 1 and text.count("<!-- metrics:end -->") == 1
    block = text.split("<!-- metrics:begin -->")[1].split("<!-- metrics:end -->")[0]
    lines = [line.strip() for line in block.strip().splitlines()]
    cells = [re.split(r"(?<!\\)\|", line.strip("|")) for line in lines]
    table = [[c.strip().replace("`", "") for c in row] for row in cells]
    assert table[0] == METRICS_HEADER and set("".join(table[1][0])) <= set("-: ")
    return table[2:]


def task_yaml(path: Path) -> dict:
    """A task YAML with its `include` merged under it (`!function` tags read as text)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: node.value)
    config = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
    if "include" in config:
        config = {**task_yaml(path.parent / config["include"]), **config}
    return config


def benchmark_keys() -> dict[str, str | None]:
    """{benchmark key: its task} over conf/benchmark/ (lm-eval's built-in tasks: None)."""
    keys: dict[str, str | None] = {}
    for path in (REPO / "conf/benchmark").glob("*.yaml"):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, spec in (config.get("tasks") or {}).items():
            keys[key] = spec.get("task") or keys.get(key)
        keys.update(dict.fromkeys(config.get("lm_eval_tasks") or [], None))
    return keys


def declared_metrics(task: str) -> set[str]:
    (config,) = [c for p in TASKS_DIR.glob("*.yaml") if (c := task_yaml(p))["task"] == task]
    metrics = {entry["metric"] for entry in config.get("metric_list", [])}
    for flag, names in ITEM_METRICS.items():
        if (config.get("metadata") or {}).get(flag):
            metrics.update(names)
    return metrics


def test_every_benchmark_is_documented_with_its_metrics():
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    tasks = {task_yaml(p)["task"] for p in TASKS_DIR.glob("*.yaml")}
    assert sorted(t for t in tasks if f"`{t}`" not in page) == []
    rows = metric_rows()
    assert all(len(row) == 4 and row[3] in DIRECTIONS for row in rows), rows
    pairs = [(row[0], row[1]) for row in rows]
    assert len(pairs) == len(set(pairs)), "a (benchmark, metric) row twice"
    keys = benchmark_keys()
    assert sorted({b for b, _ in pairs}) == sorted(keys)
    for key, task in keys.items():
        if task:
            listed = {m for b, m in pairs if b == key}
            assert sorted(listed - declared_metrics(task)) == [], f"{key}: metrics not in {task}"


def test_the_metric_table_reads_the_catalogues_directions():
    """Each row's direction is the one the task's catalogue gives the metric (the one
    direction the report colours by), for our tasks and lm-eval's built-in ones."""
    from compsafe.evaluation.catalogue import yaml_entry

    words = {True: "higher is better", False: "higher is worse", None: "no agreed direction"}
    builtin = {"acc": True}  # lm-eval's own direction for the built-in tasks' `acc`
    keys = benchmark_keys()
    for benchmark, metric, _, direction in metric_rows():
        task = keys[benchmark]
        declared = yaml_entry(task, repeats=2).metrics[metric].higher_is_better if task else None
        expected = builtin[metric] if task is None else declared
        assert direction == words[expected], (benchmark, metric)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_each_page_has_one_title(page):
    assert [level for level, _, _ in headings(page)].count(1) == 1
