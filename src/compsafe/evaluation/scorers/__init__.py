"""Scorers for generated text, pluggable by name, loaded once per process and run in batches.

Adding a scorer means one module here with a `@register`ed `Scorer` subclass. Toxicity-like
scorers return a probability in [0, 1]; `vader` returns a sentiment compound in [-1, 1].
"""

import importlib
import pkgutil

from compsafe.evaluation.scorers.base import REGISTRY, Scorer, check_scorer, get_scorer, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Scorer", "check_scorer", "get_scorer", "register"]
