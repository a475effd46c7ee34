"""The model a job evaluates: the dense model, a verified cached checkpoint, or a fresh copy.

One owner for that decision and for the cache protocol around it (look the entry up, verify
what it holds, discard a bad one; otherwise compress a copy and save it), so a job only asks
for its model. `check_compression` runs before any weights load; `Preparation.prepare` fills
the `model`, `compression` and `timings` parts of the job's record as it goes, so a failure
halfway still leaves what was known in `results.json`.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compsafe.compression import cache
from compsafe.compression.base import CompressionSpec, parse_spec
from compsafe.compression.calibration import check_calibration_config
from compsafe.compression.experts import has_fused_experts
from compsafe.compression.formats import kv_cache_modifier
from compsafe.compression.layers import measure_sparsity
from compsafe.compression.memory import PeakMemory
from compsafe.compression.pipeline import compress_model
from compsafe.compression.verify import CompressionMismatch, verify_mask_kept
from compsafe.compression.verify_formats import verify_kv_cache, verify_quantized
from compsafe.models.loading import (
    load_model,
    model_name,
    resolve_device,
    resolve_dtype,
    weights_location,
)

log = logging.getLogger(__name__)

# The calibration settings that determine the weights (recorded, and part of the cache key).
CALIBRATION_KEYS = (
    "name",
    "source",
    "path",
    "subset",
    "data_files",
    "split",
    "text_field",
    "num_samples",
    "seq_len",
    "seed",
)


@dataclass
class Prepared:
    """The model to evaluate, and where its tokenizer loads from by name (lm-eval asks)."""

    model: Any
    tokenizer: Any
    tokenizer_path: str


def check_compression(cfg, arguments: bool = True) -> Preparation:
    """Validate the compression (and its calibration, when a stage needs one); no weights.
    `arguments`: let llm-compressor validate `compression.args` too (imports it)."""
    spec = parse_spec(cfg.compression, arguments)
    if arguments and spec.kv_cache:
        kv_cache_modifier(spec)  # llm-compressor validates the cache scheme
    if spec.needs_calibration:
        check_calibration_config(cfg.calibration)
    return Preparation(spec, cfg.model, cfg.compression, cfg.calibration, str(cfg.paths.cache_dir))


@dataclass(frozen=True)
class Preparation:
    """A job's checked compression; `prepare` produces the model it evaluates."""

    spec: CompressionSpec
    model_cfg: Any
    compression_cfg: Any
    calibration_cfg: Any
    cache_dir: str

    @property
    def label(self) -> str:
        """The row name in tables and W&B: 'dense', 'wanda 50%', 'gptq w4 g64'."""
        return self.spec.label

    def calibration_record(self) -> dict[str, Any] | None:
        if not self.spec.needs_calibration:
            return None
        return {k: self.calibration_cfg[k] for k in CALIBRATION_KEYS}

    def record(self) -> dict[str, Any]:
        """The `compression` part of results.json as asked; `prepare` adds what was measured."""
        spec, quant = self.spec, self.spec.quant
        return {
            "method": spec.method,
            "label": spec.label,
            "pattern": spec.pattern_kind,
            "n_m": spec.pattern if spec.n_m else None,
            "target_sparsity": spec.target_sparsity,
            "measured_sparsity": None,
            "targeted_share": None,
            "overall_sparsity": None,
            "quantized_share": None,
            "seconds": None,
            "targets": list(spec.targets),
            "ignore": list(spec.ignore),
            "args": spec.args,
            "quantize": quant.method if quant else None,
            "format": quant.scheme if quant else None,
            "kv_cache": spec.kv_cache,
            "calibration": self.calibration_record(),
            "cache": None,
        }

    def prepare(self, record: dict[str, Any]) -> Prepared:
        """Dense, from the compression cache, or freshly compressed (then saved to the cache)."""
        timings = record["timings"]
        use_cache = bool(self.compression_cfg.cache) and self.spec.compresses
        if use_cache and not self.spec.cacheable:
            log.info("%s: not cached (its checkpoint does not reload exactly)", self.label)
            use_cache = False
        entry = material = None
        if use_cache:
            started = time.perf_counter()
            entry, material = self._cache_entry()
            prepared = self._from_cache(entry, record)
            if prepared is not None:
                timings["load"] = time.perf_counter() - started
                timings["compress"] = 0.0
                record["compression"]["cache"] = {"hit": True, "path": str(entry)}
                return prepared
        started = time.perf_counter()
        prepared = self._compress_fresh(record)
        timings["compress"] = time.perf_counter() - started - timings["load"]
        if use_cache and self.spec.quant and has_fused_experts(prepared.model):
            # compressed-tensors saves quantized fused experts under names it does not load
            log.warning("Not caching %s: quantized MoE experts do not reload", self.label)
            record["compression"]["cache"] = {"hit": False, "path": None}
        elif use_cache:
            saved = {k: v for k, v in record["compression"].items() if k != "cache"}
            saved["model"] = record["model"]
            cache.save(prepared.model, prepared.tokenizer, entry, material, saved)
            record["compression"]["cache"] = {"hit": False, "path": str(entry)}
        return prepared

    def _device_and_dtype(self) -> tuple[str, str]:
        device = resolve_device(str(self.model_cfg.device))
        return device, resolve_dtype(str(self.model_cfg.dtype), device)

    def _cache_entry(self) -> tuple[Path, dict[str, Any]]:
        """(entry folder, key material) of this job's compressed checkpoint."""
        cfg = self.model_cfg
        source, weights = weights_location(cfg, self.cache_dir)
        device, dtype = self._device_and_dtype()
        identity = {
            "path": str(cfg.path),
            "gguf_file": cfg.gguf_file,
            "dtype": dtype,
            "weights": cache.weights_identity(weights, source, cfg.revision),
        }
        digest, material = cache.cache_key(identity, self.spec, self.calibration_record(), device)
        return cache.entry_dir(self.cache_dir, model_name(cfg), self.spec, digest), material

    def _from_cache(self, entry: Path, record: dict[str, Any]) -> Prepared | None:
        """A verified model from a complete entry, or None (a bad entry is discarded)."""
        manifest = cache.read_manifest(entry)
        if manifest is None:
            if entry.exists():
                cache.discard(entry)
            return None
        log.info("Compressed model found in the cache: %s", entry)
        model, tokenizer = cache.load(entry, *self._device_and_dtype())
        saved = manifest["record"]
        try:
            if self.spec.quant:
                verify_quantized(model, self.spec)
            if self.spec.prunes:
                verify_mask_kept(model, self.spec, saved["sparsity_after_pruning"])
            if self.spec.kv_cache:
                verify_kv_cache(model, self.spec)
        except CompressionMismatch as err:
            log.warning("Discarding cache entry %s: %s", entry, err)
            cache.discard(entry)
            return None
        record["model"] = saved["model"]
        record["compression"].update({k: v for k, v in saved.items() if k != "model"})
        record["compression"].update(measure_sparsity(model, self.spec.targets, self.spec.ignore))
        return Prepared(model, tokenizer, str(entry))

    def _compress_fresh(self, record: dict[str, Any]) -> Prepared:
        """Load the dense model (once per process) and compress a copy of it."""
        started = time.perf_counter()
        loaded = load_model(self.model_cfg, self.cache_dir)
        record["timings"]["load"] = time.perf_counter() - started  # ~0 when reused
        record["model"] = dense_record(loaded)
        spec, facts = self.spec, record["compression"]
        if not spec.compresses:
            facts.update(measure_sparsity(loaded.model, spec.targets, spec.ignore))
            facts["seconds"] = 0.0
            return Prepared(loaded.model, loaded.tokenizer, loaded.weights_path)
        started = time.perf_counter()
        model = copy.deepcopy(loaded.model)
        with PeakMemory() as peak:
            facts.update(compress_model(model, spec, loaded.tokenizer, self.calibration_cfg))
        facts["seconds"] = time.perf_counter() - started
        facts["peak_memory_mb"] = peak.result()
        return Prepared(model, loaded.tokenizer, loaded.weights_path)


def dense_record(loaded) -> dict[str, Any]:
    """The `model` part of results.json: what was loaded, from where, how large."""
    return {
        "name": loaded.name,
        "path": loaded.path,
        "source": loaded.source,
        "weights_path": loaded.weights_path,
        "sha256": loaded.sha256,  # of a GGUF source file; None for other checkpoints
        "parameters": loaded.num_parameters,
        "dtype": loaded.dtype,
        "device": loaded.device,
    }
