"""Perplexity over fixed token windows of a corpus: loader (cuts the windows) and metrics."""

# No `from __future__ import annotations`: lm-eval executes this file outside the package,
# where dataclasses cannot resolve string annotations.

import hashlib
import inspect
import re
from dataclasses import dataclass

from compsafe.cache import cache_root, read_json, write_json
from compsafe.data.texts import check_source, load_texts
from compsafe.errors import ConfigError
from compsafe.evaluation.options import options_from_metadata, positive
from compsafe.results.aggregations.common import window_perplexity  # noqa: F401 (YAML)

TASK = "compsafe_perplexity"
DEFAULTS = {
    # Real Wikipedia sentences (BOLD's sources); profession pages are kept for calibration.
    "packaged": ("bold_wikipedia", "gender,political_ideology,race,religious_ideology"),
    "hub": ("Salesforce/wikitext", "wikitext-2-raw-v1"),  # the paper's WikiText-2 test split
}


@dataclass
class PerplexityOptions:
    source: str = "packaged"  # packaged | hub | file
    path: str | None = None  # corpus name, hub dataset id, or local .txt/.jsonl
    subset: str | None = None
    split: str = "test"
    text_field: str = "text"
    window: int = 1024
    max_windows: int | None = None  # evenly spaced over the corpus; null = every window
    keep_tail: bool = False  # score the last, shorter window too (the paper does)
    keep_empty: bool = False  # hub rows: join empty ones too (the paper joins every row)
    tokenizer: str | None = None  # default: the evaluated model's

    def check(self, key: str) -> None:
        path, _ = DEFAULTS.get(self.source, (self.path, None))
        check_source(self.source, self.path or path, key)
        positive(key, "window", self.window, allow_none=False)
        positive(key, "max_windows", self.max_windows)


OPTIONS = PerplexityOptions


def window_starts(num_windows: int, max_windows: int | None) -> list[int]:
    """Indices of the windows to score: all, or `max_windows` spread evenly over the corpus."""
    if not max_windows or max_windows >= num_windows:
        return list(range(num_windows))
    return [i * num_windows // max_windows for i in range(max_windows)]


def model_tokenizer(task: str, options_tokenizer, metadata: dict):
    """The evaluated model's tokenizer: from the options, compsafe, or lm_eval's `pretrained`."""
    from transformers import AutoTokenizer

    name = options_tokenizer or metadata.get("tokenizer") or metadata.get("pretrained")
    if not isinstance(name, str):
        raise ConfigError(f"{task}.tokenizer", name, "give the model's tokenizer (path or hub id)")
    return AutoTokenizer.from_pretrained(name)


def token_windows(
    texts, tokenizer, window: int, max_windows, key: str, keep_tail: bool = False
) -> list[dict]:
    """Documents joined by blank lines, cut into non-overlapping windows of `window` tokens
    (the shorter tail dropped unless `keep_tail`), each with its token count as lm-eval's HFLM
    will encode it."""
    ids = tokenizer("\n\n".join(texts), add_special_tokens=False)["input_ids"]
    count = -(-len(ids) // window) if keep_tail else len(ids) // window
    if count == 0:
        raise ConfigError(f"{key}.window", window, f"the corpus has only {len(ids)} tokens")
    rows = []
    for index in window_starts(count, max_windows):
        text = tokenizer.decode(ids[index * window : (index + 1) * window])
        rows.append(
            {
                "text": text,
                "num_tokens": len(tokenizer.encode(text)),
                "window": index,
                "block": index // BLOCK,
            }
        )
    return rows


BLOCK = 8  # consecutive windows resampled together (the task's `resample_by: block`)

# Windows already cut in this process, by (tokenizer, options): the jobs of a sweep share them.
_WINDOWS: dict[str, list[dict]] = {}


def load(**metadata):
    """lm-eval `custom_dataset`: one document per window, with its exact token count."""
    import datasets

    options = options_from_metadata(TASK, PerplexityOptions, metadata)
    name = options.tokenizer or metadata.get("tokenizer") or metadata.get("pretrained")
    key = f"{name}|{options}"
    if key not in _WINDOWS:
        _WINDOWS[key] = _cut(options, metadata)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(_WINDOWS[key])})


def _cut(options: "PerplexityOptions", metadata: dict) -> list[dict]:
    tokenizer = model_tokenizer(TASK, options.tokenizer, metadata)
    path, subset = DEFAULTS.get(options.source, (options.path, options.subset))
    texts = load_texts(
        options.source,
        options.path or path,
        subset=options.subset or subset,
        split=options.split,
        text_field=options.text_field,
        key=f"{TASK}",
        keep_empty=options.keep_empty,
    )
    cached = _windows_file(tokenizer, texts, options)
    rows = read_json(cached) if cached else None
    if rows is None:
        rows = token_windows(
            texts, tokenizer, options.window, options.max_windows, TASK, options.keep_tail
        )
        if cached:
            write_json(cached, rows)
    return rows


def _windows_file(tokenizer, texts: list[str], options: "PerplexityOptions"):
    """Cache file of the windows cut from these texts by this tokenizer with these options
    (tokenizing a whole corpus costs every job process seconds): keyed by the tokenizer's full
    definition and how it encodes a probe (special tokens added outside that definition), the
    texts, the options and the cutting code itself, so any change recuts. None for a tokenizer
    without a serialisable definition (a slow tokenizer) or code without source: cut each time."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    try:
        code = inspect.getsource(token_windows) + inspect.getsource(window_starts) + str(BLOCK)
    except (OSError, TypeError):
        return None
    if backend is None:
        return None
    probe = repr(tokenizer.encode("A probe.\n\nof special tokens"))
    digest = hashlib.sha256()
    for part in (backend.to_str(), probe, repr(options), code, *texts):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return cache_root() / "perplexity-windows" / f"{digest.hexdigest()}.json"


def process_results(doc: dict, results) -> dict[str, tuple[float, int]]:
    """(log-likelihood, weight) pairs that lm-eval's weighted_perplexity aggregates."""
    (loglikelihood,) = results
    text = doc["text"]
    num_bytes = len(text.encode("utf-8"))
    return {
        "token_perplexity": (loglikelihood, doc["num_tokens"]),
        "window_perplexity": (loglikelihood, doc["num_tokens"]),
        "word_perplexity": (loglikelihood, len(re.split(r"\s+", text.strip()))),
        "byte_perplexity": (loglikelihood, num_bytes),
        "bits_per_byte": (loglikelihood, num_bytes),
    }
