"""The interface every compression method implements, and the registry that names them."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from compsafe.errors import ConfigError, choices

NM_PATTERN = re.compile(r"^(\d+):(\d+)$")


@dataclass(frozen=True)
class CompressionSpec:
    """A validated compression config: what is asked, in the units results report."""

    method: str
    target_sparsity: float
    pattern: str  # "unstructured" or "N:M" as written, e.g. "2:4"
    targets: tuple[str, ...]
    ignore: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def n_m(self) -> tuple[int, int] | None:
        """(N, M) for an N:M pattern, else None."""
        found = NM_PATTERN.match(self.pattern)
        return (int(found[1]), int(found[2])) if found else None

    @property
    def pattern_kind(self) -> str:
        return "N:M" if self.n_m else "unstructured"


class CompressionMethod(ABC):
    """Compresses a model in place. Subclasses set `name` and implement `apply`."""

    name: ClassVar[str]
    needs_calibration: ClassVar[bool] = False
    prunes: ClassVar[bool] = True

    def check(self, spec: CompressionSpec) -> None:
        """Cheap validation of method-specific arguments, before any model is loaded."""
        if spec.args:
            raise ConfigError(
                "compression.args", dict(spec.args), f"method {self.name} takes no extra arguments"
            )

    @abstractmethod
    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        """Compress `model` in place; `calibration` is a tokenized Dataset when needed."""


REGISTRY: dict[str, type[CompressionMethod]] = {}


def register(cls: type[CompressionMethod]) -> type[CompressionMethod]:
    """Class decorator: make a method selectable as `compression.method=<cls.name>`."""
    if cls.name in REGISTRY:
        raise ValueError(f"compression method {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def get_method(name: str) -> CompressionMethod:
    if name not in REGISTRY:
        raise ConfigError("compression.method", name, choices(REGISTRY))
    return REGISTRY[name]()


def _parse_pattern(pattern: str) -> tuple[int, int] | None:
    if pattern == "unstructured":
        return None
    found = NM_PATTERN.match(pattern)
    if not found:
        raise ConfigError("compression.pattern", pattern, "valid: unstructured, or N:M such as 2:4")
    n, m = int(found[1]), int(found[2])
    if not 0 < n < m:
        raise ConfigError("compression.pattern", pattern, "N:M needs 0 < N < M (e.g. 2:4, 4:8)")
    return n, m


def parse_spec(cfg) -> CompressionSpec:
    """Validate a `compression` config node into a spec, without touching any model."""
    method = get_method(str(cfg.method))
    pattern = str(cfg.pattern)
    n_m = _parse_pattern(pattern)
    sparsity = float(cfg.sparsity)
    if not 0.0 <= sparsity < 1.0:
        raise ConfigError("compression.sparsity", cfg.sparsity, "must be in [0, 1)")
    if not method.prunes:
        sparsity, pattern = 0.0, "unstructured"
    elif n_m:
        sparsity = 1.0 - n_m[0] / n_m[1]
    args = dict(cfg.args) if cfg.args else {}
    spec = CompressionSpec(
        method=method.name,
        target_sparsity=sparsity,
        pattern=pattern,
        targets=tuple(cfg.targets),
        ignore=tuple(cfg.ignore),
        args=args,
    )
    method.check(spec)
    return spec
