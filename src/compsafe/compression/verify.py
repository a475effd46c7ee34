"""Check that the compressed model is what was asked for, before any number is reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from compsafe.compression.base import NONE, REGISTRY, CompressionSpec
from compsafe.compression.layers import (
    EXPERTS,
    coverage,
    measure_sparsity,
    target_layers,
    target_matrices,
    target_modules,
)
from compsafe.compression.masks import n_m_violations
from compsafe.errors import ConfigError

if TYPE_CHECKING:
    import torch

SPARSITY_TOLERANCE = 0.005  # half a percentage point
# A targeted matrix pruned to less than this share of the target was left out by the method.
LEFT_DENSE = 0.5


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
    for matrix in target_matrices(model, spec.targets, spec.ignore):
        inputs = matrix.weight.shape[1]
        for key, value, divisor in divisors:
            if inputs % divisor:
                raise ConfigError(
                    key,
                    value,
                    f"layer {matrix.name} has {inputs} inputs, not a multiple of {divisor}",
                )


def check_layer_kinds(model, spec: CompressionSpec) -> None:
    """Every targeted layer is of a kind each stage compresses: else one line, right after
    the model loads, naming the layer type and the methods (of the stage's kind) that can."""
    found: dict[str, tuple[str, str]] = {}
    for name, module, kind in target_modules(model, spec.targets, spec.ignore):
        found.setdefault(kind, (name, type(module).__name__))
    for stage in spec.stage_names:
        method = REGISTRY[stage]
        for kind, (name, cls) in found.items():
            if kind in method.handles:
                continue
            able = sorted(n for n, c in REGISTRY.items() if kind in c.handles and c.kind != NONE)
            none_alike = f"no {method.kind} method can; " if method.kind not in kinds(able) else ""
            raise ConfigError(
                "compression.method" if stage == spec.method else "compression.quantize",
                stage,
                f"{cls} layers ({kind}, e.g. {name}) it cannot compress; "
                f"{none_alike}methods that can: {', '.join(able)}",
            )


def kinds(names: list[str]) -> set[str]:
    """The kinds (prune, quantize) of the named methods."""
    return {REGISTRY[n].kind for n in names}


def snapshot_mask(model, spec: CompressionSpec) -> dict[str, torch.Tensor]:
    """Where each targeted weight is zero (kept on CPU), to restore after quantization."""
    return {
        matrix.name: (matrix.weight == 0).cpu()
        for matrix in target_matrices(model, spec.targets, spec.ignore)
    }


def restore_mask(model, spec: CompressionSpec, zeros: dict[str, torch.Tensor]) -> int:
    """Zero again what pruning zeroed (GPTQ's updates refill pruned weights); returns how many."""
    import torch

    refilled = 0
    with torch.no_grad():
        for matrix in target_matrices(model, spec.targets, spec.ignore):
            mask = zeros[matrix.name].to(matrix.weight.device)
            refilled += int((matrix.weight[mask] != 0).sum())
            matrix.weight[mask] = 0
    return refilled


def check_targeted(model, spec: CompressionSpec, asked: int) -> None:
    """The method compressed every weight the spec targets in the model as loaded (`asked`),
    fused experts and Conv1D included: fewer means some layers were left out."""
    now = sum(m.weight.numel() for m in target_matrices(model, spec.targets, spec.ignore))
    if now < asked:
        raise CompressionMismatch(
            f"{spec.label}: targeted {now} of the {asked} weights asked "
            f"(targets {list(spec.targets)}); some layers were left out"
        )


def left_dense(model, spec: CompressionSpec) -> list[str]:
    """The targeted matrices pruned to less than half the target: left out by the method."""
    floor = spec.target_sparsity * LEFT_DENSE
    return [
        m.name
        for m in target_matrices(model, spec.targets, spec.ignore)
        if float((m.weight == 0).float().mean()) < floor
    ]


def refuse_left_dense(model, spec: CompressionSpec, method: str) -> None:
    """Right after a calibrated method prunes: a matrix it left dense is one it never saw run
    (a model that applies a layer through its weight, as Mamba does with dt_proj): one line
    that says how to leave it out, not a failed verification."""
    left = left_dense(model, spec)
    if left:
        raise ConfigError(
            "compression.method",
            method,
            f"{len(left)} targeted matrices left dense, e.g. {left[0]}: the method never saw "
            "them run (the model uses them through their weights); compression.ignore takes "
            "them out, or magnitude prunes them",
        )


def check_none_left_dense(model, spec: CompressionSpec) -> None:
    """No targeted matrix is (nearly) dense: a method that skips experts fails here."""
    left = left_dense(model, spec)
    if left:
        raise CompressionMismatch(
            f"{spec.label}: {len(left)} targeted matrices left (nearly) dense, e.g. {left[0]}"
        )


def verify_pruning(model, spec: CompressionSpec) -> dict[str, Any]:
    """Sparsity within half a point of the target in every matrix's total, no matrix left
    dense, and the N:M pattern held in every group."""
    check_none_left_dense(model, spec)
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
        m.name: n_m_violations(m.weight, *spec.n_m)
        for m in target_matrices(model, spec.targets, spec.ignore)
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


def distinct_per_group(weight: torch.Tensor, group: int | None) -> int:
    """The most distinct values any quantization group of an [out, in] matrix holds."""
    groups = weight.reshape(-1, group) if group else weight
    ordered = groups.sort(dim=1).values
    return int(((ordered[:, 1:] != ordered[:, :-1]).sum(dim=1) + 1).max())


def verify_fused_experts(model, spec: CompressionSpec) -> int:
    """Fused experts carry no scheme once repacked (experts.py): each expert's groups must
    hold at most 2^bits values (their grid, seen from the weights). Returns the weights."""
    quant, weights = spec.quant, 0
    most = 2**quant.bits + (1 if spec.prunes else 0)  # restored zeros may lie off the grid
    for matrix in target_matrices(model, spec.targets, spec.ignore):
        if matrix.kind != EXPERTS:
            continue
        values = distinct_per_group(matrix.weight.detach(), quant.group_size)
        if values > most:
            raise CompressionMismatch(
                f"{spec.label}: {matrix.name} holds {values} values in a group, more than {most}"
            )
        weights += matrix.weight.numel()
    return weights


def on_grid_weights(spec: CompressionSpec, name: str, module) -> int:
    """The layer's weight count, once every weight is checked to sit on its grid."""
    off_grid = quantization_grid_error(module)
    if off_grid:
        raise CompressionMismatch(f"{spec.label}: {off_grid} weights of {name} off the grid")
    return module.weight.numel()


def quantized_share(model, quantized: int) -> float:
    """Quantized weights over all non-embedding weights (what the record calls coverage)."""
    return quantized / coverage(model, 0)["non_embedding_weights"]


def verify_quantization(model, spec: CompressionSpec) -> dict[str, Any]:
    """Every targeted layer carries the asked scheme and its weights lie on its grid (integer
    weight-only; `verify_formats.verify_quantized` dispatches formats to their own checks)."""
    quant = spec.quant
    layers = 0
    quantized = verify_fused_experts(model, spec)
    for name, module in target_layers(model, spec.targets, spec.ignore):
        scheme = getattr(module, "quantization_scheme", None)
        args = scheme.weights if scheme is not None else None
        if args is None:
            raise CompressionMismatch(f"{spec.label}: layer {name} was left unquantized")
        if args.num_bits != quant.bits or args.group_size != quant.group_size:
            raise CompressionMismatch(
                f"{spec.label}: layer {name} got {args.num_bits} bits, group {args.group_size}"
            )
        layers += 1
        quantized += on_grid_weights(spec, name, module)
    return {
        "method": quant.method,
        "bits": quant.bits,
        "group_size": quant.group_size,
        "symmetric": quant.symmetric,
        "strategy": "group" if quant.group_size else "channel",
        "layers": layers,
        "quantized_share": quantized_share(model, quantized),
    }
