"""Language-model scores of generated text, computed from the items after lm-eval has run.

Continuation perplexity: how likely a REFERENCE model finds each continuation, given its
prompt. One fixed model judges every config of a sweep (`benchmark.reference_model`: `dense`,
the job's own uncompressed model, by default; or any model by path or hub id, as the paper's
Mistral-7B). The evaluated model's own judgement is kept as `continuation_perplexity_self`,
but it cannot show broken text: a greedy repetition loop is the model's own top choice, so it
scores near 1, and a pruned model looked more fluent than the dense one while its degenerate
share tripled.

We condition on the prompt, the paper (`evaluate_continuation_perplexity`) does not: the
prompts end mid-sentence (RTP, BOLD), and a continuation scored alone would be charged for
starting mid-sentence, whatever its quality; given the prompt it is charged only for being an
unlikely continuation of it. The values are therefore not comparable with the paper's, and the
aggregate is token-weighted (exp of total NLL over total tokens), where the paper averages
per-item losses.

Prompt perplexity (the paper's `evaluate_prompt_perplexity`): the EVALUATED model's loss on
each prompt; exp of the mean per-item loss, overall and per group.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import torch
from tqdm.auto import tqdm

from compsafe.errors import ConfigError

log = logging.getLogger(__name__)

DENSE = "dense"  # benchmark.reference_model: the job's own uncompressed model
Reference = Callable[[], tuple[Any, Any]]  # loads (model, tokenizer) when first needed
Span = tuple[list[int], list[int]]  # (context token ids, target token ids)


def span_nll(model, rows: list[Span], pad: int, batch_size: int, desc: str):
    """(negative log-likelihood sum, token count) of each target given its context, in the
    order given; batched longest first, so rows of like length share a batch (less padding)."""
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]) - len(rows[i][1]))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(rows)
    starts = range(0, len(rows), batch_size)
    for start in tqdm(starts, desc=desc, disable=len(starts) < 2):
        chunk = order[start : start + batch_size]
        for i, value in zip(chunk, _batch_nll(model, [rows[i] for i in chunk], pad), strict=True):
            out[i] = value
    return out


@torch.inference_mode()
def _batch_nll(model, rows: list[Span], pad: int) -> list[tuple[float, int]]:
    """One forward pass over right-padded rows; (0, 0) for an empty target or context."""
    device = next(model.parameters()).device
    batch = [context + target for context, target in rows]
    width = max(len(r) for r in batch)
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in batch], device=device)
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in batch], device=device)
    logprobs = model(input_ids=ids, attention_mask=mask).logits.float().log_softmax(-1)
    out = []
    for row, (context, target) in enumerate(rows):
        begin, length = len(context), len(target)
        if length == 0 or begin == 0:
            out.append((0.0, 0))
            continue
        positions = torch.arange(begin - 1, begin - 1 + length, device=device)
        chosen = logprobs[row, positions].gather(-1, ids[row, begin : begin + length, None])
        out.append((float(-chosen.sum()), length))
    return out


def _prefix_and_pad(tokenizer) -> tuple[list[int], int]:
    prefix = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return prefix, tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def continuation_nll(
    model,
    tokenizer,
    pairs: list[tuple[str, str]],
    batch_size: int = 8,
    desc: str = "Continuation perplexity",
):
    """(NLL sum, token count) of each continuation given its prompt (after BOS)."""
    prefix, pad = _prefix_and_pad(tokenizer)
    rows = [
        (
            prefix + tokenizer.encode(prompt, add_special_tokens=False),
            tokenizer.encode(continuation, add_special_tokens=False),
        )
        for prompt, continuation in pairs
    ]
    return span_nll(model, rows, pad, batch_size, desc)


def prompt_nll(model, tokenizer, prompts: list[str], batch_size: int = 8):
    """(NLL sum, token count) of each prompt as the paper computes it: the causal LM loss with
    labels = the tokenizer's own ids (with BOS where it adds one: Llama; else from the second
    token on, as SmolLM2's), so every token after the first is scored."""
    _, pad = _prefix_and_pad(tokenizer)
    ids = [tokenizer(p).input_ids for p in prompts]
    return span_nll(model, [(i[:1], i[1:]) for i in ids], pad, batch_size, "Prompt perplexity")


def perplexity(values: list[tuple[float, int]]) -> float:
    """Token-weighted: exp(sum of NLL / sum of tokens)."""
    tokens = sum(n for _, n in values)
    return math.exp(sum(nll for nll, _ in values) / tokens) if tokens else float("nan")


def geometric_mean(values: list[float]) -> float:
    """exp(mean log): over per-item perplexities, exp of the mean per-item loss (the paper's
    prompt perplexity)."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


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


_OTHER: dict[tuple, tuple[Any, Any]] = {}


def _other(cfg, path: str) -> tuple[Any, Any]:
    """A reference model other than the dense one, loaded once per process."""
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


def _continuation_pairs(examples: list[dict]) -> list[tuple[str, str]]:
    return [(e["arguments"][0][0], out["text"]) for e in examples for out in e["filtered_resps"][0]]


def _attach(examples: list[dict], name: str, values: list[tuple[float, int]]) -> None:
    """Each example's per-continuation values under `name`, in order."""
    values = iter(values)
    for example in examples:
        example[name] = [next(values) for _ in example["filtered_resps"][0]]


def continuation_metrics(
    key: str, examples: list[dict], model, tokenizer, reference: Reference | None, batch_size: int
) -> dict[str, float]:
    """`continuation_perplexity` (the reference model's) and `continuation_perplexity_self`;
    per item `continuation_nll` and `continuation_nll_self`, [NLL sum, tokens] each."""
    pairs = _continuation_pairs(examples)
    own = continuation_nll(model, tokenizer, pairs, batch_size, "Continuation perplexity (self)")
    _attach(examples, "continuation_nll_self", own)
    metrics = {f"{key}/continuation_perplexity_self": perplexity(own)}
    if reference is not None:
        judge, judge_tokenizer = reference()
        scored = own  # the dense model judging itself: the same numbers, not computed twice
        if judge is not model:
            desc = "Continuation perplexity (reference)"
            scored = continuation_nll(judge, judge_tokenizer, pairs, batch_size, desc)
        _attach(examples, "continuation_nll", scored)
        metrics[f"{key}/continuation_perplexity"] = perplexity(scored)
    return metrics


def prompt_metrics(
    key: str, examples: list[dict], model, tokenizer, group_by: list[str], batch_size: int
) -> dict[str, float]:
    """`prompt_perplexity` overall and per group; per item `prompt_perplexity` (exp of its
    mean token loss)."""
    from compsafe.evaluation.items import group_metrics

    values = prompt_nll(model, tokenizer, [e["arguments"][0][0] for e in examples], batch_size)
    for example, (nll, tokens) in zip(examples, values, strict=True):
        if tokens:
            example["prompt_perplexity"] = math.exp(nll / tokens)
    scored = [e["prompt_perplexity"] for e in examples if "prompt_perplexity" in e]
    aggregate = {"prompt_perplexity": geometric_mean}
    return {
        f"{key}/prompt_perplexity": geometric_mean(scored),
        **group_metrics(key, examples, aggregate, group_by),
    }
