"""Weight-and-activation formats as served (FP8, INT8 W8A8, W4A8, NVFP4, MXFP4), shared by
the one-module-per-format methods.

Each format is a compressed-tensors preset scheme applied by llm-compressor's
QuantizationModifier. After oneshot every targeted Linear keeps compressed-tensors' quantized
forward, which fake-quantizes its input activations (dynamic per token or group, or with the
calibrated static scale) and its weights on every call; so the evaluation computes with the
format as a server would, on any device. `materialize` also stores the dequantized weights.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from compsafe.compression.base import CompressionSpec, QuantSpec
from compsafe.compression.layers import LINEAR
from compsafe.compression.oneshot import build, import_class, run_oneshot
from compsafe.compression.quantization import OneshotQuantization, kv_cache_args
from compsafe.errors import ConfigError

QUANTIZATION_MODIFIER = "llmcompressor.modifiers.quantization:QuantizationModifier"


class FormatQuantization(OneshotQuantization):
    """A preset scheme for weights and input activations; subclasses name the preset."""

    preset: ClassVar[str]  # compressed-tensors' PRESET_SCHEMES key
    weight_bits: ClassVar[int]
    # The format's group (or block) of inputs: an int, or "config" to take
    # `compression.group_size` (W4A8 groups, FP8 block sides), or None (per tensor/channel).
    group: ClassVar[int | str | None] = None
    group_label: ClassVar[str] = ""  # label prefix when the group comes from the config
    # Saved compressed, 4-bit float formats are packed and unpacked in bfloat16 (and saving
    # leaves the model in memory packed): a cached copy would not be the model compressed and
    # verified here, so those jobs compress afresh every time.
    cacheable: ClassVar[bool] = True
    # Activations are quantized by the quantized forward of each nn.Linear; fused MoE experts,
    # repacked after compression, have none (their activations would run unquantized), so a
    # format refuses them in one line, naming the methods that can.
    handles = frozenset({LINEAR})
    linearizes_experts = False

    def resolve(self, quant: QuantSpec) -> QuantSpec:
        group = quant.group_size if self.group == "config" else self.group
        if self.group == "config" and group is None:
            raise ConfigError("compression.group_size", None, f"{self.name} needs a group size")
        return dataclasses.replace(
            quant,
            bits=self.weight_bits,
            group_size=group,
            symmetric=True,
            scheme=self.preset,
            group_label=self.group_label if self.group == "config" else "",
        )

    def scheme(self, spec: CompressionSpec):
        """The QuantizationScheme applied to the targets (and checked by verification)."""
        from compressed_tensors.quantization import preset_name_to_scheme

        scheme = preset_name_to_scheme(self.preset, list(spec.targets))
        return self.adjust(scheme, spec.quant.group_size)

    def adjust(self, scheme, group_size: int | None):
        """Presets fix the group; formats whose group comes from the config set it here."""
        return scheme

    def modifier_args(self, spec: CompressionSpec) -> dict[str, Any]:
        """`compression.args` that go to the QuantizationModifier (observers, for example)."""
        return dict(spec.quant.args)

    def quantization_modifier(self, spec: CompressionSpec, args: dict[str, Any]):
        return build(
            import_class(QUANTIZATION_MODIFIER),
            "compression.args",
            config_groups={"group_0": self.scheme(spec)},
            ignore=list(spec.ignore),
            kv_cache_scheme=kv_cache_args(spec.kv_cache),
            **args,
        )

    def recipe(self, spec: CompressionSpec) -> list:
        return [self.quantization_modifier(spec, self.modifier_args(spec))]

    def check_arguments(self, spec: CompressionSpec) -> None:
        import torch

        if not hasattr(torch, "float8_e4m3fn"):
            raise ConfigError(
                "compression", self.name, f"torch {torch.__version__} has no float8_e4m3fn"
            )
        super().check_arguments(spec)


def kv_cache_modifier(spec: CompressionSpec):
    """The KV-cache stage of a job with no quantizer (dense or pruned; a quantizer's own
    modifier carries the cache scheme): a QuantizationModifier with the cache scheme only.
    Not after a quantizer: a second QuantizationModifier resets every layer's quantization
    status, which turns the quantized forward off."""
    return build(
        import_class(QUANTIZATION_MODIFIER),
        "compression.kv_cache",
        kv_cache_scheme=kv_cache_args(spec.kv_cache),
        targets=[],  # the default ("Linear") would give every Linear an empty scheme
        ignore=list(spec.ignore),
    )


def quantize_kv_cache(model, spec: CompressionSpec, calibration, tokenizer) -> None:
    """Attach the FP8 cache to every attention layer and calibrate its key/value scales."""
    run_oneshot(model, tokenizer, calibration, [kv_cache_modifier(spec)])
