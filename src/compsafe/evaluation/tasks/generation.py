"""Degeneration-harm tasks: their options, and the prompt docs lm-eval loads for each of them.

Prompts in, continuations out, continuations scored (the paper's protocol). Prompts come from
`prompt_sources`; the scoring filter and per-prompt metrics from `generation_metrics`. Sets:
RealToxicityPrompts, ToxiGen, BOLD, HolisticBias, AdvPromptSet (one YAML each, sharing
`_generation_yaml`).
"""

# No `from __future__ import annotations`: lm-eval executes this file outside the package,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass, field
from typing import Any

from compsafe.errors import ConfigError
from compsafe.evaluation.options import check_task_source, options_from_metadata, positive
from compsafe.evaluation.tasks.generation_metrics import scorer_field
from compsafe.evaluation.tasks.prompt_sources import READERS, file_prompts, read_prompts, usable
from compsafe.evaluation.tasks.sampling import seeded_subset

SOURCES = ("packaged", "hub", "file")


@dataclass
class GenerationOptions:
    source: str = "packaged"  # packaged | hub | file
    path: str | None = None  # hub dataset id or local .jsonl/.json/.txt
    subset: str | None = None  # hub config; RTP: "challenging" keeps challenging prompts
    split: str = "train"
    prompt_field: str = "prompt"  # file source: the prompt's field
    group_fields: list = field(default_factory=list)  # file source: fields to group metrics by
    sample_size: int | None = None  # seeded subset of prompts; null = all
    seed: int = 1234
    scorer: str | None = None  # null: vader for BOLD, profanity_check otherwise
    scorer_options: dict = field(default_factory=dict)
    # A second scorer, for toxicity, next to a scorer that measures something else (BOLD: VADER)
    toxicity_scorer: str | None = None
    toxicity_scorer_options: dict = field(default_factory=dict)
    samples_per_prompt: int = 1  # k > 1 samples (temperature, top_p) instead of greedy
    max_new_tokens: int = 50
    # No end of text before this many new tokens (the paper: 30), so a model that stops at
    # once cannot look safe by saying nothing; 0 = the model may stop at once
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 0.9

    def check(self, key: str) -> None:
        from compsafe.evaluation.scorers import check_scorer

        check_task_source(key, self.source, SOURCES, {"path": self.path})
        if self.source == "file":  # a local file is cheap to read: check it before any model loads
            usable(file_prompts(self, key), key, self.source)
        for name in ("sample_size", "samples_per_prompt", "max_new_tokens"):
            positive(key, name, getattr(self, name), allow_none=name == "sample_size")
        self._check_min_new_tokens(key)
        if self.scorer is not None:
            check_scorer(self.scorer, self.scorer_options)
        if self.toxicity_scorer is not None:
            self._check_toxicity_scorer(key)

    def _check_min_new_tokens(self, key: str) -> None:
        value = self.min_new_tokens
        if not isinstance(value, int) or not 0 <= value <= self.max_new_tokens:
            raise ConfigError(
                f"{key}.min_new_tokens", value, "must be an integer in [0, max_new_tokens]"
            )

    def _check_toxicity_scorer(self, key: str) -> None:
        """A toxicity scorer, beside a named scorer that measures something else (their
        metric names would collide otherwise)."""
        from compsafe.evaluation.scorers import REGISTRY, check_scorer

        second = REGISTRY.lookup(self.toxicity_scorer)
        if second.measures != "toxicity":
            raise ConfigError(
                f"{key}.toxicity_scorer", self.toxicity_scorer, "measures no toxicity"
            )
        if self.scorer is None or REGISTRY.lookup(self.scorer).measures == "toxicity":
            raise ConfigError(
                f"{key}.toxicity_scorer",
                self.toxicity_scorer,
                "only beside a `scorer` that measures something else (vader, regard)",
            )
        check_scorer(self.toxicity_scorer, self.toxicity_scorer_options)

    def runtime_config(self) -> dict[str, Any]:
        """lm-eval task settings the options decide (applied by compsafe's harness)."""
        sampling = self.samples_per_prompt > 1
        kwargs: dict[str, Any] = {
            "until": [],
            "max_gen_toks": self.max_new_tokens,
            "do_sample": sampling,
        }
        if self.min_new_tokens:  # passed on to Hugging Face `generate` by lm-eval's HFLM
            kwargs["min_new_tokens"] = self.min_new_tokens
        if sampling:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        return {"repeats": self.samples_per_prompt, "generation_kwargs": kwargs}


TASKS = dict.fromkeys(READERS, GenerationOptions)


def build_docs(task: str, metadata: dict):
    """The prompts of a task as a DatasetDict; each doc names the scorer that will judge it."""
    import datasets

    options = options_from_metadata(task, GenerationOptions, metadata)
    prompts = read_prompts(task, options, f"{task} options")
    prompts = seeded_subset(prompts, options.sample_size, options.seed)
    scorer = scorer_field(
        task,
        options.scorer,
        options.scorer_options,
        options.toxicity_scorer,
        options.toxicity_scorer_options,
    )
    return datasets.DatasetDict(
        {"test": datasets.Dataset.from_list([{**p, "scorer": scorer} for p in prompts])}
    )


def load_realtoxicityprompts(**metadata):
    return build_docs("compsafe_realtoxicityprompts", metadata)


def load_toxigen(**metadata):
    return build_docs("compsafe_toxigen", metadata)


def load_bold(**metadata):
    return build_docs("compsafe_bold", metadata)


def load_holisticbias(**metadata):
    return build_docs("compsafe_holisticbias", metadata)


def load_advpromptset(**metadata):
    return build_docs("compsafe_advpromptset", metadata)
