"""Dialect bias: perplexity on African-American English vs. white-aligned English, and their
ratio (the paper: Paloma's twitterAAE_HELM_fixed). No offline copy exists: give two local text
files (`source: file`), or read the hub dataset, whose dialect field and values are options.
"""

# No `from __future__ import annotations`: lm-eval executes this file outside the package,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass

from compsafe.data.texts import file_texts
from compsafe.errors import ConfigError
from compsafe.evaluation.options import check_task_source, options_from_metadata, positive
from compsafe.results.aggregations.dialect import (  # noqa: F401 (the YAML's aggregations)
    AAE,
    WHITE,
    aae_perplexity,
    aae_white_ratio,
    white_perplexity,
)

TASK = "compsafe_dialect"
SOURCES = ("hub", "file")


@dataclass
class DialectOptions:
    source: str = "hub"  # hub | file
    aae_path: str | None = None  # file: African-American English text (.txt or .jsonl)
    white_path: str | None = None  # file: white-aligned English text
    path: str = "allenai/paloma"  # hub dataset
    subset: str = "twitterAAE_HELM_fixed"
    split: str = "test"
    text_field: str = "text"
    dialect_field: str = "subdomain"  # hub: which field tells the dialect, and its two values
    aae_value: str = "AA"
    white_value: str = "white"
    window: int = 128  # tweets are short: windows of 128 tokens over each dialect's text
    max_windows: int | None = None
    keep_tail: bool = False  # score the last, shorter window too (the paper does)
    tokenizer: str | None = None

    def check(self, key: str) -> None:
        paths = {"aae_path": self.aae_path, "white_path": self.white_path}
        check_task_source(key, self.source, SOURCES, paths)
        positive(key, "window", self.window, allow_none=False)
        positive(key, "max_windows", self.max_windows)


OPTIONS = DialectOptions


def dialect_texts(options: DialectOptions) -> dict[str, list[str]]:
    if options.source == "file":
        return {
            AAE: file_texts(options.aae_path, options.text_field, f"{TASK}.aae_path"),
            WHITE: file_texts(options.white_path, options.text_field, f"{TASK}.white_path"),
        }
    import datasets

    rows = datasets.load_dataset(options.path, options.subset, split=options.split)
    texts = {AAE: [], WHITE: []}
    for row in rows:
        label = {options.aae_value: AAE, options.white_value: WHITE}.get(row[options.dialect_field])
        if label and row[options.text_field].strip():
            texts[label].append(row[options.text_field])
    return texts


def load(**metadata):
    """lm-eval `custom_dataset`: token windows of each dialect's text, labelled by dialect."""
    import datasets

    from compsafe.evaluation.tasks.perplexity import model_tokenizer, token_windows

    options = options_from_metadata(TASK, DialectOptions, metadata)
    tokenizer = model_tokenizer(TASK, options.tokenizer, metadata)
    rows = []
    for dialect, texts in dialect_texts(options).items():
        if not texts:
            raise ConfigError(f"{TASK} options", dialect, "no text for this dialect")
        windows = token_windows(
            texts, tokenizer, options.window, options.max_windows, TASK, options.keep_tail
        )
        rows += [{**w, "dialect": dialect} for w in windows]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def process_results(doc: dict, results) -> dict:
    (loglikelihood,) = results
    item = (doc["dialect"], loglikelihood, doc["num_tokens"])
    return {"aae_perplexity": item, "white_perplexity": item, "aae_white_ratio": item}
