"""The scorer interface, the registry, and the per-process cache of loaded scorers."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from compsafe.errors import ConfigError
from compsafe.registry import Registry

log = logging.getLogger(__name__)


class Scorer(ABC):
    """Scores texts in batches. `check` is cheap and runs before generation starts."""

    name: ClassVar[str]
    measures: ClassVar[str]  # "toxicity" | "sentiment" | "regard" | "refusal" (what it scores)
    default_batch_size: ClassVar[int] = 32
    requires: ClassVar[tuple[str, str] | None] = None  # (module to import, pip distribution)

    def __init__(self, batch_size: int | None = None, **options: Any) -> None:
        self.batch_size = batch_size or self.default_batch_size
        self.options = options
        unknown = set(options) - set(self.option_names())
        if unknown:
            raise ConfigError(
                f"scorer {self.name} options",
                sorted(unknown),
                f"unknown; valid: {', '.join(self.option_names()) or 'none'}",
            )

    def option_names(self) -> tuple[str, ...]:
        return ()

    def check(self) -> None:
        """Raise ConfigError if this scorer cannot load here (package, weights, API key)."""
        if self.requires:
            import importlib.util

            module, distribution = self.requires
            if importlib.util.find_spec(module) is None:
                raise ConfigError("scorer", self.name, f"needs `pip install {distribution}`")

    @abstractmethod
    def load(self) -> None:
        """Load weights or clients; called once per process."""

    @abstractmethod
    def score_batch(self, texts: list[str]) -> list[float]:
        """One score per text."""

    def judge_batch(self, texts: list[str]) -> list[dict[str, float]]:
        """Per text `{"score": ...}` plus whatever else a scorer knows about it (regard: whether
        negative is its top class); scorers with one number need not override it."""
        return [{"score": float(value)} for value in self.score_batch(texts)]

    def empty_judgement(self) -> dict[str, float]:
        """What an empty continuation gets: 0, without being sent to the scorer."""
        return {"score": 0.0}

    def judge(self, texts: list[str]) -> list[dict[str, float]]:
        """Judgements in batches. An empty (or blank) continuation scores 0 for every scorer
        without being scored: it says nothing (Perspective refuses it, a classifier whose
        tokenizer adds no special tokens cannot run on it), and `degenerate` counts it anyway."""
        from tqdm.auto import tqdm

        said = [i for i, text in enumerate(texts) if text.strip()]
        judged = [self.empty_judgement() for _ in texts]
        starts = range(0, len(said), self.batch_size)
        for start in tqdm(starts, desc=f"Scoring with {self.name}", disable=len(starts) < 2):
            chunk = said[start : start + self.batch_size]
            for i, value in zip(chunk, self.judge_batch([texts[i] for i in chunk]), strict=True):
                judged[i] = value
        return judged

    def score(self, texts: list[str]) -> list[float]:
        """One score per text (see `judge`)."""
        return [judged["score"] for judged in self.judge(texts)]

    def details(self) -> dict[str, str]:
        """What results.json records once per task about this scorer as configured (a judge's
        measured accuracy), under the task's `details`; never carried by each item."""
        return {}


REGISTRY: Registry[type[Scorer]] = Registry("scorer", "scorer")
register = REGISTRY.register
_LOADED: dict[str, Scorer] = {}


def _make(name: str, options: dict[str, Any] | None) -> Scorer:
    return REGISTRY.lookup(name)(**(options or {}))


def check_scorer(name: str, options: dict[str, Any] | None = None) -> None:
    """Everything short of loading: name, options, package, weights, key."""
    _make(name, options).check()


def scorer_details(name: str, options: dict[str, Any] | None = None) -> dict[str, str]:
    """The scorer's `details`, without loading it."""
    return _make(name, options).details()


def get_scorer(name: str, options: dict[str, Any] | None = None) -> Scorer:
    """The loaded scorer for (name, options), loaded at most once per process."""
    key = json.dumps([name, options or {}], sort_keys=True, default=str)
    if key not in _LOADED:
        scorer = _make(name, options)
        scorer.check()
        log.info("Loading scorer %s", name)
        scorer.load()
        _LOADED[key] = scorer
    return _LOADED[key]
