"""Language-model scores of generated text, computed from the items after lm-eval has run.

Continuation perplexity: how likely a REFERENCE model finds each continuation, given its
prompt. One fixed model judges every config of a sweep (`benchmark.reference_model`, see
`reference.py`). The evaluated model's own judgement is kept as `continuation_perplexity_self`,
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

import math
from typing import Any

from compsafe.evaluation.groups import group_metrics
from compsafe.evaluation.reference import Reference
from compsafe.results.aggregations import aggregation
from compsafe.results.items import add_value

Span = tuple[list[int], list[int]]  # (context token ids, target token ids)

# The metrics computed here, after lm-eval, declared for the metric catalogue as a task YAML
# declares its own; each item keeps its value under the metric's name.
ITEM_METRICS: dict[str, dict[str, Any]] = {
    "continuation_perplexity": {
        "title": "continuation ppl (reference model)",
        "higher_is_better": False,
        "aggregation": "nll_perplexity",  # per item: [NLL sum, tokens] of its continuations
    },
    "continuation_perplexity_self": {
        "title": "continuation ppl (self)",
        "higher_is_better": None,  # falls as text breaks into loops: no agreed direction
        "aggregation": "nll_perplexity",
    },
    "prompt_perplexity": {
        "title": "prompt ppl",
        "higher_is_better": False,
        "aggregation": "geometric_mean",  # per item: exp of its mean token loss
    },
}


def span_nll(model, rows: list[Span], pad: int, batch_size: int, desc: str):
    """(negative log-likelihood sum, token count) of each target given its context, in the
    order given (batched by `span_batches`)."""
    out: list[tuple[float, int]] = [(0.0, 0)] * len(rows)
    for chunk in span_batches(rows, batch_size, desc):
        for i, value in zip(chunk, _batch_nll(model, [rows[i] for i in chunk], pad), strict=True):
            out[i] = value
    return out


def span_batches(rows: list[Span], batch_size: int, desc: str):
    """The rows' indices in batches, longest first, so rows of like length share a batch
    (less padding); with a progress bar when there is more than one batch."""
    from tqdm.auto import tqdm

    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]) - len(rows[i][1]))
    starts = range(0, len(rows), batch_size)
    for start in tqdm(starts, desc=desc, disable=len(starts) < 2):
        yield order[start : start + batch_size]


def right_padded(model, rows: list[Span], pad: int):
    """(input ids, attention mask) of the rows' context + target, right-padded to the longest,
    on the model's device."""
    import torch

    device = next(model.parameters()).device
    batch = [context + target for context, target in rows]
    width = max(len(r) for r in batch)
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in batch], device=device)
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in batch], device=device)
    return ids, mask


def _batch_nll(model, rows: list[Span], pad: int) -> list[tuple[float, int]]:
    """One forward pass over right-padded rows; (0, 0) for an empty target or context."""
    import torch

    ids, mask = right_padded(model, rows, pad)
    with torch.inference_mode():
        logprobs = model(input_ids=ids, attention_mask=mask).logits.float().log_softmax(-1)
    out = []
    for row, (context, target) in enumerate(rows):
        begin, length = len(context), len(target)
        if length == 0 or begin == 0:
            out.append((0.0, 0))
            continue
        positions = torch.arange(begin - 1, begin - 1 + length, device=ids.device)
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


def _continuation_pairs(examples: list[dict]) -> list[tuple[str, str]]:
    return [(e["arguments"][0][0], out["text"]) for e in examples for out in e["filtered_resps"][0]]


def _attach(examples: list[dict], detail: str, metric: str, values: list[tuple[float, int]]):
    """Each example's per-continuation [NLL, tokens] under `detail` (for audits) and their sum
    as its value of `metric`; returns the metric over all examples."""
    values = iter(values)
    for example in examples:
        mine = [next(values) for _ in example["filtered_resps"][0]]
        example[detail] = mine
        add_value(example, metric, [sum(v[0] for v in mine), sum(v[1] for v in mine)])
    return _aggregate(metric, [e[metric] for e in examples])


def _aggregate(metric: str, values: list) -> float:
    return aggregation(ITEM_METRICS[metric]["aggregation"])(values)


def continuation_metrics(
    key: str, examples: list[dict], model, tokenizer, reference: Reference | None, batch_size: int
) -> dict[str, float]:
    """`continuation_perplexity` (the reference model's) and `continuation_perplexity_self`;
    per item `continuation_nll` and `continuation_nll_self`, [NLL sum, tokens] per
    continuation."""
    pairs = _continuation_pairs(examples)
    own = continuation_nll(model, tokenizer, pairs, batch_size, "Continuation perplexity (self)")
    name = "continuation_perplexity_self"
    metrics = {f"{key}/{name}": _attach(examples, "continuation_nll_self", name, own)}
    if reference is not None:
        judge, judge_tokenizer = reference()
        scored = own  # the dense model judging itself: the same numbers, not computed twice
        if judge is not model:
            desc = "Continuation perplexity (reference)"
            scored = continuation_nll(judge, judge_tokenizer, pairs, batch_size, desc)
        name = "continuation_perplexity"
        metrics[f"{key}/{name}"] = _attach(examples, "continuation_nll", name, scored)
    return metrics


def prompt_metrics(
    key: str, examples: list[dict], model, tokenizer, group_by: list[str], batch_size: int
) -> dict[str, float]:
    """`prompt_perplexity` overall and per group; per item its own (exp of its mean token
    loss; items whose prompt has no token to score have none)."""
    values = prompt_nll(model, tokenizer, [e["arguments"][0][0] for e in examples], batch_size)
    for example, (nll, tokens) in zip(examples, values, strict=True):
        if tokens:
            add_value(example, "prompt_perplexity", math.exp(nll / tokens))
    scored = [e["prompt_perplexity"] for e in examples if "prompt_perplexity" in e]
    aggregate = {"prompt_perplexity": aggregation(ITEM_METRICS["prompt_perplexity"]["aggregation"])}
    return {
        f"{key}/prompt_perplexity": _aggregate("prompt_perplexity", scored),
        **group_metrics(key, examples, aggregate, group_by),
    }
