"""Verification of weight-and-activation formats and of the FP8 KV cache, as `verify.py` does
for integer weights: the scheme asked is the one applied, weights lie on the format's grid
(FP8 E4M3 or E2M1 values times their scales), scales have the format's shape and kind (FP8
group scales for NVFP4, powers of two for MXFP4, one per block for FP8 block), and the
forward quantizes the input activations, so what is evaluated is the format as served.
"""

from __future__ import annotations

import math
from typing import Any

from compsafe.compression.base import CompressionSpec, get_method
from compsafe.compression.layers import target_layers
from compsafe.compression.verify import (
    CompressionMismatch,
    on_grid_weights,
    quantized_share,
    verify_quantization,
)

# QuantizationArgs fields that define a format (observers and dtypes of zero points do not).
DEFINING = ("num_bits", "type", "strategy", "group_size", "block_structure", "dynamic")


def value(field) -> str:
    """An enum's value or the string pydantic stored in its place."""
    return str(getattr(field, "value", field))


def describe(args) -> str | None:
    """'float8 token dynamic', 'int4 group 64', 'float4 tensor_group 16 local' for records."""
    if args is None:
        return None
    parts = [f"{args.type}{args.num_bits}", value(args.strategy)]
    if args.group_size:
        parts.append(str(args.group_size))
    if args.block_structure:
        parts.append("x".join(map(str, args.block_structure)))
    dynamic = {True: "dynamic", False: "static"}.get(args.dynamic, str(args.dynamic))
    return " ".join([*parts, "local" if dynamic not in ("dynamic", "static") else dynamic])


def differences(found, expected) -> list[str]:
    if found is None or expected is None:
        return [] if found is expected else [f"{found!r} != {expected!r}"]
    return [
        f"{key} {getattr(found, key)} != {getattr(expected, key)}"
        for key in DEFINING
        if getattr(found, key) != getattr(expected, key)
    ]


def scale_errors(module) -> str | None:
    """What is wrong with the layer's weight scales, if anything."""
    import torch

    args, scale = module.quantization_scheme.weights, module.weight_scale.detach().float()
    rows, cols = module.weight.shape
    if not torch.isfinite(scale).all() or (scale <= 0).any():
        return "a scale that is not finite and positive"
    strategy = value(args.strategy)
    if strategy in ("group", "tensor_group"):
        expected = (rows, cols // args.group_size)
    elif strategy == "block":
        side_r, side_c = args.block_structure
        expected = (math.ceil(rows / side_r), math.ceil(cols / side_c))
    elif strategy == "channel":
        expected = (rows, 1)
    else:
        expected = (1,)
    if tuple(scale.shape) != expected:
        return f"scales of shape {tuple(scale.shape)}, expected {expected}"
    fp8_scales = args.scale_dtype == torch.float8_e4m3fn  # NVFP4: FP8 group scales
    if fp8_scales and not torch.equal(scale.to(torch.float8_e4m3fn).float(), scale):
        return "group scales not representable in FP8 E4M3"
    e8m0_scales = args.scale_dtype == torch.uint8  # MXFP4 / MXFP8: E8M0, powers of two
    if e8m0_scales and not torch.equal(torch.exp2(torch.log2(scale).round()), scale):
        return "group scales that are not powers of two"
    return None


def activation_errors(module, expected) -> str | None:
    """The input activations are quantized in the forward as the format says."""
    import torch

    scheme = module.quantization_scheme
    if expected is None:
        return None
    enabled = getattr(module, "quantization_enabled", True)  # what the forward tests
    status = getattr(module, "quantization_status", None)
    if not hasattr(module.forward, "__wrapped__") or not enabled or status is None:
        return "a forward that does not quantize its inputs"
    wrong = differences(scheme.input_activations, expected)
    if wrong:
        return "input activations " + ", ".join(wrong)
    for name in ("input_scale", "input_global_scale"):
        value = getattr(module, name, None)
        if value is not None and (not torch.isfinite(value).all() or (value <= 0).any()):
            return f"a calibrated {name} that is not finite and positive"
    if expected.dynamic is False and getattr(module, "input_scale", None) is None:
        return "no calibrated input scale"
    return None


def verify_quantized(model, spec: CompressionSpec) -> dict[str, Any]:
    """The quantization stage's checks: a format's, or integer weight-only ones."""
    if spec.quant.scheme is not None:
        return verify_format(model, spec)
    return verify_quantization(model, spec)


def verify_format(model, spec: CompressionSpec) -> dict[str, Any]:
    """Every targeted layer carries the format's scheme, its grid, its scales and a forward
    that quantizes its input activations; one line on the first failure."""
    quant = spec.quant
    expected = get_method(quant.method).scheme(spec)
    layers = quantized = 0
    for name, module in target_layers(model, spec.targets, spec.ignore):
        scheme = getattr(module, "quantization_scheme", None)
        if scheme is None or scheme.weights is None:
            raise CompressionMismatch(f"{spec.label}: layer {name} was left unquantized")
        wrong = differences(scheme.weights, expected.weights)
        problem = (
            ("weights " + ", ".join(wrong) if wrong else None)
            or scale_errors(module)
            or activation_errors(module, expected.input_activations)
        )
        if problem:
            raise CompressionMismatch(f"{spec.label}: layer {name} has {problem}")
        layers += 1
        quantized += on_grid_weights(spec, name, module)
    return {
        "method": quant.method,
        "format": quant.scheme,
        "bits": quant.bits,
        "group_size": quant.group_size,
        "symmetric": quant.symmetric,
        "weights": describe(expected.weights),
        "activations": describe(expected.input_activations),
        "layers": layers,
        "quantized_share": quantized_share(model, quantized),
    }


def verify_kv_cache(model, spec: CompressionSpec) -> dict[str, Any]:
    """Every attention layer quantizes the keys and values it caches, with calibrated scales."""
    import torch
    from compressed_tensors.modeling.kvcache import KV_CACHE_ATTR

    from compsafe.compression.quantization import kv_cache_args

    expected = kv_cache_args(spec.kv_cache)
    layers = 0
    for name, module in model.named_modules():
        if not hasattr(module, KV_CACHE_ATTR):
            continue
        args = getattr(getattr(module, "quantization_scheme", None), "input_activations", None)
        wrong = differences(args, expected)
        scales = [getattr(module, key, None) for key in ("k_scale", "v_scale")]
        if wrong or any(s is None or not torch.isfinite(s).all() or (s <= 0).any() for s in scales):
            detail = ", ".join(wrong) or "no calibrated k/v scale"
            raise CompressionMismatch(f"{spec.label}: attention {name} cache: {detail}")
        layers += 1
    if not layers:
        raise CompressionMismatch(f"{spec.label}: no attention layer quantizes its KV cache")
    return {"format": spec.kv_cache, "args": describe(expected), "layers": layers}
