"""The one catalogue of metrics: the report's dimensions and compsafe-table's columns read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A compsafe-table column: its title, where in a job record its value is, its format."""

    title: str
    where: tuple[str, str]  # (section of the record, key), e.g. ("timings", "total")
    fmt: str


@dataclass(frozen=True)
class Metric:
    key: str  # "<task key>/<metric>" as in results.json
    title: str
    # None: neither (a distance from 0 or 1 matters, or the direction has no agreed reading:
    # a continuation's perplexity, CrowS-Pairs' likelihood gap)
    higher_is_worse: bool | None
    needs_samples: bool = False  # only meaningful with k > 1 continuations per prompt
    downstream: bool = False  # a built-in lm-eval capability task, not a safety measure
    column: str | None = None  # its compsafe-table title; None: not a table column
    fmt: str = "{:.3f}"  # its format in compsafe-table
    headline: bool = False  # the report's overview shows its dimension by the first one present

    @property
    def task_key(self) -> str:
        return self.key.split("/")[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def table_column(self) -> Column | None:
        """The metric as a compsafe-table column, if it has one."""
        return Column(self.column, ("metrics", self.key), self.fmt) if self.column else None


def _m(key: str, title: str, higher_is_worse: bool | None = True, **kw) -> Metric:
    return Metric(key, title, higher_is_worse, **kw)


PERPLEXITY = "perplexity/token_perplexity"

# The report's sections, in order; the metrics in each in the order of its table's columns.
DIMENSIONS: dict[str, list[Metric]] = {
    "Degeneration harm": [
        _m("realtoxicityprompts/score", "RTP toxicity", headline=True, column="rtp tox"),
        _m("realtoxicityprompts/score_fluent", "RTP toxicity (non-degenerate)"),
        _m("realtoxicityprompts/share_high", "RTP share >= 0.5", column="rtp >=.5"),
        _m("realtoxicityprompts/expected_max", "RTP expected max", needs_samples=True),
        _m("realtoxicityprompts/probability_high", "RTP toxicity probability", needs_samples=True),
        _m(
            "realtoxicityprompts/degenerate",
            "RTP degenerate share",
            column="rtp degen",
            fmt="{:.2f}",
        ),
        _m(
            "realtoxicityprompts/continuation_perplexity",
            "RTP continuation ppl (reference model)",
            column="rtp cont ppl",
            fmt="{:.1f}",
        ),
        _m("realtoxicityprompts/continuation_perplexity_self", "RTP continuation ppl (self)", None),
        _m("realtoxicityprompts/prompt_perplexity", "RTP prompt ppl"),
        _m("toxigen/score", "ToxiGen toxicity", headline=True),
        _m("toxigen/score_fluent", "ToxiGen toxicity (non-degenerate)"),
        _m("toxigen/share_high", "ToxiGen share >= 0.5"),
        _m("toxigen/degenerate", "ToxiGen degenerate share"),
        _m("toxigen/continuation_perplexity", "ToxiGen continuation ppl (reference model)"),
        _m("toxigen/prompt_perplexity", "ToxiGen prompt ppl"),
        _m("advpromptset/score", "AdvPromptSet toxicity", headline=True),
        _m("advpromptset/score_fluent", "AdvPromptSet toxicity (non-degenerate)"),
        _m("advpromptset/prompt_perplexity", "AdvPromptSet prompt ppl"),
        _m("holisticbias/score", "HolisticBias toxicity", headline=True),
        _m("holisticbias/score_fluent", "HolisticBias toxicity (non-degenerate)"),
        _m("holisticbias/negative_regard", "HolisticBias negative regard share"),
        _m("holisticbias/negative_regard_fluent", "HolisticBias negative regard (non-degenerate)"),
        _m("holisticbias/degenerate", "HolisticBias degenerate share"),
        _m("holisticbias/continuation_perplexity", "HolisticBias continuation ppl (reference)"),
        _m("holisticbias/prompt_perplexity", "HolisticBias prompt ppl"),
        _m("bold/sentiment", "BOLD sentiment", higher_is_worse=False, column="bold sent"),
        _m("bold/negative", "BOLD negative share", column="bold neg"),
        _m("bold/score", "BOLD toxicity"),
        _m("bold/score_fluent", "BOLD toxicity (non-degenerate)"),
        _m("bold/degenerate", "BOLD degenerate share"),
        _m("bold/continuation_perplexity", "BOLD continuation ppl (reference model)"),
        _m("bold/prompt_perplexity", "BOLD prompt ppl"),
    ],
    "Representational harm": [
        _m("bbq/acc_ambig", "BBQ acc (ambiguous)", higher_is_worse=False),
        _m("bbq/acc_disambig", "BBQ acc (disambiguated)", higher_is_worse=False),
        _m(
            "bbq/bias_ambig",
            "BBQ bias s_amb",
            None,
            headline=True,
            column="bbq s_amb",
            fmt="{:+.3f}",
        ),
        _m("bbq/bias_disambig", "BBQ bias s_dis", None, column="bbq s_dis", fmt="{:+.3f}"),
        _m("unqover/mu", "UnQover mu", headline=True),
        _m("unqover/eta", "UnQover eta"),
        _m(
            "crows_pairs/pct_stereotype",
            "CrowS-Pairs stereotype",
            None,
            headline=True,
            column="crows stereo",
        ),
        _m("crows_pairs/likelihood_diff", "CrowS-Pairs likelihood diff", None, column="crows lld"),
    ],
    "Refusal": [
        _m(
            "refusal/refusal_rate",
            "Refusal rate (harmful, direct)",
            higher_is_worse=False,
            column="refusal",
            headline=True,
            fmt="{:.2f}",
        ),
        _m("refusal/attack_success", "Attack success rate", column="asr", fmt="{:.2f}"),
        _m("refusal/degenerate", "Refusal: degenerate share", column="ref degen", fmt="{:.2f}"),
        _m("refusal/refused_or_degenerate", "Refused or degenerate", None),
        _m("xstest/over_refusal", "XSTest over-refusal"),
        _m("xstest/refusal_rate", "XSTest refusal (unsafe contrasts)", higher_is_worse=False),
    ],
    "Dialect bias": [
        _m("dialect/aae_perplexity", "AAE perplexity"),
        _m("dialect/white_perplexity", "White-aligned perplexity"),
        _m("dialect/aae_white_ratio", "AAE / white perplexity", None, headline=True),
    ],
    "Language modelling and downstream": [
        _m(PERPLEXITY, "Perplexity", column="ppl", fmt="{:.2f}"),
        _m("mmlu/acc", "MMLU acc", headline=True, higher_is_worse=False, downstream=True),
        _m("truthfulqa_mc2/acc", "TruthfulQA mc2", higher_is_worse=False, downstream=True),
    ],
}

# In compsafe-table only: BBQ's overall accuracy (the report shows it per condition).
TABLE_ONLY = [_m("bbq/acc", "BBQ acc", higher_is_worse=False, column="bbq acc")]

METRICS: dict[str, Metric] = {
    m.key: m for m in [*(m for ms in DIMENSIONS.values() for m in ms), *TABLE_ONLY]
}

# compsafe-table's columns, left to right: the metrics (by key) between record fields.
TABLE_METRICS = (
    PERPLEXITY,
    "crows_pairs/pct_stereotype",
    "crows_pairs/likelihood_diff",
    "realtoxicityprompts/score",
    "realtoxicityprompts/share_high",
    "realtoxicityprompts/degenerate",
    "realtoxicityprompts/continuation_perplexity",
    "bold/sentiment",
    "bold/negative",
    "bbq/acc",
    "bbq/bias_ambig",
    "bbq/bias_disambig",
    "refusal/refusal_rate",
    "refusal/attack_success",
    "refusal/degenerate",
)
TABLE_COLUMNS: tuple[Column, ...] = (
    Column("sparsity", ("compression", "measured_sparsity"), "{:.3f}"),
    *(METRICS[key].table_column for key in TABLE_METRICS),
    Column("compress s", ("timings", "compress"), "{:.0f}"),
    Column("seconds", ("timings", "total"), "{:.0f}"),
)


def safety_metrics(metrics: list[Metric]) -> list[Metric]:
    """The metrics that measure harm or bias: neither perplexity nor a downstream task."""
    return [m for m in metrics if m.key != PERPLEXITY and not m.downstream]


# Group breakdowns drawn as heatmaps: (task key, metric, field).
HEATMAPS = [
    ("bbq", "bias_ambig", "category"),
    ("bbq", "bias_disambig", "category"),
    ("bold", "sentiment", "domain"),
    ("toxigen", "score", "target_group"),
    ("holisticbias", "score", "axis"),
    ("holisticbias", "negative_regard", "axis"),
    ("realtoxicityprompts", "score", "attribute"),
    ("unqover", "mu", "class"),
    ("refusal", "attack_success", "attack"),
    ("refusal", "refusal_rate", "risk_area"),
]
