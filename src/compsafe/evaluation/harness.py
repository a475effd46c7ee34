"""Evaluate an in-memory model through `lm_eval.simple_evaluate` with our task folder."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from compsafe.evaluation.options import NAMESPACE, make_options
from compsafe.evaluation.specs import (
    TASKS_DIR,
    needs_builtin,
    our_task_names,
    plain_options,
    task_options,
    task_specs,
)

log = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    metrics: dict[str, float]
    samples: dict[str, int] = field(default_factory=dict)  # items scored per task key
    # per task key: its catalogue (`results.catalogue.TaskEntry.to_record()`), what the task
    # decided at run time (`details`) and the document field displays show (`prompt_field`)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0


def build_task_manager(cfg, tokenizer_path: str):
    """A TaskManager over our folder (plus lm-eval's own tasks only when a config asks for one)."""
    from lm_eval.tasks import TaskManager

    metadata = {
        "tokenizer": tokenizer_path,
        NAMESPACE: {spec.task: plain_options(spec) for spec in task_specs(cfg).values()},
    }
    return TaskManager(
        include_path=str(TASKS_DIR), include_defaults=needs_builtin(cfg), metadata=metadata
    )


def load_tasks(cfg, task_manager) -> tuple[list, dict[str, Any]]:
    """Task specs for lm-eval: our tasks as objects with the options' runtime settings applied
    (samples per prompt, generation kwargs, few-shot), built-in tasks by name."""
    ours = our_task_names()
    specs = task_specs(cfg)
    objects = {}
    names = [spec.task for spec in specs.values() if spec.task in ours]
    if names:
        objects = task_manager.load(names)["tasks"]
    for spec in specs.values():
        if spec.task not in objects:
            continue
        options = make_options(task_options()[spec.task], plain_options(spec), spec.task)
        for setting, value in getattr(options, "runtime_config", dict)().items():
            objects[spec.task].set_config(key=setting, value=value)
    requested = [objects.get(spec.task, spec.task) for spec in specs.values()]
    return requested, objects


# The float32 logits one log-likelihood batch may hold (lm-eval's log-softmax makes a second
# copy): 16 windows of 512 tokens over Gemma-3's 262,144-token vocabulary hold 8 GiB, and the
# job was killed for memory on a 24 GiB machine, without a word (2026-12-06). SmolLM2's
# quickstart batches (16 x 512 x 49,152, 1.5 GiB) and Llama-2's (16 x 2,048 x 32,000, 3.9 GiB)
# stay under it, so their batches, and numbers, are unchanged.
LOGITS_BUDGET = 4 * 2**30


def capped_batch_size(batch_size: int, longest: int, vocabulary: int) -> int:
    """The largest batch, up to `batch_size`, whose padded logits (`longest` positions over
    `vocabulary` tokens, float32) fit LOGITS_BUDGET; at least 1."""
    if longest <= 0 or vocabulary <= 0:
        return batch_size
    return max(1, min(batch_size, LOGITS_BUDGET // (longest * vocabulary * 4)))


def _vocabulary(model) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    weight = getattr(head, "weight", None)
    if weight is not None:
        return int(weight.shape[0])
    return int(getattr(model.config, "vocab_size", 0) or 0)


def in_memory_lm(model, tokenizer, batch_size: int, generation_batch_size: int, max_length):
    """lm-eval's HFLM over the in-memory model, with its own batch size for generation
    (on 2 CPU cores, SmolLM2: 16 is fastest for log-likelihoods, 32 for generation), and
    log-likelihood batches capped where their logits would not fit LOGITS_BUDGET."""
    import torch
    from lm_eval.models.huggingface import HFLM

    class InMemoryLM(HFLM):
        capped_to: int | None = None

        def _model_call(self, *args, **kwargs):
            with torch.inference_mode():  # lighter than lm-eval's no_grad; nothing needs autograd
                return super()._model_call(*args, **kwargs)

        def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, override_bs=None):
            scoring = self.batch_size_per_gpu
            lengths = (min(len(r[1]) + len(r[2]), self.max_length) for r in requests)
            longest = max(lengths, default=0)
            cap = scoring
            if isinstance(scoring, int):
                cap = capped_batch_size(scoring, longest, _vocabulary(self.model))
            if cap == scoring:
                return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
            if self.capped_to != cap:
                log.warning(
                    "Log-likelihood batches of %d capped to %d: %d tokens over a %d-token "
                    "vocabulary would hold more than %.0f GiB of logits",
                    scoring, cap, longest, _vocabulary(self.model), LOGITS_BUDGET / 2**30,
                )  # fmt: skip
                self.capped_to = cap
            self.batch_size_per_gpu = cap
            try:
                return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
            finally:
                self.batch_size_per_gpu = scoring

        def generate_until(self, requests, disable_tqdm: bool = False):
            scoring = self.batch_size_per_gpu
            self.batch_size_per_gpu = generation_batch_size
            try:
                return super().generate_until(requests, disable_tqdm=disable_tqdm)
            finally:
                self.batch_size_per_gpu = scoring

    return InMemoryLM(
        pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length
    )


def evaluate(
    model,
    tokenizer,
    tokenizer_path: str,
    cfg,
    max_length: int | None = None,
    seed: int = 0,
    items_dir=None,
    reference=None,
) -> EvaluationResult:
    """Run every task of a benchmark config on the model as it is in memory.

    Per-item outputs go to `items_dir/<task key>.jsonl` when a folder is given. `reference`
    loads the model that judges continuations (`reference.reference_loader`); without one
    only the model's own continuation perplexity is computed. lm-eval's own bootstrap standard
    errors are turned off: the report computes every metric's uncertainty from the items.
    """
    import lm_eval

    from compsafe.evaluation.collect import flatten_results, item_metrics, task_records

    start = time.perf_counter()
    batch_size = int(cfg.batch_size)
    lm = in_memory_lm(model, tokenizer, batch_size, int(cfg.generation_batch_size), max_length)
    task_manager = build_task_manager(cfg, tokenizer_path)
    requested, objects = load_tasks(cfg, task_manager)
    log.info("Evaluating %s", ", ".join(spec.task for spec in task_specs(cfg).values()))
    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=requested,
        task_manager=task_manager,
        limit=cfg.limit,
        bootstrap_iters=0,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        log_samples=True,
    )
    metrics, samples = flatten_results(results, cfg)
    metrics.update(
        item_metrics(model, tokenizer, results, cfg, objects, items_dir, batch_size, reference)
    )
    tasks = task_records(results, cfg, objects, metrics)
    return EvaluationResult(metrics, samples, tasks, time.perf_counter() - start)
