"""Pruning through llm-compressor's oneshot: shared by the Wanda and SparseGPT modules."""

from __future__ import annotations

import logging
from typing import ClassVar

from compsafe.compression.base import CompressionMethod, CompressionSpec
from compsafe.errors import ConfigError

log = logging.getLogger(__name__)


def reset_llmcompressor_session() -> None:
    """llm-compressor keeps a module-level session; clear it so jobs in one process don't mix."""
    from llmcompressor.core import reset_session

    reset_session()


class OneshotPruning(CompressionMethod):
    """A pruning modifier run once over the calibration set; subclasses name the modifier."""

    needs_calibration = True
    modifier_path: ClassVar[str]  # "module:ClassName"

    def modifier_class(self):
        module, _, cls = self.modifier_path.partition(":")
        return getattr(__import__(module, fromlist=[cls]), cls)

    def build_modifier(self, spec: CompressionSpec):
        """The llm-compressor modifier; its pydantic model validates `compression.args`."""
        from pydantic import ValidationError

        n_m = spec.n_m
        try:
            return self.modifier_class()(
                sparsity=spec.target_sparsity,
                mask_structure=f"{n_m[0]}:{n_m[1]}" if n_m else "0:0",
                targets=list(spec.targets),
                ignore=list(spec.ignore),
                **spec.args,
            )
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "?"
            raise ConfigError(
                f"compression.args.{where}", first.get("input"), first["msg"]
            ) from None
        except TypeError as err:
            raise ConfigError("compression.args", dict(spec.args), str(err)) from None

    def check(self, spec: CompressionSpec) -> None:
        self.build_modifier(spec)

    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        from llmcompressor import oneshot

        if calibration is None:
            raise ValueError(f"{self.name} needs calibration data")
        seq_len = len(calibration[0]["input_ids"])
        reset_llmcompressor_session()
        try:
            oneshot(
                model=model,
                tokenizer=tokenizer,
                dataset=calibration,
                recipe=[self.build_modifier(spec)],
                num_calibration_samples=len(calibration),
                max_seq_length=seq_len,
                shuffle_calibration_samples=False,
            )
        finally:
            reset_llmcompressor_session()
