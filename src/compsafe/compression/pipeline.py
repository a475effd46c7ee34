"""Compress a model in place: pruning, then quantization, each verified before anything is kept."""

from __future__ import annotations

import logging
from typing import Any

from compsafe.compression.base import PRUNE, CompressionSpec, get_method
from compsafe.compression.calibration import build_calibration
from compsafe.compression.formats import quantize_kv_cache
from compsafe.compression.layers import measure_sparsity
from compsafe.compression.verify import (
    check_layer_shapes,
    restore_mask,
    snapshot_mask,
    verify_mask_kept,
    verify_pruning,
)
from compsafe.compression.verify_formats import verify_kv_cache, verify_quantized

log = logging.getLogger(__name__)


def compress_model(model, spec: CompressionSpec, tokenizer, calibration_cfg) -> dict[str, Any]:
    """Apply every stage of `spec` to `model`; returns what was measured and verified."""
    check_layer_shapes(model, spec)  # before any calibration runs
    calibration = build_calibration(calibration_cfg, tokenizer) if spec.needs_calibration else None
    stats: dict[str, Any] = {}
    zeros = None
    for stage in map(get_method, spec.stage_names):
        log.info("Compressing: %s (%s)", spec.label, stage.name)
        stage.apply(model, spec, calibration=calibration, tokenizer=tokenizer)
        if stage.kind == PRUNE:
            stats["sparsity_after_pruning"] = verify_pruning(model, spec)["measured_sparsity"]
            zeros = snapshot_mask(model, spec) if spec.quant else None
        else:
            if zeros is not None:
                stats["refilled_weights"] = restore_mask(model, spec, zeros)
            stats["quantization"] = verify_quantized(model, spec)
    if spec.kv_cache and not spec.quant:  # a quantizer's own recipe carries the cache scheme
        log.info("Compressing: %s (KV cache %s)", spec.label, spec.kv_cache)
        quantize_kv_cache(model, spec, calibration, tokenizer)
    if spec.kv_cache:
        stats["kv_cache_quantization"] = verify_kv_cache(model, spec)
    if spec.prunes and spec.quant:
        verify_mask_kept(model, spec, stats["sparsity_after_pruning"])
    stats.update(measure_sparsity(model, spec.targets, spec.ignore))
    return stats
