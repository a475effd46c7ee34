"""Compress a model in place: pruning, then quantization, each verified before anything is kept."""

from __future__ import annotations

import logging
from typing import Any

from compsafe.compression import experts
from compsafe.compression.base import PRUNE, CompressionSpec, get_method
from compsafe.compression.calibration import build_calibration
from compsafe.compression.formats import quantize_kv_cache
from compsafe.compression.layers import measure_sparsity
from compsafe.compression.verify import (
    check_layer_kinds,
    check_layer_shapes,
    check_targeted,
    refuse_left_dense,
    restore_mask,
    snapshot_mask,
    verify_mask_kept,
    verify_pruning,
)
from compsafe.compression.verify_formats import verify_kv_cache, verify_quantized

log = logging.getLogger(__name__)


def compress_model(model, spec: CompressionSpec, tokenizer, calibration_cfg) -> dict[str, Any]:
    """Apply every stage of `spec` to `model`; returns what was measured and verified."""
    check_layer_kinds(model, spec)  # before any calibration runs
    check_layer_shapes(model, spec)
    asked = measure_sparsity(model, spec.targets, spec.ignore)["targeted_weights"]
    calibration = build_calibration(calibration_cfg, tokenizer) if spec.needs_calibration else None
    stages = [get_method(name) for name in spec.stage_names]
    if any(stage.linearizes_experts for stage in stages) and experts.linearize(model):
        log.info("Unfused the MoE experts: one linear layer per expert matrix")
    try:
        stats = run_stages(model, spec, stages, tokenizer, calibration)
    finally:
        experts.repack(model)
    check_targeted(model, spec, asked)
    stats.update(measure_sparsity(model, spec.targets, spec.ignore))
    if spec.quant:
        stats["quantized_share"] = stats["quantization"]["quantized_share"]
    return stats


def run_stages(model, spec: CompressionSpec, stages, tokenizer, calibration) -> dict[str, Any]:
    """Each stage in turn, each verified; GPTQ's refills of pruned weights zeroed again."""
    stats: dict[str, Any] = {}
    zeros = None
    for stage in stages:
        log.info("Compressing: %s (%s)", spec.label, stage.name)
        stage.apply(model, spec, calibration=calibration, tokenizer=tokenizer)
        if stage.kind == PRUNE:
            refuse_left_dense(model, spec, stage.name)
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
    return stats
