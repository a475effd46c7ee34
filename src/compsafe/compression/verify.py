"""Check that the compressed model is what was asked for, before any number is reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from compsafe.compression.base import CompressionSpec
from compsafe.compression.layers import measure_sparsity, target_layers
from compsafe.compression.masks import n_m_violations
from compsafe.errors import ConfigError

if TYPE_CHECKING:
    import torch

SPARSITY_TOLERANCE = 0.005  # half a percentage point


class CompressionMismatch(RuntimeError):
    """The model does not match the requested compression: its numbers would be misleading."""


def check_layer_shapes(model, spec: CompressionSpec) -> None:
    """N:M and quantization groups must divide every targeted layer's input size."""
    divisors = []
    if spec.n_m:
        divisors.append(("compression.pattern", spec.pattern, spec.n_m[1]))
    if spec.quant and spec.quant.group_size:
        size, quant = spec.quant.group_size, spec.quant
        fixed = quant.scheme is not None and not quant.group_label  # nvfp4's 16, mxfp4's 32
        key, value = ("compression", quant.method) if fixed else ("compression.group_size", size)
        divisors.append((key, value, size))
    for name, module in target_layers(model, spec.targets, spec.ignore):
        inputs = module.weight.shape[1]
        for key, value, divisor in divisors:
            if inputs % divisor:
                raise ConfigError(
                    key, value, f"layer {name} has {inputs} inputs, not a multiple of {divisor}"
                )


def snapshot_mask(model, spec: CompressionSpec) -> dict[str, torch.Tensor]:
    """Where each targeted weight is zero (kept on CPU), to restore after quantization."""
    return {
        name: (module.weight == 0).cpu()
        for name, module in target_layers(model, spec.targets, spec.ignore)
    }


def restore_mask(model, spec: CompressionSpec, zeros: dict[str, torch.Tensor]) -> int:
    """Zero again what pruning zeroed (GPTQ's updates refill pruned weights); returns how many."""
    import torch

    refilled = 0
    with torch.no_grad():
        for name, module in target_layers(model, spec.targets, spec.ignore):
            mask = zeros[name].to(module.weight.device)
            refilled += int((module.weight[mask] != 0).sum())
            module.weight[mask] = 0
    return refilled


def verify_pruning(model, spec: CompressionSpec) -> dict[str, Any]:
    """Sparsity within half a point of the target, and the N:M pattern held in every group."""
    stats = measure_sparsity(model, spec.targets, spec.ignore)
    gap = abs(stats["measured_sparsity"] - spec.target_sparsity)
    if gap > SPARSITY_TOLERANCE:
        raise CompressionMismatch(
            f"{spec.label}: measured sparsity {stats['measured_sparsity']:.4f}, "
            f"target {spec.target_sparsity:.4f} (tolerance {SPARSITY_TOLERANCE})"
        )
    if spec.n_m:
        check_n_m(model, spec)
        stats["n_m_valid"] = True
    return stats


def check_n_m(model, spec: CompressionSpec) -> None:
    """Every group of M consecutive input weights holds at most N non-zeros."""
    bad = {
        name: n_m_violations(module.weight, *spec.n_m)
        for name, module in target_layers(model, spec.targets, spec.ignore)
    }
    bad = {name: count for name, count in bad.items() if count}
    if bad:
        name, count = next(iter(bad.items()))
        raise CompressionMismatch(
            f"{spec.label}: {sum(bad.values())} groups break {spec.pattern} "
            f"({count} in {name}, {len(bad)} layers)"
        )


def verify_mask_kept(model, spec: CompressionSpec, after_pruning: float) -> None:
    """After quantization the pruned weights are still zero (rounding may only add zeros)."""
    final = measure_sparsity(model, spec.targets, spec.ignore)["measured_sparsity"]
    if final < after_pruning:
        raise CompressionMismatch(
            f"{spec.label}: sparsity fell from {after_pruning:.4f} to {final:.4f}"
        )
    if spec.n_m:
        check_n_m(model, spec)


def quantization_grid_error(module) -> int:
    """How many weights lie off the layer's quantization grid (0 for a quantized layer)."""
    from compsafe.compression.quantization import on_grid

    return int((on_grid(module) != module.weight).sum())


def verify_quantization(model, spec: CompressionSpec) -> dict[str, Any]:
    """Every targeted layer carries the asked scheme and its weights lie on its grid (integer
    weight-only; `verify_formats.verify_quantized` dispatches formats to their own checks)."""
    quant = spec.quant
    layers = 0
    for name, module in target_layers(model, spec.targets, spec.ignore):
        scheme = getattr(module, "quantization_scheme", None)
        args = scheme.weights if scheme is not None else None
        if args is None:
            raise CompressionMismatch(f"{spec.label}: layer {name} was left unquantized")
        if args.num_bits != quant.bits or args.group_size != quant.group_size:
            raise CompressionMismatch(
                f"{spec.label}: layer {name} got {args.num_bits} bits, group {args.group_size}"
            )
        off_grid = quantization_grid_error(module)
        if off_grid:
            raise CompressionMismatch(f"{spec.label}: {off_grid} weights of {name} off the grid")
        layers += 1
    return {
        "method": quant.method,
        "bits": quant.bits,
        "group_size": quant.group_size,
        "symmetric": quant.symmetric,
        "strategy": "group" if quant.group_size else "channel",
        "layers": layers,
    }
