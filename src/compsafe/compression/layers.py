"""Which weight matrices a spec targets, and how sparse they are (the model's coverage).

A "matrix" is one [out, in] linear map, whatever stores it: an `nn.Linear` weight, GPT-2's
`Conv1D` weight (stored transposed, [in, out]: we hand out its transpose, a view), or one
expert's slice of a fused mixture-of-experts parameter (transformers 5 stores the experts of
Mixtral, Qwen3-MoE, DeepSeek or gpt-oss as 3-D parameters [experts, out, in], or [experts, in,
out] when the module says `is_transposed`). Every view shares storage with its parameter, so a
method that writes a mask into it prunes the model. Targets match as llm-compressor matches
modules (class names, `re:` names); a `Linear` target also takes Conv1D and fused experts, which
are linear maps in another layout, so that "Linear" means every linear map, as it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

LINEAR, CONV1D, EXPERTS = "linear", "conv1d", "fused experts"
# The 3-D parameters a fused experts module (transformers' `use_experts_implementation`) holds.
EXPERT_PARAMS = ("gate_up_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Matrix:
    """One targeted linear map: its name, the module holding it, its layout kind, and the
    weight as an [out, in] view of the stored parameter."""

    name: str
    module: Any
    kind: str
    weight: torch.Tensor


def expert_parameters(module) -> list[str]:
    """The names of a module's fused 3-D expert parameters ([] for any other module)."""
    import torch

    return [
        name
        for name in EXPERT_PARAMS
        if isinstance(getattr(module, name, None), torch.nn.Parameter)
        and getattr(module, name).dim() == 3
    ]


def layer_kind(module) -> str | None:
    """LINEAR, CONV1D or EXPERTS for a module that holds linear maps, else None."""
    import torch

    if expert_parameters(module):
        return EXPERTS
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        return None
    return CONV1D if type(module).__name__ == "Conv1D" else LINEAR


def _targeted(name: str, module, kind: str, targets: list[str], ignore: list[str]) -> bool:
    from compressed_tensors.utils import is_match

    if is_match(name, module, targets, ignore):
        return True
    return kind != LINEAR and "Linear" in targets and not is_match(name, module, ignore)


def target_modules(
    model: torch.nn.Module, targets: Iterable[str], ignore: Iterable[str]
) -> Iterator[tuple[str, torch.nn.Module, str]]:
    """(name, module, kind) of every targeted module that holds linear maps."""
    targets, ignore = list(targets), list(ignore)
    for name, module in model.named_modules():
        kind = layer_kind(module)
        if kind and _targeted(name, module, kind, targets, ignore):
            yield name, module, kind


def target_matrices(
    model: torch.nn.Module, targets: Iterable[str], ignore: Iterable[str]
) -> Iterator[Matrix]:
    """Every targeted [out, in] matrix, one per expert for fused experts."""
    for name, module, kind in target_modules(model, targets, ignore):
        if kind == LINEAR:
            yield Matrix(name, module, kind, module.weight)
        elif kind == CONV1D:
            yield Matrix(name, module, kind, module.weight.t())
        else:
            transposed = bool(getattr(module, "is_transposed", False))
            for param in expert_parameters(module):
                stacked = getattr(module, param)
                for index in range(stacked.shape[0]):
                    weight = stacked[index].t() if transposed else stacked[index]
                    yield Matrix(f"{name}.{param}[{index}]", module, kind, weight)


def target_layers(
    model: torch.nn.Module, targets: Iterable[str], ignore: Iterable[str]
) -> Iterator[tuple[str, torch.nn.Module]]:
    """(name, module) of every targeted `nn.Linear`-like module (what llm-compressor's
    modifiers see and quantize); Conv1D and fused experts are in `target_matrices` only."""
    for name, module, kind in target_modules(model, targets, ignore):
        if kind == LINEAR:
            yield name, module


# Quantization parameters llm-compressor registers beside a weight (weight_scale, ...): not
# weights of the model, so not counted in its size.
QPARAM_ENDINGS = ("_scale", "_zero_point", "_g_idx", "_shape")


def non_embedding_parameters(model: torch.nn.Module) -> list[torch.Tensor]:
    """Every weight but those of embeddings (input, position, and the output head), once."""
    import torch

    embeddings = [m for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    skip = {id(p) for m in [*embeddings, output] if m is not None for p in m.parameters()}
    seen, kept = set(), []
    for name, param in model.named_parameters():
        if name.rpartition(".")[2].endswith(QPARAM_ENDINGS):
            continue
        if id(param) not in skip and id(param) not in seen:
            seen.add(id(param))
            kept.append(param)
    return kept


def coverage(model: torch.nn.Module, targeted_weights: int) -> dict[str, float | int]:
    """The share of all non-embedding weights that were targeted, and their overall sparsity
    (zeros over all of them): what "50 %" means for the whole model."""
    params = non_embedding_parameters(model)
    total = sum(p.numel() for p in params)
    zeros = sum(int((p.detach() == 0).sum()) for p in params)
    return {
        "non_embedding_weights": total,
        "targeted_share": targeted_weights / total if total else 0.0,
        "overall_sparsity": zeros / total if total else 0.0,
    }


def measure_sparsity(
    model: torch.nn.Module, targets: Iterable[str], ignore: Iterable[str]
) -> dict[str, float | int]:
    """Share of exact zeros over the targeted matrices, overall and its per-matrix min/max,
    with the model's coverage (`coverage`)."""
    zeros = total = 0
    per_layer = []
    for matrix in target_matrices(model, targets, ignore):
        weight = matrix.weight.detach()
        layer_zeros = int((weight == 0).sum())
        zeros, total = zeros + layer_zeros, total + weight.numel()
        per_layer.append(layer_zeros / weight.numel())
    return {
        "measured_sparsity": zeros / total if total else 0.0,
        "min_layer_sparsity": min(per_layer, default=0.0),
        "max_layer_sparsity": max(per_layer, default=0.0),
        "layers": len(per_layer),
        "targeted_weights": total,
        **coverage(model, total),
    }
