"""How far a compressed model's next-token predictions moved from dense's, token by token.

Perplexity says how likely the text is; two models can give it the same perplexity and still
disagree on many next tokens (Dutta et al. 2024, "Accuracy is not all you need"; llama.cpp's
`--kl-divergence`). On each perplexity window, the dense model (the job's reference model)
and the evaluated model read the same tokens; per window the job keeps the summed
KL(dense || evaluated) of their next-token distributions and the number of positions where
their top-1 tokens agree, each with the token count, so the report can aggregate by tokens:
`kl_divergence` (nats per token) and `top1_agreement` (share of tokens).
"""

from __future__ import annotations

from typing import Any

from compsafe.evaluation.reference import Reference
from compsafe.results.items import add_value

METRICS: dict[str, dict[str, Any]] = {
    "kl_divergence": {
        "title": "KL divergence from dense (nats per token)",
        "higher_is_better": False,
        "aggregation": "token_mean",  # per item: [KL sum, tokens]
    },
    "top1_agreement": {
        "title": "top-1 agreement with dense",
        "higher_is_better": True,
        "aggregation": "token_mean",  # per item: [agreeing positions, tokens]
    },
}


def _window(model, ids):
    """Log-probabilities of the next token at every position of one window."""
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0]
    return logits.float().log_softmax(-1)


def window_divergence(model, judge, tokenizer, text: str) -> tuple[float, float, int]:
    """(KL sum, agreeing positions, positions) of the evaluated model from the judge over
    the tokens of one window, each predicted from the ones before it (after BOS)."""
    prefix = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    ids = prefix + tokenizer.encode(text, add_special_tokens=False)
    if len(ids) < 2:
        return 0.0, 0.0, 0
    ours, theirs = _window(model, ids)[:-1], _window(judge, ids)[:-1]
    kl = (theirs.exp() * (theirs - ours)).sum(-1)
    agree = (theirs.argmax(-1) == ours.argmax(-1)).sum()
    return float(kl.sum()), float(agree), len(ids) - 1


def divergence_metrics(
    key: str, examples: list[dict], model, tokenizer, reference: Reference | None
) -> dict[str, float]:
    """Both metrics over a task's windows, when the reference is the job's dense model (a
    judge of another family would measure the family, not the compression)."""
    from tqdm.auto import tqdm

    from compsafe.results.aggregations import aggregation

    if reference is None:
        return {}
    judge, judge_tokenizer = reference()
    if judge_tokenizer.get_vocab() != tokenizer.get_vocab():
        return {}
    for example in tqdm(examples, desc="Divergence from dense", disable=len(examples) < 2):
        if judge is model:  # the dense job itself: nothing moved
            kl, agree, tokens = 0.0, 0.0, 0
            tokens = len(tokenizer.encode(example["doc"]["text"], add_special_tokens=False))
            agree = float(tokens)
        else:
            kl, agree, tokens = window_divergence(model, judge, tokenizer, example["doc"]["text"])
        add_value(example, "kl_divergence", [kl, tokens])
        add_value(example, "top1_agreement", [agree, tokens])
    return {
        f"{key}/{name}": aggregation(spec["aggregation"])([e[name] for e in examples])
        for name, spec in METRICS.items()
    }
