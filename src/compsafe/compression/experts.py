"""Fused mixture-of-experts weights around llm-compressor: one `nn.Linear` per expert while a
method runs, the model's own fused layout again before anything is measured or saved.

llm-compressor's oneshot unfuses ("linearizes") 3-D expert parameters into `nn.Linear`s so that
its modifiers see every expert, and leaves the model so. A checkpoint saved that way does not
load back (transformers expects the fused keys and initializes the experts afresh), so we
linearize before the first stage that drives llm-compressor (then pruning's mask and GPTQ's
refills are one set of names) and repack after the last. Experts calibrate on every calibration
token (llm-compressor's `moe_calibrate_all_experts`, its default): their statistics do not
depend on the router of a partly pruned model.
"""

from __future__ import annotations

from compsafe.compression.layers import EXPERTS, layer_kind

# What llm-compressor attaches to a quantized Linear; the repacked fused module gets stacked
# copies, which no loader expects: the weights themselves are already on the grid.
QPARAM_SUFFIXES = ("global_scale", "scale", "shape", "zero_point", "g_idx")


def has_fused_experts(model) -> bool:
    return any(layer_kind(module) == EXPERTS for module in model.modules())


def linearize(model) -> bool:
    """Unfuse every fused experts module into one `nn.Linear` per expert matrix; whether any."""
    if not has_fused_experts(model):
        return False
    from llmcompressor.modeling.moe.linearize import linearize_moe

    linearize_moe(model)
    return True


def repack(model) -> None:
    """Fuse linearized experts back into the model's own modules, dropping packed qparams."""
    import sys

    if "llmcompressor" not in sys.modules:
        return  # nothing can have linearized the model
    from llmcompressor.modeling.moe.linearize import get_linearized_moes, repack_moe

    if not get_linearized_moes(model):
        return
    repack_moe(model)
    for module in model.modules():
        if layer_kind(module) != EXPERTS:
            continue
        for name in [n for n, _ in module.named_parameters(recurse=False)]:
            if name.endswith(tuple(f"_{suffix}" for suffix in QPARAM_SUFFIXES)):
                delattr(module, name)
