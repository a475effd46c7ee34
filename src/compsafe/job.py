"""One job: check the config, get the compressed model, evaluate it, record, log."""

from __future__ import annotations

import copy
import gc
import logging
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from compsafe.compression import CompressionSpec, parse_spec
from compsafe.compression import cache as compressed_cache
from compsafe.compression.calibration import check_calibration_config
from compsafe.compression.layers import measure_sparsity
from compsafe.compression.memory import PeakMemory
from compsafe.compression.pipeline import compress_model, needs_calibration
from compsafe.compression.verify import CompressionMismatch, verify_mask_kept, verify_quantization
from compsafe.evaluation.harness import check_benchmark_config, evaluate, task_specs
from compsafe.models import check_model_config, load_model
from compsafe.models.loading import model_name, resolve_device, resolve_dtype, weights_location
from compsafe.results import (
    COMPLETED,
    ITEMS_DIR,
    ITEMS_STAGING,
    environment,
    new_record,
    read_results,
    write_results,
)
from compsafe.tracking import Tracker, scrub

log = logging.getLogger(__name__)

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


def check_config(cfg: DictConfig) -> CompressionSpec:
    """Every check that needs no weights, so bad input fails before anything heavy runs."""
    check_model_config(cfg.model)
    spec = parse_spec(cfg.compression)
    if needs_calibration(spec):
        check_calibration_config(cfg.calibration)
    check_benchmark_config(cfg.benchmark)
    return spec


def calibration_record(cfg: DictConfig, spec: CompressionSpec) -> dict[str, Any] | None:
    if not needs_calibration(spec):
        return None
    return {k: cfg.calibration[k] for k in CALIBRATION_KEYS}


def compression_record(spec: CompressionSpec, cfg: DictConfig) -> dict[str, Any]:
    quant = spec.quant
    return {
        "method": spec.method,
        "label": spec.label,
        "pattern": spec.pattern_kind,
        "n_m": spec.pattern if spec.n_m else None,
        "target_sparsity": spec.target_sparsity,
        "measured_sparsity": None,
        "seconds": None,
        "targets": list(spec.targets),
        "ignore": list(spec.ignore),
        "args": spec.args,
        "quantize": quant.method if quant else None,
        "calibration": calibration_record(cfg, spec),
        "cache": None,
    }


@dataclass
class Prepared:
    """The model a job evaluates, and where its tokenizer can be loaded from by name."""

    model: Any
    tokenizer: Any
    tokenizer_path: str


def dense_record(loaded) -> dict[str, Any]:
    return {
        "name": loaded.name,
        "path": loaded.path,
        "source": loaded.source,
        "weights_path": loaded.weights_path,
        "parameters": loaded.num_parameters,
        "dtype": loaded.dtype,
        "device": loaded.device,
    }


def cache_entry(cfg: DictConfig, spec: CompressionSpec):
    """(entry folder, key material) of this job's compressed checkpoint."""
    source, weights = weights_location(cfg.model, cfg.paths.cache_dir)
    device = resolve_device(str(cfg.model.device))
    identity = {
        "path": str(cfg.model.path),
        "gguf_file": cfg.model.gguf_file,
        "dtype": resolve_dtype(str(cfg.model.dtype), device),
        "weights": compressed_cache.weights_identity(weights, source, cfg.model.revision),
    }
    digest, material = compressed_cache.cache_key(
        identity, spec, calibration_record(cfg, spec), device
    )
    entry = compressed_cache.entry_dir(cfg.paths.cache_dir, model_name(cfg.model), spec, digest)
    return entry, material


def from_cache(
    cfg: DictConfig, spec: CompressionSpec, entry: Path, record: dict
) -> Prepared | None:
    """A verified model from a complete cache entry, or None (a bad entry is discarded)."""
    manifest = compressed_cache.read_manifest(entry)
    if manifest is None:
        if entry.exists():
            compressed_cache.discard(entry)
        return None
    device = resolve_device(str(cfg.model.device))
    log.info("Compressed model found in the cache: %s", entry)
    model, tokenizer = compressed_cache.load(
        entry, device, resolve_dtype(str(cfg.model.dtype), device)
    )
    saved = manifest["record"]
    try:
        if spec.quant:
            verify_quantization(model, spec)
        if spec.prunes:
            verify_mask_kept(model, spec, saved["sparsity_after_pruning"])
    except CompressionMismatch as err:
        log.warning("Discarding cache entry %s: %s", entry, err)
        compressed_cache.discard(entry)
        return None
    record["model"] = saved["model"]
    record["compression"].update({k: v for k, v in saved.items() if k != "model"})
    record["compression"].update(measure_sparsity(model, spec.targets, spec.ignore))
    return Prepared(model, tokenizer, str(entry))


def compress_fresh(cfg: DictConfig, spec: CompressionSpec, record: dict, timings: dict) -> Prepared:
    """Load the dense model (once per process) and compress a copy of it."""
    started = time.perf_counter()
    loaded = load_model(cfg.model, cfg.paths.cache_dir)
    timings["load"] = time.perf_counter() - started  # ~0 when reused within the process
    record["model"] = dense_record(loaded)
    if spec.method == "none":
        record["compression"].update(measure_sparsity(loaded.model, spec.targets, spec.ignore))
        record["compression"]["seconds"] = 0.0
        return Prepared(loaded.model, loaded.tokenizer, loaded.weights_path)
    started = time.perf_counter()
    model = copy.deepcopy(loaded.model)
    with PeakMemory() as peak:
        stats = compress_model(model, spec, loaded.tokenizer, cfg.calibration)
    record["compression"].update(stats)
    record["compression"]["seconds"] = time.perf_counter() - started
    record["compression"]["peak_memory_mb"] = peak.result()
    return Prepared(model, loaded.tokenizer, loaded.weights_path)


