"""GBLM-Pruner (Das et al. 2023, "Beyond Size: How Gradients Shape Pruning Decisions in LLMs").

Score per weight: |W| * ||X_j||_2 + |W| * G, where ||X_j|| is the norm of the layer's j-th input
over the calibration set (Wanda's term, gathered layer by layer on the partly pruned model) and
G = sqrt(sum over samples of (scale * dL/dW)^2), the l2 norm of the dense model's per-sample
gradients of the language-modelling loss (scale 100, as the authors' code). Weights with the
lowest scores are pruned per output row, or per group for N:M. No library ships it: we compute
the gradients, then reuse llm-compressor's Wanda pipeline with our score.

Mixture-of-experts models run unfused (experts.py), so each expert's matrices are layers of
their own. An expert's gradient term sums over the tokens the router sends it; an expert that
no calibration token reaches gets a zero gradient term, so its score is Wanda's, |W| * ||X_j||,
with input norms over every calibration token (llm-compressor calibrates all experts).
"""

from __future__ import annotations

import logging

from compsafe.compression.base import CompressionSpec, register
from compsafe.compression.layers import target_layers
from compsafe.compression.masks import n_m_mask, row_mask
from compsafe.compression.oneshot import OneshotPruning, library_limits, run_oneshot

log = logging.getLogger(__name__)


def gradient_norms(model, spec: CompressionSpec, calibration, scale: float) -> dict:
    """{module: l2 norm over calibration samples of scale * per-sample weight gradients}."""
    import torch
    from tqdm.auto import tqdm

    layers = dict(target_layers(model, spec.targets, spec.ignore))
    trainable = {p: p.requires_grad for p in model.parameters()}
    for param in model.parameters():
        param.requires_grad_(False)
    sums = {}
    for module in layers.values():
        module.weight.requires_grad_(True)
        sums[module] = torch.zeros_like(module.weight, dtype=torch.float32)
    device = next(model.parameters()).device
    try:
        for sample in tqdm(calibration["input_ids"], desc="GBLM gradients"):
            ids = torch.tensor([sample], device=device)
            model(input_ids=ids, labels=ids).loss.backward()
            for module, total in sums.items():
                if module.weight.grad is None:
                    continue  # an expert no token of this sample was routed to
                total += (module.weight.grad.float() * scale) ** 2
                module.weight.grad = None
    finally:
        for param, flag in trainable.items():
            param.requires_grad_(flag)
    return {module: total.sqrt_() for module, total in sums.items()}


def _gblm_modifier_class():
    """Wanda's modifier with the GBLM score (defined lazily: importing llm-compressor is slow)."""
    import torch
    from compressed_tensors.utils import update_offload_parameter
    from llmcompressor.modifiers.pruning import WandaPruningModifier
    from pydantic import PrivateAttr

    class GBLMPruningModifier(WandaPruningModifier):
        gradient_scale: float = 100.0
        _gradients: dict = PrivateAttr(default_factory=dict)

        def compress_modules(self) -> None:
            for module in list(self._num_samples):
                with torch.no_grad():
                    weight = module.weight.float()
                    activation = self._row_scalars.pop(module).sqrt().reshape(1, -1)
                    gradient = self._gradients.pop(module).to(weight.device)
                    scores = weight.abs() * (activation.to(weight.device) + gradient)
                    if self._prune_n:
                        m = self._prune_m
                        keep = n_m_mask(scores, m - self._prune_n, m)
                    else:
                        keep = row_mask(scores, self._module_sparsities[module])
                    pruned = (weight * keep).to(module.weight.dtype)
                update_offload_parameter(module, "weight", pruned)
                del self._num_samples[module]

    return GBLMPruningModifier


@register
class GBLM(OneshotPruning):
    name = "gblm"

    def modifier_class(self):
        return _gblm_modifier_class()

    def apply(self, model, spec: CompressionSpec, calibration=None, tokenizer=None) -> None:
        if calibration is None:
            raise ValueError("gblm needs calibration data")
        modifier = self.build_modifier(spec)
        log.info("GBLM: gradients of the dense model over %d samples", len(calibration))
        modifier._gradients = gradient_norms(model, spec, calibration, modifier.gradient_scale)
        with library_limits(self.name, model):
            run_oneshot(model, tokenizer, calibration, [modifier])
