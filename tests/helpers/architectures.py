"""Tiny random models of the architectures people compress, built from transformers configs
(no hub): hidden size 64, one or two layers, the tiny Llama's tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DIMS = {"hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4}
ATTENTION = {**DIMS, "num_key_value_heads": 2, "intermediate_size": 128}
MOE = {"num_experts_per_tok": 2}


def _configs() -> dict:
    """{name: (config class, its arguments)}: the architectures the matrix covers."""
    import transformers as t

    return {
        "llama": (t.LlamaConfig, ATTENTION),
        "qwen2": (t.Qwen2Config, ATTENTION),
        "qwen3": (t.Qwen3Config, {**ATTENTION, "head_dim": 16}),
        "gemma2": (t.Gemma2Config, {**ATTENTION, "head_dim": 16}),
        "gemma3": (t.Gemma3TextConfig, {**ATTENTION, "head_dim": 16}),
        "phi3": (t.Phi3Config, ATTENTION),
        "gpt2": (t.GPT2Config, {"n_embd": 64, "n_layer": 1, "n_head": 4, "n_positions": 512}),
        "gpt_neox": (t.GPTNeoXConfig, {**DIMS, "intermediate_size": 128}),
        "opt": (t.OPTConfig, {**DIMS, "ffn_dim": 128, "word_embed_proj_dim": 64}),
        "mixtral": (t.MixtralConfig, {**ATTENTION, **MOE, "num_local_experts": 4}),
        "qwen3_moe": (
            t.Qwen3MoeConfig,
            {**ATTENTION, **MOE, "num_experts": 4, "moe_intermediate_size": 64, "head_dim": 16},
        ),
        "mamba": (t.MambaConfig, {"hidden_size": 64, "num_hidden_layers": 1, "state_size": 16}),
        "deepseek_v3": (
            t.DeepseekV3Config,
            {
                **ATTENTION,
                **MOE,
                "num_key_value_heads": 4,  # multi-head latent attention: one per head
                "moe_intermediate_size": 64,
                "n_routed_experts": 4,
                "n_shared_experts": 1,
                "n_group": 1,
                "topk_group": 1,
                "first_k_dense_replace": 0,
                "q_lora_rank": 32,
                "kv_lora_rank": 32,
                "qk_rope_head_dim": 16,
                "qk_nope_head_dim": 16,
                "v_head_dim": 16,
            },
        ),
        "gpt_oss": (
            t.GptOssConfig,
            {**ATTENTION, **MOE, "num_local_experts": 4, "head_dim": 16, "sliding_window": 16},
        ),
    }


ARCHITECTURES = (
    "llama",
    "qwen2",
    "qwen3",
    "gemma2",
    "gemma3",
    "phi3",
    "gpt2",
    "gpt_neox",
    "opt",
    "mixtral",
    "qwen3_moe",
    "mamba",
    "deepseek_v3",
    "gpt_oss",
)
MOE_ARCHITECTURES = ("mixtral", "qwen3_moe", "deepseek_v3", "gpt_oss")


def build_architecture(name: str, tokenizer_dir: Path, folder: Path) -> Path:
    """A random-weight `name` model with the tokenizer of `tokenizer_dir`, saved in `folder`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    cls, args = _configs()[name]
    config = cls(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        **args,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def linear_maps(model) -> dict[str, torch.Tensor]:
    """Every [out, in] linear map of the model but the head, found without compsafe's matcher:
    Linear weights, Conv1D weights transposed, one slice per expert of 3-D expert parameters."""
    import torch

    maps = {}
    for name, module in model.named_modules():
        if name.endswith("lm_head"):
            continue
        if isinstance(module, torch.nn.Linear):
            maps[name] = module.weight.detach()
        elif type(module).__name__ == "Conv1D":
            maps[name] = module.weight.detach().t()
        for pname, param in module.named_parameters(recurse=False):
            if param.dim() == 3 and "experts" in name:
                transposed = getattr(module, "is_transposed", False)
                for e, weight in enumerate(param.detach()):
                    maps[f"{name}.{pname}[{e}]"] = weight.t() if transposed else weight
    return maps


def distinct_per_group(weight: torch.Tensor, group: int | None) -> int:
    """The most distinct values in any quantization group (a row when `group` is None)."""
    rows = weight.reshape(-1, group) if group else weight
    return max(len(row.unique()) for row in rows)
