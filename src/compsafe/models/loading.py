"""Resolve a model config to weights, check it cheaply, load it once per process."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compsafe.errors import ConfigError, choices
from compsafe.hub import unavailable_offline
from compsafe.models import gguf, packaged

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")
# Any of these makes a folder's tokenizer loadable by AutoTokenizer.
TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json"}


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    name: str
    path: str  # as configured
    source: str  # packaged | local | hub
    weights_path: str  # what from_pretrained read; also where the tokenizer loads from
    num_parameters: int
    device: str
    dtype: str
    sha256: str | None = None  # of the GGUF file the weights were converted from


def model_source(path: str) -> str:
    """packaged (`pkg:`), local (an existing path, or one written like a path) or hub."""
    if path.startswith(packaged.PREFIX):
        return "packaged"
    if Path(path).expanduser().exists() or path.startswith(("/", "./", "../", "~")):
        return "local"
    return "hub"


def model_name(cfg) -> str:
    """The label in results: the configured name, else the last part of the path."""
    if cfg.name:
        return str(cfg.name)
    path = str(cfg.path)
    if path.startswith(packaged.PREFIX):
        return Path(packaged.parse(path)[1]).stem
    return Path(cfg.gguf_file).stem if cfg.gguf_file else Path(path.rstrip("/")).name


def check_device(device: str) -> None:
    """The device's spelling, and CUDA's presence only when CUDA is asked for: `auto` and
    `cpu` are checked without importing torch (the check path stays light)."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ConfigError("model.device", device, "valid choices: auto, cpu, cuda, cuda:N")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                "model.device", device, "CUDA is not available here; valid: auto, cpu"
            )


def resolve_device(device: str) -> str:
    check_device(device)
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """`auto`: the checkpoint's own dtype on GPU, float32 on CPU (half precision is slow there)."""
    if dtype not in DTYPES:
        raise ConfigError("model.dtype", dtype, choices(DTYPES))
    if dtype == "auto":
        return "float32" if device == "cpu" else "auto"
    return dtype


def _check_hub_cache(cfg) -> None:
    """Offline, a hub id must already be in the local cache; online, the hub decides later."""
    if unavailable_offline(str(cfg.path), cfg.gguf_file or "config.json", cfg.revision):
        raise ConfigError(
            "model.path",
            cfg.path,
            "not a local folder and not in the Hugging Face cache "
            "(HF_HUB_OFFLINE=1); give a local path, `pkg:<package>`, or go online",
        )


def _check_local_checkpoint(path: str, gguf_file: str | None) -> None:
    """A local model is a checkpoint folder whose config.json parses (or a folder holding the
    configured GGUF file): transformers would otherwise fail late, with a traceback."""
    local = Path(path).expanduser()
    if not local.exists():
        raise ConfigError("model.path", path, "no such file or folder")
    if not local.is_dir():
        raise ConfigError(
            "model.path",
            path,
            "a file, not a checkpoint folder; give the folder (with config.json), a hub id, "
            "or a folder plus model.gguf_file",
        )
    if gguf_file:
        if not (local / gguf_file).is_file():
            raise ConfigError("model.gguf_file", gguf_file, f"no such file in {path}")
        return
    config = local / "config.json"
    if not config.is_file():
        raise ConfigError("model.path", path, "folder has no config.json (not a HF checkpoint)")
    try:
        parsed = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError("model.path", path, f"config.json is not valid JSON ({err})") from None
    if not isinstance(parsed, dict):
        raise ConfigError("model.path", path, "config.json does not hold a JSON object")
    names = {p.name for p in local.iterdir()}
    if not any(n.endswith((".safetensors", ".bin")) for n in names):
        raise ConfigError("model.path", path, "no weights in the folder (*.safetensors, *.bin)")
    if not names & TOKENIZER_FILES:
        raise ConfigError(
            "model.path", path, f"no tokenizer in the folder ({', '.join(sorted(TOKENIZER_FILES))})"
        )


def check_model_config(cfg) -> None:
    """Every check that needs no weights: path, packaged file, device, dtype."""
    path = str(cfg.path)
    source = model_source(path)
    if source == "packaged":
        packaged.gguf_path(path)
    elif source == "local":
        _check_local_checkpoint(path, cfg.gguf_file)
    else:
        _check_hub_cache(cfg)
    check_device(str(cfg.device))
    if str(cfg.dtype) not in DTYPES:
        raise ConfigError("model.dtype", cfg.dtype, choices(DTYPES))


def weights_location(cfg, cache_dir: str | Path) -> tuple[str, str]:
    """(source, what from_pretrained reads): a GGUF file (packaged, in a local folder or in a
    hub repo) as the plain checkpoint it is converted to once (`models.gguf`)."""
    path = str(cfg.path)
    source = model_source(path)
    gguf_file = getattr(cfg, "gguf_file", None)
    setting = ("model.gguf_file", gguf_file) if gguf_file else ("model.path", path)
    try:
        if source == "packaged":
            return source, str(packaged.ensure_checkpoint(path, cache_dir))
        if gguf_file:
            found = gguf.located(path, str(gguf_file), source, getattr(cfg, "revision", None))
            return source, str(gguf.file_checkpoint(found, cache_dir))
    except ConfigError:
        raise
    except Exception as err:  # a file transformers cannot convert (a truncated one: struct.error)
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(*setting, f"could not be converted: {reason}") from err
    return source, str(Path(path).expanduser()) if source == "local" else path


_LOADED: dict[tuple, LoadedModel] = {}


def load_model(cfg, cache_dir: str | Path) -> LoadedModel:
    """Load (or reuse, within this process) the model a config names.

    The returned model is shared: callers that change weights must work on a copy.
    """
    device = resolve_device(str(cfg.device))
    dtype = resolve_dtype(str(cfg.dtype), device)
    key = (str(cfg.path), cfg.gguf_file, cfg.revision, dtype, device, bool(cfg.trust_remote_code))
    if key in _LOADED:
        log.info("Reusing the model loaded earlier in this process: %s", cfg.path)
        return _LOADED[key]
    _LOADED.clear()  # keep at most one dense model in memory
    loaded = _load(cfg, cache_dir, device, dtype)
    _LOADED[key] = loaded
    return loaded


def _load(cfg, cache_dir, device: str, dtype: str) -> LoadedModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    path = str(cfg.path)
    source, weights = weights_location(cfg, cache_dir)
    kwargs: dict[str, Any] = {}
    if source != "packaged" and not cfg.gguf_file:  # a GGUF file is read as its conversion
        kwargs = {"revision": cfg.revision, "trust_remote_code": cfg.trust_remote_code}
    log.info("Loading %s (%s, %s on %s)", path, source, dtype, device)
    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(weights, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            weights, dtype=torch_dtype, device_map=device if device != "cpu" else None, **kwargs
        )
    except (OSError, ValueError) as err:  # transformers' words for a checkpoint it cannot read
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError("model.path", path, f"could not be loaded: {reason}") from err
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    log.info("Loaded %s in %.1f s", path, time.perf_counter() - start)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=model_name(cfg),
        path=path,
        source=source,
        weights_path=weights,
        num_parameters=sum(p.numel() for p in model.parameters()),
        device=device,
        dtype=str(model.dtype).removeprefix("torch."),
        sha256=gguf.source_digest(weights),
    )
