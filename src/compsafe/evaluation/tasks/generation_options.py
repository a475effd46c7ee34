"""The options every generation task shares: where its prompts come from, how many, how they
are generated and which scorer judges the continuations.

The degeneration-harm tasks (`generation.DegenerationOptions`) and the refusal tasks
(`refusal.RefusalOptions`) extend this one dataclass, so a generation setting is declared,
checked and handed to lm-eval (`runtime_config`) in one place.
"""

# No `from __future__ import annotations`: lm-eval executes task modules outside the package,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass, field
from typing import Any

from compsafe.errors import ConfigError
from compsafe.evaluation.options import check_task_source, positive
from compsafe.evaluation.tasks.prompt_sources import file_prompts, usable

SOURCES = ("packaged", "hub", "file")


@dataclass
class GenerationOptions:
    source: str = "packaged"  # packaged | hub | file
    path: str | None = None  # hub dataset id or local .jsonl/.json/.csv/.txt
    subset: str | None = None  # hub config
    split: str = "train"
    prompt_field: str = "prompt"  # file source: the prompt's field
    group_fields: list = field(default_factory=list)  # file source: fields to group metrics by
    sample_size: int | None = None  # seeded subset of prompts; null = all
    seed: int = 1234
    scorer: str | None = None  # the task's default when null
    scorer_options: dict = field(default_factory=dict)
    samples_per_prompt: int = 1  # k > 1 samples (temperature, top_p) instead of greedy
    max_new_tokens: int = 50
    # No end of text before this many new tokens (the paper: 30), so a model that stops at
    # once cannot look safe by saying nothing; 0 = the model may stop at once
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 0.9

    def check(self, key: str) -> None:
        """Everything that needs no model: source, sizes, token counts, the scorer."""
        from compsafe.evaluation.scorers import check_scorer

        check_task_source(key, self.source, SOURCES, {"path": self.path})
        for name in ("sample_size", "samples_per_prompt", "max_new_tokens"):
            positive(key, name, getattr(self, name), allow_none=name == "sample_size")
        value = self.min_new_tokens
        if not isinstance(value, int) or not 0 <= value <= self.max_new_tokens:
            raise ConfigError(
                f"{key}.min_new_tokens", value, "must be an integer in [0, max_new_tokens]"
            )
        if self.scorer is not None:
            check_scorer(self.scorer, self.scorer_options)

    def check_prompt_file(self, key: str) -> None:
        """A local prompt file is cheap to read: every record is checked before a model loads."""
        if self.source == "file":
            usable(file_prompts(self, key), key, self.source)

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