def prepare(cfg: DictConfig, spec: CompressionSpec, record: dict, timings: dict) -> Prepared:
    """The model to evaluate: dense, from the compression cache, or freshly compressed."""
    use_cache = bool(cfg.compression.cache) and spec.method != "none"
    entry = material = None
    if use_cache:
        started = time.perf_counter()
        entry, material = cache_entry(cfg, spec)
        prepared = from_cache(cfg, spec, entry, record)
        if prepared is not None:
            timings["load"] = time.perf_counter() - started
            timings["compress"] = 0.0
            record["compression"]["cache"] = {"hit": True, "path": str(entry)}
            return prepared
    started = time.perf_counter()
    prepared = compress_fresh(cfg, spec, record, timings)
    timings["compress"] = time.perf_counter() - started - timings["load"]
    if use_cache:
        saved = {k: v for k, v in record["compression"].items() if k != "cache"}
        compressed_cache.save(
            prepared.model, prepared.tokenizer, entry, material, {**saved, "model": record["model"]}
        )
        record["compression"]["cache"] = {"hit": False, "path": str(entry)}
    return prepared


def benchmark_record(cfg: DictConfig, samples: dict[str, int]) -> dict[str, Any]:
    return {
        key: {
            "task": spec.task,
            "label": spec.label,
            "options": OmegaConf.to_container(spec.options, resolve=True),
            "samples": samples.get(key),
        }
        for key, spec in task_specs(cfg.benchmark).items()
    }


def release_memory() -> None:
    """Give a dropped compressed copy's memory back before the next job of the sweep."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved config without what differs between two runs of the same job (paths, force)."""
    return {k: v for k, v in config.items() if k not in ("paths", "force")}


def finished_before(output_dir: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The completed record this folder holds for the same resolved config, if any."""
    existing = read_results(output_dir)
    if existing and existing.get("status") == COMPLETED:
        if comparable(existing.get("config") or {}) == comparable(config):
            return existing
        log.warning("%s holds a completed result for another config; running again", output_dir)
    return None


def publish_items(output_dir: Path) -> None:
    """Replace the job's items with the ones this run wrote, only once it has succeeded, so a
    failed or killed rerun leaves the items of the completed result as they were."""
    staging, final = output_dir / ITEMS_STAGING, output_dir / ITEMS_DIR
    if not staging.is_dir():
        return
    previous = output_dir / f"{ITEMS_DIR}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)


def run_job(cfg: DictConfig, output_dir: Path, group: str | None = None) -> dict[str, Any]:
    """Run one job and return its record; `results.json` is written whatever happens.

    A job whose folder already holds a completed result for the same resolved config is
    skipped (a rerun of a sweep resumes), unless `+force=true`.
    """
    start = time.perf_counter()
    spec = check_config(cfg)
    # Credential-like keys never reach results.json or W&B (both take the record's config).
    config = scrub(OmegaConf.to_container(cfg, resolve=True))
    if not cfg.get("force", False) and (done := finished_before(output_dir, config)):
        log.info("Already completed, skipping: %s (+force=true reruns it)", output_dir)
        return done
    record = new_record(config)
    record["compression"] = compression_record(spec, cfg)
    record["environment"] = environment(resolve_device(str(cfg.model.device)))
    name = f"{model_name(cfg.model)}/{spec.label}"
    tracker = Tracker(
        cfg.logger, name=name, group=group, config=record["config"], folder=output_dir
    )
    timings = record["timings"]
    prepared = None
    staging = output_dir / ITEMS_STAGING
    shutil.rmtree(staging, ignore_errors=True)  # left by a run that was killed
    try:
        tracker.start()
        prepared = prepare(cfg, spec, record, timings)
        log.info("Measured sparsity: %.4f", record["compression"]["measured_sparsity"])
        result = evaluate(
            prepared.model,
            prepared.tokenizer,
            prepared.tokenizer_path,
            cfg.benchmark,
            max_length=cfg.model.max_length,
            seed=int(cfg.seed),
            items_dir=staging,
        )
        timings["evaluate"] = result.seconds
        publish_items(output_dir)
        record["metrics"] = result.metrics
        record["benchmarks"] = benchmark_record(cfg, result.samples)
        record["status"] = COMPLETED
    except Exception as err:
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback"] = traceback.format_exc()
        log.error("Job failed: %s", record["error"])
        # Hydra keeps the exception until the sweep ends: drop the frames' model copies now.
        traceback.clear_frames(err.__traceback__)
        raise
    finally:
        prepared = None
        release_memory()
        timings["total"] = time.perf_counter() - start
        path = write_results(output_dir, record)
        log.info("Wrote %s (%s)", path, record["status"])
        try:
            if record["status"] == COMPLETED:
                tracker.log_record(record)
        finally:
            tracker.finish(failed=record["status"] != COMPLETED)
    return record
