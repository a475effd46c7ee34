"""llm-compressor's oneshot, shared by every method that drives one of its modifiers."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, ClassVar

from compsafe.compression.base import CompressionMethod, CompressionSpec
from compsafe.compression.layers import EXPERTS, LINEAR
from compsafe.errors import ConfigError

log = logging.getLogger(__name__)


def reset_llmcompressor_session() -> None:
    """llm-compressor keeps a module-level session; clear it so jobs in one process don't mix."""
    from llmcompressor.core import reset_session

    reset_session()


def allow_cpu_only_torch() -> None:
    """llm-compressor pins cached activations for faster GPU copies; CPU-only torch cannot pin."""
    import torch
    from llmcompressor.pipelines.cache import IntermediatesCache

    if not torch.cuda.is_available():
        IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None


@contextmanager
def forget_fx_wraps():
    """llm-compressor's sequential pipeline compiles each layer's forward with a namespace that
    holds the model and registers it in torch.fx's module-level table of wrapped functions,
    which then keeps every compressed copy of a sweep alive. Drop what a oneshot call added."""
    from torch.fx import _symbolic_trace

    table = getattr(_symbolic_trace, "_wrapped_fns_to_patch", None)
    before = set(table) if isinstance(table, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for key in set(table) - before:
                del table[key]


# llm-compressor's own limits, as its errors word them: (text in the error, what it means).
LIBRARY_LIMITS = (
    (
        "expects a tensor with <= 2 dimensions",
        "its calibration hooks take 2- or 3-D layer inputs, and a layer here gets 4-D ones "
        "(DeepSeek's kv_b_proj): add it to compression.ignore, or methods that can: magnitude, "
        "rtn, gptq, awq, int8",
    ),
    (
        "Found a final incomplete set with matches",
        "llm-compressor has no AWQ layer mappings for this architecture; "
        "methods that can: rtn, gptq, int8",
    ),
)


@contextmanager
def library_limits(method: str, model):
    """A known limit of llm-compressor on this architecture becomes one line naming it."""
    try:
        yield
    except (RuntimeError, ValueError) as err:
        for text, meaning in LIBRARY_LIMITS:
            if text in str(err):
                raise ConfigError(
                    "compression.method", method, f"{type(model).__name__}: {meaning}"
                ) from None
        raise


def run_oneshot(model, tokenizer, calibration, recipe: list) -> None:
    """Apply `recipe` to `model` in place over the calibration set (or data-free when None)."""
    from llmcompressor import oneshot

    allow_cpu_only_torch()
    kwargs: dict[str, Any] = {}
    if calibration is not None:
        kwargs = {
            "dataset": calibration,
            "num_calibration_samples": len(calibration),
            "max_seq_length": len(calibration[0]["input_ids"]),
            "shuffle_calibration_samples": False,
        }
    reset_llmcompressor_session()
    try:
        with forget_fx_wraps():
            oneshot(model=model, tokenizer=tokenizer, recipe=recipe, **kwargs)
    finally:
        reset_llmcompressor_session()


def build(cls, key: str, **kwargs):
    """Construct an llm-compressor modifier; its pydantic validation becomes a one-line error."""
    from pydantic import ValidationError

    try:
        return cls(**kwargs)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "?"
        raise ConfigError(f"{key}.{where}", first.get("input"), first["msg"]) from None
    except TypeError as err:
        raise ConfigError(key, kwargs, str(err)) from None


def import_class(path: str):
    """'package.module:Class' -> the class (imported only when a method is used)."""
    module, _, name = path.partition(":")
    return getattr(__import__(module, fromlist=[name]), name)


def mask_structure(spec: CompressionSpec) -> str:
    """llm-compressor's "n:m" prunes n of every m weights; our N:M keeps N of every M."""
    if not spec.n_m:
        return "0:0"
    n, m = spec.n_m
    return f"{m - n}:{m}"


class OneshotPruning(CompressionMethod):
    """A pruning modifier run once over the calibration set; subclasses name the modifier."""

    needs_calibration = True
    handles = frozenset({LINEAR, EXPERTS})
    linearizes_experts = True
    modifier_path: ClassVar[str]  # "module:ClassName"

    def modifier_class(self):
        return import_class(self.modifier_path)

    def build_modifier(self, spec: CompressionSpec):
        """The llm-compressor modifier; its pydantic model validates `compression.args`."""
        return build(
            self.modifier_class(),
            "compression.args",
            sparsity=spec.target_sparsity,
            mask_structure=mask_structure(spec),
            targets=list(spec.targets),
            ignore=list(spec.ignore),
            **spec.args,
        )

    def check(self, spec: CompressionSpec) -> None:
        """Any `compression.args` may be the modifier's: `check_arguments` decides."""

    def check_arguments(self, spec: CompressionSpec) -> None:
        self.build_modifier(spec)

    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        if calibration is None:
            raise ValueError(f"{self.name} needs calibration data")
        with library_limits(self.name, model):
            run_oneshot(model, tokenizer, calibration, [self.build_modifier(spec)])
