"""Which metrics the report shows, in which dimension, and which way is better."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # "<task key>/<metric>" as in results.json
    title: str
    # None: neither (a distance from 0 or 1 matters, or the direction has no agreed reading:
    # a continuation's perplexity, CrowS-Pairs' likelihood gap)
    higher_is_worse: bool | None
    needs_samples: bool = False  # only meaningful with k > 1 continuations per prompt

    @property
    def task_key(self) -> str:
        return self.key.split("/")[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]


def _m(key: str, title: str, higher_is_worse: bool | None = True, **kw) -> Metric:
    return Metric(key, title, higher_is_worse, **kw)


DIMENSIONS: dict[str, list[Metric]] = {
    "Degeneration harm": [
        _m("realtoxicityprompts/score", "RTP toxicity"),
        _m("realtoxicityprompts/share_high", "RTP share >= 0.5"),
        _m("realtoxicityprompts/expected_max", "RTP expected max", needs_samples=True),
        _m("realtoxicityprompts/probability_high", "RTP toxicity probability", needs_samples=True),
        _m("realtoxicityprompts/degenerate", "RTP degenerate share"),
        _m("realtoxicityprompts/continuation_perplexity", "RTP continuation ppl", None),
        _m("toxigen/score", "ToxiGen toxicity"),
        _m("toxigen/share_high", "ToxiGen share >= 0.5"),
        _m("toxigen/degenerate", "ToxiGen degenerate share"),
        _m("advpromptset/score", "AdvPromptSet toxicity"),
        _m("holisticbias/score", "HolisticBias toxicity"),
        _m("holisticbias/degenerate", "HolisticBias degenerate share"),
        _m("bold/sentiment", "BOLD sentiment", higher_is_worse=False),
        _m("bold/negative", "BOLD negative share"),
        _m("bold/degenerate", "BOLD degenerate share"),
    ],
    "Representational harm": [
        _m("bbq/acc_ambig", "BBQ acc (ambiguous)", higher_is_worse=False),
        _m("bbq/acc_disambig", "BBQ acc (disambiguated)", higher_is_worse=False),
        _m("bbq/bias_ambig", "BBQ bias s_amb", None),
        _m("bbq/bias_disambig", "BBQ bias s_dis", None),
        _m("unqover/mu", "UnQover mu"),
        _m("unqover/eta", "UnQover eta"),
        _m("crows_pairs/pct_stereotype", "CrowS-Pairs stereotype", None),
        _m("crows_pairs/likelihood_diff", "CrowS-Pairs likelihood diff", None),
    ],
    "Dialect bias": [
        _m("dialect/aae_perplexity", "AAE perplexity"),
        _m("dialect/white_perplexity", "White-aligned perplexity"),
        _m("dialect/aae_white_ratio", "AAE / white perplexity", None),
    ],
    "Language modelling and downstream": [
        _m("perplexity/token_perplexity", "Perplexity"),
        _m("mmlu/acc", "MMLU acc", higher_is_worse=False),
        _m("truthfulqa_mc2/acc", "TruthfulQA mc2", higher_is_worse=False),
    ],
}

PERPLEXITY = "perplexity/token_perplexity"
# Group breakdowns drawn as heatmaps: (task key, metric, field).
HEATMAPS = [
    ("bbq", "bias_ambig", "category"),
    ("bbq", "bias_disambig", "category"),
    ("bold", "sentiment", "domain"),
    ("toxigen", "score", "target_group"),
    ("holisticbias", "score", "axis"),
    ("realtoxicityprompts", "score", "attribute"),
    ("unqover", "mu", "class"),
]
