"""The interface every compression method implements, and the registry that names them."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from compsafe.compression.layers import LINEAR
from compsafe.errors import ConfigError, choices
from compsafe.registry import Registry

NM_PATTERN = re.compile(r"^(\d+):(\d+)$")
BITS = range(2, 9)

NONE, PRUNE, QUANTIZE = "none", "prune", "quantize"
KV_CACHE_FORMATS = ("fp8",)  # `compression.kv_cache`: how the attention cache is stored


@dataclass(frozen=True)
class QuantSpec:
    """A weight quantization scheme as applied: integer weights, one scale per group."""

    method: str
    bits: int
    group_size: int | None  # None: one scale per output channel
    symmetric: bool
    args: dict[str, Any] = field(default_factory=dict)
    # A weight-and-activation format (fp8, nvfp4, ...): compressed-tensors' preset scheme name;
    # None for integer weight-only quantization. `group_size` is then the format's own group
    # (or block) of inputs, and `group_label` says whether the label shows it.
    scheme: str | None = None
    group_label: str = "g"

    @property
    def label(self) -> str:
        if self.scheme is not None:
            shown = self.group_label and self.group_size
            return f"{self.method} {self.group_label}{self.group_size}" if shown else self.method
        group = f"g{self.group_size}" if self.group_size else "per-channel"
        return f"{self.method} w{self.bits} {group}{'' if self.symmetric else ' asym'}"


@dataclass(frozen=True)
class CompressionSpec:
    """A validated compression config: what is asked, in the units results report."""

    method: str
    target_sparsity: float
    pattern: str  # "unstructured" or "N:M" as written, e.g. "2:4"
    targets: tuple[str, ...]
    ignore: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)
    quant: QuantSpec | None = None
    kv_cache: str | None = None  # "fp8": keys and values quantized as the cache stores them

    @property
    def compresses(self) -> bool:
        """Whether the job changes the model at all (the dense baseline with an FP8 cache does)."""
        return self.method != NONE or self.kv_cache is not None

    @property
    def n_m(self) -> tuple[int, int] | None:
        """(N, M) for an N:M pattern (at most N non-zeros in every M weights), else None."""
        found = NM_PATTERN.match(self.pattern)
        return (int(found[1]), int(found[2])) if found else None

    @property
    def pattern_kind(self) -> str:
        return "N:M" if self.n_m else "unstructured"

    @property
    def prunes(self) -> bool:
        return REGISTRY[self.method].kind == PRUNE

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The methods to run, in order: a pruner, a quantizer, both, or neither."""
        pruner = (self.method,) if self.prunes else ()
        return pruner + ((self.quant.method,) if self.quant else ())

    @property
    def cacheable(self) -> bool:
        """Whether a compressed checkpoint gives back exactly the model evaluated (see the
        methods' `cacheable`: NVFP4/MXFP4 checkpoints unpack in bfloat16)."""
        return all(getattr(REGISTRY[name], "cacheable", True) for name in self.stage_names)

    @property
    def needs_calibration(self) -> bool:
        """Static KV-cache scales are calibrated too."""
        stages = any(REGISTRY[name].needs_calibration for name in self.stage_names)
        return stages or self.kv_cache is not None

    @property
    def label(self) -> str:
        """A row name for tables: 'dense', 'wanda 50%', 'sparsegpt 2:4 + gptq w4 g64'."""
        kv = f" + kv {self.kv_cache}" if self.kv_cache else ""
        if self.method == NONE:
            return "dense" + kv
        if not self.prunes:
            return self.quant.label + kv
        rate = self.pattern if self.n_m else f"{self.target_sparsity:.0%}"
        return f"{self.method} {rate}" + (f" + {self.quant.label}" if self.quant else "") + kv


