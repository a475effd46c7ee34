"""One job: check the config, load the model, compress a copy, evaluate it, record, log."""

from __future__ import annotations

import copy
import gc
import logging
import time
import traceback
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from compsafe.compression import CompressionSpec, get_method, parse_spec
from compsafe.compression.calibration import build_calibration, check_calibration_config
from compsafe.compression.layers import measure_sparsity
from compsafe.evaluation.harness import check_benchmark_config, evaluate, task_specs
from compsafe.models import check_model_config, load_model
from compsafe.models.loading import model_name, resolve_device
from compsafe.results import COMPLETED, environment, new_record, write_results
from compsafe.tracking import Tracker

log = logging.getLogger(__name__)


def check_config(cfg: DictConfig) -> CompressionSpec:
    """Every check that needs no weights, so bad input fails before anything heavy runs."""
    check_model_config(cfg.model)
    spec = parse_spec(cfg.compression)
    if get_method(spec.method).needs_calibration:
        check_calibration_config(cfg.calibration)
    check_benchmark_config(cfg.benchmark)
    return spec


def config_label(spec: CompressionSpec) -> str:
    """A row name for tables: 'dense', 'wanda 50%', 'sparsegpt 2:4'."""
    if spec.method == "none":
        return "dense"
    if spec.n_m:
        return f"{spec.method} {spec.pattern}"
    return f"{spec.method} {spec.target_sparsity:.0%}"


def compression_record(spec: CompressionSpec, cfg: DictConfig) -> dict[str, Any]:
    record: dict[str, Any] = {
        "method": spec.method,
        "label": config_label(spec),
        "pattern": spec.pattern_kind,
        "n_m": spec.pattern if spec.n_m else None,
        "target_sparsity": spec.target_sparsity,
        "measured_sparsity": None,
        "seconds": None,
        "targets": list(spec.targets),
        "ignore": list(spec.ignore),
        "args": spec.args,
        "calibration": None,
    }
    if get_method(spec.method).needs_calibration:
        keys = ("name", "source", "path", "subset", "num_samples", "seq_len", "seed")
        record["calibration"] = {k: cfg.calibration[k] for k in keys}
    return record


def compress(loaded, spec: CompressionSpec, calibration_cfg: DictConfig):
    """A compressed copy of the shared dense model (the dense model itself for `none`)."""
    method = get_method(spec.method)
    if spec.method == "none":
        return loaded.model
    model = copy.deepcopy(loaded.model)
    calibration = None
    if method.needs_calibration:
        calibration = build_calibration(calibration_cfg, loaded.tokenizer)
    log.info("Compressing: %s", config_label(spec))
    method.apply(model, spec, calibration=calibration, tokenizer=loaded.tokenizer)
    return model


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


def run_job(cfg: DictConfig, output_dir: Path, group: str | None = None) -> dict[str, Any]:
    """Run one job and return its record; `results.json` is written whatever happens."""
    start = time.perf_counter()
    spec = check_config(cfg)
    record = new_record(OmegaConf.to_container(cfg, resolve=True))
    record["compression"] = compression_record(spec, cfg)
    record["environment"] = environment(resolve_device(str(cfg.model.device)), cfg.paths.root_dir)
    name = f"{model_name(cfg.model)}/{record['compression']['label']}"
    tracker = Tracker(
        cfg.logger, name=name, group=group, config=record["config"], folder=output_dir
    )
    timings = record["timings"]
    try:
        tracker.start()
        started = time.perf_counter()
        loaded = load_model(cfg.model, cfg.paths.cache_dir)
        timings["load"] = time.perf_counter() - started  # ~0 when reused within the process
        record["model"] = {
            "name": loaded.name,
            "path": loaded.path,
            "source": loaded.source,
            "weights_path": loaded.weights_path,
            "parameters": loaded.num_parameters,
            "dtype": loaded.dtype,
            "device": loaded.device,
        }
        started = time.perf_counter()
        model = compress(loaded, spec, cfg.calibration)
        timings["compress"] = record["compression"]["seconds"] = time.perf_counter() - started
        record["compression"].update(measure_sparsity(model, spec.targets, spec.ignore))
        log.info("Measured sparsity: %.4f", record["compression"]["measured_sparsity"])
        result = evaluate(
            model,
            loaded.tokenizer,
            loaded.weights_path,
            cfg.benchmark,
            max_length=cfg.model.max_length,
            seed=int(cfg.seed),
        )
        timings["evaluate"] = result.seconds
        record["metrics"] = result.metrics
        record["benchmarks"] = benchmark_record(cfg, result.samples)
        record["status"] = COMPLETED
        model = None
        release_memory()
    except Exception as err:
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback"] = traceback.format_exc()
        log.error("Job failed: %s", record["error"])
        # Hydra keeps the exception until the sweep ends: drop the frames' model copies now.
        model = None
        traceback.clear_frames(err.__traceback__)
        release_memory()
        raise
    finally:
        timings["total"] = time.perf_counter() - start
        path = write_results(output_dir, record)
        log.info("Wrote %s (%s)", path, record["status"])
        try:
            if record["status"] == COMPLETED:
                tracker.log_record(record)
        finally:
            tracker.finish(failed=record["status"] != COMPLETED)
    return record
