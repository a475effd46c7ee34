"""One job: check the config, prepare the model, evaluate it, record the result, track it."""

from __future__ import annotations

import gc
import logging
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from compsafe.check import check_config
from compsafe.evaluation.harness import evaluate
from compsafe.evaluation.reference import reference_loader
from compsafe.evaluation.specs import task_specs
from compsafe.models.loading import model_name, resolve_device
from compsafe.results.environment import environment
from compsafe.results.items import publish_items, staging_dir
from compsafe.results.record import COMPLETED, is_current, new_record, read_results, write_results
from compsafe.tracking import Tracker, scrub

if TYPE_CHECKING:
    from compsafe.compression.prepare import Preparation

log = logging.getLogger(__name__)
# Tracebacks of failed jobs go to the job's log file only (conf/config.yaml routes this
# logger there); the screen gets one line, and results.json keeps the traceback too.
traceback_log = logging.getLogger("compsafe.traceback")


def benchmark_record(
    cfg: DictConfig, samples: dict[str, int], tasks: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """`benchmarks` of results.json: per task key, what was asked (task, label, options), how
    many items were scored, and what the evaluation says of the task (its metric catalogue,
    run-time details)."""
    return {
        key: {
            **(tasks or {}).get(key, {}),
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
    if not existing or existing.get("status") != COMPLETED:
        return None
    if not is_current(existing):
        log.warning("%s holds a result of an older compsafe; running again", output_dir)
    elif comparable(existing.get("config") or {}) == comparable(config):
        return existing
    else:
        log.warning("%s holds a completed result for another config; running again", output_dir)
    return None


def run_job(cfg: DictConfig, output_dir: Path, group: str | None = None) -> dict[str, Any]:
    """Run one job and return its record; `results.json` is written whatever happens.

    A job whose folder already holds a completed result for the same resolved config is
    skipped (a rerun of a sweep resumes), unless `+force=true`.
    """
    start = time.perf_counter()
    preparation = check_config(cfg)
    # Credential-like keys never reach results.json or W&B (both take the record's config).
    config = scrub(OmegaConf.to_container(cfg, resolve=True))
    if not cfg.get("force", False) and (done := finished_before(output_dir, config)):
        log.info("Already completed, skipping: %s (+force=true reruns it)", output_dir)
        return done
    record = new_record(config)
    record["compression"] = preparation.record()
    record["environment"] = environment(resolve_device(str(cfg.model.device)))
    name = f"{model_name(cfg.model)}/{preparation.label}"
    tracker = Tracker(cfg.logger, name=name, group=group, config=config, folder=output_dir)
    try:
        tracker.start()
        prepare_and_evaluate(cfg, preparation, record, output_dir)
    except Exception as err:
        reason = timeout_behind(err)
        note_failure(record, reason)
        if reason is not err:  # the time limit, re-wrapped by a library: raise it as itself
            traceback.clear_frames(err.__traceback__)
            raise reason from None
        raise
    finally:
        record["timings"]["total"] = time.perf_counter() - start
        finish(record, output_dir, tracker)
    return record


def prepare_and_evaluate(
    cfg: DictConfig, preparation: Preparation, record: dict[str, Any], output_dir: Path
) -> None:
    """Get the model, evaluate it (items into the staging folder), publish the items, fill in."""
    staging = staging_dir(output_dir)
    prepared = preparation.prepare(record)
    log_sparsity(record["compression"])
    result = evaluate(
        prepared.model,
        prepared.tokenizer,
        prepared.tokenizer_path,
        cfg.benchmark,
        max_length=cfg.model.max_length,
        seed=int(cfg.seed),
        items_dir=staging,
        reference=reference_loader(cfg),
    )
    record["timings"]["evaluate"] = result.seconds
    publish_items(output_dir)
    record["metrics"] = result.metrics
    record["benchmarks"] = benchmark_record(cfg, result.samples, result.tasks)
    record["status"] = COMPLETED


def log_sparsity(facts: dict[str, Any]) -> None:
    """The measured sparsity, with the model's coverage where it was measured."""
    line = f"Measured sparsity: {facts['measured_sparsity']:.4f}"
    if facts.get("targeted_share") is not None:
        line += (
            f" of the targeted weights ({100 * facts['targeted_share']:.1f} % of the"
            f" non-embedding weights), {facts['overall_sparsity']:.4f} overall"
        )
    log.info(line)


def timeout_behind(err: BaseException) -> BaseException:
    """submitit's `UncompletedJobError` when it is behind `err`, else `err`. Its signal handler
    raises it wherever the job is when SLURM's time limit comes; a library that catches any
    error and raises its own (transformers turns an error while building tensors into "Unable
    to create tensor ... padding") would otherwise record a tokenizer fault as the reason."""
    seen, found = set(), err
    while found is not None and id(found) not in seen:
        if type(found).__name__ == "UncompletedJobError":
            return found
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return err


def note_failure(record: dict[str, Any], err: Exception) -> None:
    """The error in the record and one line on screen; the traceback in results.json and
    the job's log file."""
    record["error"] = f"{type(err).__name__}: {err}"
    record["traceback"] = traceback.format_exc()
    log.error("Job failed: %s", record["error"])
    traceback_log.error(record["traceback"])
    # Hydra keeps the exception until the sweep ends: drop the frames' model copies now.
    traceback.clear_frames(err.__traceback__)


def finish(record: dict[str, Any], output_dir: Path, tracker: Tracker) -> None:
    """Free the compressed copy, write results.json, log the run to W&B and close it."""
    release_memory()
    path = write_results(output_dir, record)
    log.info("Wrote %s (%s)", path, record["status"])
    try:
        if record["status"] == COMPLETED:
            tracker.log_record(record)
    finally:
        tracker.finish(failed=record["status"] != COMPLETED)
