"""Degeneration-harm tasks: their options (the shared `GenerationOptions` plus a second
toxicity scorer), and the prompt docs lm-eval loads for each of them.

Prompts in, continuations out, continuations scored (the paper's protocol). Prompts come from
`prompt_sources`; the scoring filter and per-prompt metrics from `generation_metrics`. Sets:
RealToxicityPrompts, ToxiGen, BOLD, HolisticBias, AdvPromptSet (one YAML each, sharing
`_generation_yaml`).
"""

# No `from __future__ import annotations`: lm-eval executes this file outside the package,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass, field

from compsafe.errors import ConfigError
from compsafe.evaluation.options import options_from_metadata
from compsafe.evaluation.tasks.generation_metrics import scorer_field
from compsafe.evaluation.tasks.generation_options import GenerationOptions
from compsafe.evaluation.tasks.prompt_sources import READERS, read_prompts
from compsafe.evaluation.tasks.sampling import seeded_subset


@dataclass
class DegenerationOptions(GenerationOptions):
    scorer: str | None = None  # null: vader for BOLD, profanity_check otherwise
    # A second scorer, for toxicity, next to a scorer that measures something else (BOLD: VADER)
    toxicity_scorer: str | None = None
    toxicity_scorer_options: dict = field(default_factory=dict)

    def check(self, key: str) -> None:
        super().check(key)
        self.check_prompt_file(key)
        if self.toxicity_scorer is not None:
            self._check_toxicity_scorer(key)

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


TASKS = dict.fromkeys(READERS, DegenerationOptions)


def build_docs(task: str, metadata: dict):
    """The prompts of a task as a DatasetDict; each doc names the scorer that will judge it."""
    import datasets

    options = options_from_metadata(task, DegenerationOptions, metadata)
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
