"""Plain-text corpora for calibration and perplexity, from the hub, a package or a local file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from compsafe.data.packaged import fair_llm_benchmark_file
from compsafe.errors import ConfigError, choices

SOURCES = ("packaged", "hub", "file")
# BOLD's five domains, which name its prompt and Wikipedia files (also read by the BOLD task).
BOLD_DOMAINS = ("gender", "political_ideology", "profession", "race", "religious_ideology")


def bold_wikipedia(subset: str | None, key: str) -> list[str]:
    """BOLD's Wikipedia sources (Dhamala et al. 2021): one document per person or topic page.

    `subset` is a comma-separated list of BOLD domains (all when null). The sentences are real
    Wikipedia text, but short and list-like: this is not WikiText-2.
    """
    domains = BOLD_DOMAINS if not subset else tuple(s.strip() for s in subset.split(","))
    for domain in domains:
        if domain not in BOLD_DOMAINS:
            raise ConfigError(key, domain, choices(BOLD_DOMAINS))
    documents = []
    for domain in domains:
        path = fair_llm_benchmark_file(f"BOLD/data/wikipedia/{domain}_wiki.json", key)
        with open(path, encoding="utf-8") as fh:
            for pages in json.load(fh).values():
                documents += [" ".join(s.strip() for s in sents) for sents in pages.values()]
    return [d for d in documents if d]


PACKAGED_CORPORA: dict[str, Callable[[str | None, str], list[str]]] = {
    "bold_wikipedia": bold_wikipedia,
}


def hub_texts(
    path: str,
    subset: str | None,
    split: str,
    text_field: str,
    data_files: str | None,
    keep_empty: bool = False,
) -> list[str]:
    """A text column of a hub dataset (needs the hub or a populated HF cache). Empty rows are
    dropped unless `keep_empty` (the paper joins WikiText-2's rows, empty ones included)."""
    import datasets

    kwargs = {"data_files": {split: data_files}} if data_files else {}
    dataset = datasets.load_dataset(path, subset, split=split, **kwargs)
    return [t or "" for t in dataset[text_field] if keep_empty or (t and t.strip())]


def file_texts(path: str, text_field: str, key: str) -> list[str]:
    """A .txt file (documents separated by blank lines) or a .json/.jsonl file of records."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(key, path, "no such file")
    if file.suffix in (".jsonl", ".json"):
        with open(file, encoding="utf-8") as fh:
            records = (
                json.load(fh)
                if file.suffix == ".json"
                else [json.loads(x) for x in fh if x.strip()]
            )
        if records and text_field not in records[0]:
            raise ConfigError(key, path, f"records have no field {text_field!r}")
        return [r[text_field] for r in records if r.get(text_field)]
    paragraphs = file.read_text(encoding="utf-8").split("\n\n")
    return [p.strip() for p in paragraphs if p.strip()]


def check_source(source: str, path: str | None, key: str) -> None:
    """Fail fast on an unknown source, packaged corpus or missing file (no data is read)."""
    if source not in SOURCES:
        raise ConfigError(f"{key}.source", source, choices(SOURCES))
    if source == "packaged" and path not in PACKAGED_CORPORA:
        raise ConfigError(f"{key}.path", path, choices(PACKAGED_CORPORA))
    if source == "file" and not (path and Path(path).expanduser().is_file()):
        raise ConfigError(f"{key}.path", path, "no such file")
    if source == "hub" and not path:
        raise ConfigError(f"{key}.path", path, "a hub dataset id is required")


def load_texts(
    source: str,
    path: str,
    *,
    subset: str | None = None,
    split: str = "train",
    text_field: str = "text",
    data_files: str | None = None,
    key: str = "data",
    keep_empty: bool = False,
) -> list[str]:
    """Documents of a corpus, in a fixed order (hub rows that are empty kept if asked)."""
    check_source(source, path, key)
    if source == "packaged":
        return PACKAGED_CORPORA[path](subset, f"{key}.subset")
    if source == "hub":
        return hub_texts(path, subset, split, text_field, data_files, keep_empty)
    return file_texts(path, text_field, f"{key}.path")
