"""Scorers for generated text, pluggable by name, loaded once per process and run in batches.

Adding a scorer means one module here with a `@register`ed `Scorer` subclass. Toxicity-like
scorers return a probability in [0, 1]; `vader` returns a sentiment compound in [-1, 1].
"""

from compsafe.evaluation.scorers.base import (
    REGISTRY,
    Scorer,
    check_scorer,
    get_scorer,
    register,
    scorer_details,
)
from compsafe.registry import import_submodules

import_submodules(__name__, __path__)

__all__ = ["REGISTRY", "Scorer", "check_scorer", "get_scorer", "register", "scorer_details"]
