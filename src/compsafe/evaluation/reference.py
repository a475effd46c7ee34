"""The one model that judges every config's continuations (`benchmark.reference_model`).

`dense` (the default) is the job's own uncompressed model; any other value is a model loaded
by path, `pkg:` or hub id, as the paper's Mistral-7B; null: only the evaluated model's own
judgement. Checked before any weights load; loaded on first use, once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from compsafe.errors import ConfigError

log = logging.getLogger(__name__)

DENSE = "dense"  # benchmark.reference_model: the job's own uncompressed model
Reference = Callable[[], tuple[Any, Any]]  # loads (model, tokenizer) when first needed


def check_reference(value: str | None) -> None:
    """`benchmark.reference_model`: null (self-scoring only), `dense`, or a model that can
    load here (a local checkpoint, `pkg:`, or a hub id in the cache when offline)."""
    from omegaconf import OmegaConf

    from compsafe.models import check_model_config

    if value is None or value == DENSE:
        return
    cfg = OmegaConf.create(
        {"path": str(value), "gguf_file": None, "revision": None, "dtype": "auto", "device": "cpu"}
    )
    try:
        check_model_config(cfg)
    except ConfigError as err:
        raise ConfigError("benchmark.reference_model", value, err.expected) from None


def reference_loader(cfg) -> Reference | None:
    """How a job gets its reference model (loaded on first use; None: no reference).

    `dense` comes from `compsafe.models.load_model`, which keeps the dense model of this
    process: a freshly compressed job already holds it (the copy was made from it), so only a
    job whose compressed model came from the cache loads it, once per process; that is the
    memory a fresh compression takes anyway. Another model loads on the model's device and
    dtype and is likewise kept (one at a time)."""
    choice = cfg.benchmark.get("reference_model", DENSE)
    if choice is None:
        return None
    if choice in (DENSE, str(cfg.model.path)):
        return lambda: _dense(cfg)
    return lambda: _other(cfg, str(choice))


def _dense(cfg) -> tuple[Any, Any]:
    from compsafe.models import load_model

    loaded = load_model(cfg.model, str(cfg.paths.cache_dir))
    return loaded.model, loaded.tokenizer


_OTHER: dict[tuple, tuple[Any, Any]] = {}  # the one other reference model of this process


def _other(cfg, path: str) -> tuple[Any, Any]:
    """A reference model other than the dense one, loaded once per process."""
    import torch
    from omegaconf import OmegaConf
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from compsafe.models.loading import resolve_device, resolve_dtype, weights_location

    device = resolve_device(str(cfg.model.device))
    dtype = resolve_dtype(str(cfg.model.dtype), device)
    key = (path, device, dtype)
    if key not in _OTHER:
        _OTHER.clear()
        where = OmegaConf.create({"path": path, "revision": None})
        _, weights = weights_location(where, str(cfg.paths.cache_dir))
        log.info("Loading the reference model %s (%s on %s)", path, dtype, device)
        model = AutoModelForCausalLM.from_pretrained(
            weights,
            dtype=dtype if dtype == "auto" else getattr(torch, dtype),
            device_map=device if device != "cpu" else None,
        )
        _OTHER[key] = (model.eval(), AutoTokenizer.from_pretrained(weights))
    return _OTHER[key]
