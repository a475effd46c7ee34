"""The paper's perplexity protocol (its src/test_perplexity.py): rows joined with blank lines,
empty rows included, non-overlapping 2048-token windows, the last shorter window kept, and the
windows' mean NLLs averaged."""

from __future__ import annotations

import json
import math

import pytest

from compsafe.data.texts import hub_texts
from compsafe.evaluation.tasks import perplexity
from helpers import compose_config
from helpers.records import record_aggregations
from helpers.word_tokenizer import WordTokenizer


def test_2048_windows_keep_the_tail_and_cover_every_token():
    texts = [" ".join(f"w{i}" for i in range(k, k + 1000)) for k in range(0, 5000, 1000)]
    docs = perplexity.token_windows(texts, WordTokenizer(), 2048, None, "key", keep_tail=True)
    assert [d["window"] for d in docs] == [0, 1, 2]
    assert [d["num_tokens"] for d in docs] == [2049, 2049, 905]  # 2048, 2048, 904 words + BOS
    assert " ".join(d["text"] for d in docs).split() == " ".join(texts).split()  # nothing lost
    dropped = perplexity.token_windows(texts, WordTokenizer(), 2048, None, "key")
    assert [d["num_tokens"] for d in dropped] == [2049, 2049]  # today's default: tail dropped


def test_window_perplexity_averages_the_windows_mean_nll():
    docs = [{"text": "a b", "num_tokens": 2048}, {"text": "c", "num_tokens": 904}]
    lls = [-2048 * 2.0, -904 * 3.0]  # mean NLL 2.0 in the full window, 3.0 in the tail
    per_doc = [perplexity.process_results(d, [ll]) for d, ll in zip(docs, lls, strict=True)]
    aggregations = record_aggregations(perplexity.TASK)  # as the YAML declares them
    value = {
        m: aggregations[m]([r[m] for r in per_doc])
        for m in ("window_perplexity", "token_perplexity")
    }
    assert value["window_perplexity"] == pytest.approx(math.exp((2.0 + 3.0) / 2))  # the paper
    assert value["token_perplexity"] == pytest.approx(math.exp((4096 + 2712) / (2048 + 904)))
    equal = [perplexity.process_results({"text": "x", "num_tokens": 10}, [-10 * v]) for v in (1, 2)]
    windows = aggregations["window_perplexity"]([r["window_perplexity"] for r in equal])
    tokens = aggregations["token_perplexity"]([r["token_perplexity"] for r in equal])
    assert windows == pytest.approx(tokens)  # equal windows: the two averagings agree


def test_hub_rows_joined_with_empty_ones_when_asked(tmp_path):
    rows = [{"text": " = Title = \n"}, {"text": ""}, {"text": " Body .\n"}, {"text": " "}]
    file = tmp_path / "test.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kept = hub_texts("json", None, "test", "text", str(file), keep_empty=True)
    assert kept == [" = Title = \n", "", " Body .\n", " "]  # "\n\n".join as the paper
    assert hub_texts("json", None, "test", "text", str(file)) == [" = Title = \n", " Body .\n"]


def test_benchmark_paper_uses_the_papers_settings():
    cfg = compose_config("benchmark=paper")
    wikitext = cfg.benchmark.tasks.perplexity.options
    assert (wikitext.source, wikitext.window, wikitext.max_windows) == ("hub", 2048, None)
    assert wikitext.keep_tail and wikitext.keep_empty
    dialect = cfg.benchmark.tasks.dialect.options
    assert dialect.window == 2048 and dialect.keep_tail
