"""Weight quantization through llm-compressor, shared by the rtn, gptq, awq and int8 modules.

After oneshot the quantized layers run fake-quantized (quantize-dequantize) forwards. We also
write the dequantized values into the weights, so that what is measured and verified (distinct
values per group, sparsity) is exactly what the model computes with.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from compsafe.compression.base import QUANTIZE, CompressionMethod, CompressionSpec, QuantSpec
from compsafe.compression.layers import EXPERTS, LINEAR, target_layers
from compsafe.compression.oneshot import build, import_class, library_limits, run_oneshot


def config_groups(spec: CompressionSpec) -> dict[str, Any]:
    """llm-compressor's `config_groups` for integer weight-only quantization of the targets."""
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    quant = spec.quant
    weights = QuantizationArgs(
        num_bits=quant.bits,
        type="int",
        symmetric=quant.symmetric,
        strategy="group" if quant.group_size else "channel",
        group_size=quant.group_size,
    )
    return {"group_0": QuantizationScheme(targets=list(spec.targets), weights=weights)}


def quantization_modifier(spec: CompressionSpec):
    """Round-to-nearest with min-max scales: llm-compressor's QuantizationModifier."""
    cls = import_class("llmcompressor.modifiers.quantization:QuantizationModifier")
    return build(
        cls,
        "compression",
        config_groups=config_groups(spec),
        ignore=list(spec.ignore),
        kv_cache_scheme=kv_cache_args(spec.kv_cache),
    )


def kv_cache_args(kv_cache: str | None):
    """FP8 E4M3 keys and values with one static (calibrated) scale each per layer: what vLLM's
    `kv_cache_dtype=fp8` serves from a compressed-tensors checkpoint."""
    if kv_cache is None:
        return None
    from compressed_tensors.quantization import QuantizationArgs

    return QuantizationArgs(
        num_bits=8, type="float", strategy="tensor", dynamic=False, symmetric=True
    )


def materialize(model, spec: CompressionSpec) -> None:
    """Store the dequantized weights the quantized forward uses (idempotent on the grid)."""
    import torch

    with torch.no_grad():
        for _, module in target_layers(model, spec.targets, spec.ignore):
            scheme = getattr(module, "quantization_scheme", None)
            if scheme is None or scheme.weights is None:
                continue
            module.weight.copy_(on_grid(module))


def on_grid(module):
    """The layer's weights quantized and dequantized with its own scales (and NVFP4's global
    scale: without it the group scales mean something else)."""
    from compressed_tensors.quantization.lifecycle.forward import fake_quantize

    return fake_quantize(
        module.weight,
        module.weight_scale,
        getattr(module, "weight_zero_point", None),
        module.quantization_scheme.weights,
        global_scale=getattr(module, "weight_global_scale", None),
    )


class OneshotQuantization(CompressionMethod):
    """A quantization recipe run once; subclasses give the recipe and any fixed scheme values."""

    kind = QUANTIZE
    needs_calibration = True
    handles = frozenset({LINEAR, EXPERTS})
    linearizes_experts = True
    fixed: ClassVar[dict[str, Any]] = {}  # scheme values the method defines (int8: 8 bits)

    def resolve(self, quant: QuantSpec) -> QuantSpec:
        return dataclasses.replace(quant, **self.fixed)

    def recipe(self, spec: CompressionSpec) -> list:
        raise NotImplementedError

    def check(self, spec: CompressionSpec) -> None:
        """Any `compression.args` may be the recipe's: `check_arguments` decides."""

    def check_arguments(self, spec: CompressionSpec) -> None:
        self.recipe(spec)  # llm-compressor's modifiers validate their arguments

    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        data = calibration if self.needs_calibration else None
        with library_limits(self.name, model):
            run_oneshot(model, tokenizer, data, self.recipe(spec))
        materialize(model, spec)