class CompressionMethod(ABC):
    """Compresses a model in place. Subclasses set `name` and `kind` and implement `apply`."""

    name: ClassVar[str]
    kind: ClassVar[str] = PRUNE  # none | prune | quantize
    needs_calibration: ClassVar[bool] = False
    # The layer kinds (compression.layers) it compresses; a targeted layer of another kind is
    # refused right after the model loads, before any calibration runs.
    handles: ClassVar[frozenset[str]] = frozenset({LINEAR})
    # Drives llm-compressor, which sees fused MoE experts only once they are unfused (experts.py).
    linearizes_experts: ClassVar[bool] = False

    def check(self, spec: CompressionSpec) -> None:
        """Cheap validation of method-specific arguments, before any model is loaded."""
        if self.method_args(spec):
            raise ConfigError(
                "compression.args",
                dict(self.method_args(spec)),
                f"method {self.name} takes no extra arguments",
            )

    def check_arguments(self, spec: CompressionSpec) -> None:
        """Validation that needs the method's library (llm-compressor's pydantic modifiers):
        run by the job before the model loads, and by preflight when the command line sets
        `compression.args`, so that a typo elsewhere is answered without importing it."""
        return None  # methods without a library have nothing more to validate

    def method_args(self, spec: CompressionSpec) -> dict[str, Any]:
        """The `compression.args` that belong to this method (the quantizer's when it is one)."""
        if self.kind == QUANTIZE and spec.quant is not None:
            return spec.quant.args
        return spec.args

    @abstractmethod
    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        """Compress `model` in place; `calibration` is a tokenized Dataset when needed."""


# `@register` makes a method selectable as `compression.method=<cls.name>`.
REGISTRY: Registry[type[CompressionMethod]] = Registry("compression method", "compression.method")
register = REGISTRY.register


def get_method(name: str) -> CompressionMethod:
    return REGISTRY.lookup(name)()


def methods_of_kind(kind: str) -> list[str]:
    return sorted(name for name, cls in REGISTRY.items() if cls.kind == kind)


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


def _quant_spec(cfg, method: CompressionMethod) -> QuantSpec | None:
    """The quantization stage: the method itself, or `compression.quantize` after pruning."""
    if method.kind == QUANTIZE:
        if cfg.get("quantize"):
            raise ConfigError(
                "compression.quantize", cfg.quantize, f"{method.name} already quantizes; use null"
            )
        name, args = method.name, dict(cfg.args or {})
    elif cfg.get("quantize"):
        name, args = str(cfg.quantize), {}
        if method.kind != PRUNE:
            raise ConfigError(
                "compression.quantize", name, "use compression=<name> to quantize alone"
            )
        if name not in methods_of_kind(QUANTIZE):
            raise ConfigError("compression.quantize", name, choices(methods_of_kind(QUANTIZE)))
    else:
        return None
    quantizer = REGISTRY[name]()
    bits = int(cfg.get("bits", 4))
    group_size = cfg.get("group_size")
    if bits not in BITS:
        raise ConfigError("compression.bits", bits, f"must be in {BITS.start}..{BITS.stop - 1}")
    if group_size is not None and int(group_size) <= 0:
        raise ConfigError("compression.group_size", group_size, "a positive integer, or null")
    spec = QuantSpec(
        method=name,
        bits=bits,
        group_size=None if group_size is None else int(group_size),
        symmetric=bool(cfg.get("symmetric", True)),
        args=args,
    )
    return quantizer.resolve(spec)


def _kv_cache(cfg) -> str | None:
    kv_cache = cfg.get("kv_cache")
    if kv_cache is not None and str(kv_cache) not in KV_CACHE_FORMATS:
        raise ConfigError("compression.kv_cache", kv_cache, choices([*KV_CACHE_FORMATS, "null"]))
    return None if kv_cache is None else str(kv_cache)


def parse_spec(cfg, arguments: bool = True) -> CompressionSpec:
    """Validate a `compression` config node into a spec, without touching any model;
    `arguments` also lets the method's library validate `compression.args` (a heavy import)."""
    method = get_method(str(cfg.method))
    pattern = str(cfg.pattern)
    n_m = _parse_pattern(pattern)
    sparsity = float(cfg.sparsity)
    if not 0.0 <= sparsity < 1.0:
        raise ConfigError("compression.sparsity", cfg.sparsity, "must be in [0, 1)")
    if method.kind != PRUNE:
        sparsity, pattern = 0.0, "unstructured"
    elif n_m:
        sparsity = 1.0 - n_m[0] / n_m[1]
    quant = _quant_spec(cfg, method)
    spec = CompressionSpec(
        method=method.name,
        target_sparsity=sparsity,
        pattern=pattern,
        targets=tuple(cfg.targets),
        ignore=tuple(cfg.ignore),
        args={} if method.kind == QUANTIZE else dict(cfg.args or {}),
        quant=quant,
        kv_cache=_kv_cache(cfg),
    )
    methods = [method]
    if quant is not None and method.kind != QUANTIZE:
        methods.append(REGISTRY[quant.method]())
    for each in methods:
        each.check(spec)
        if arguments:
            each.check_arguments(spec)
    return spec
