"""How likely the model finds its own continuations: perplexity of generated text given prompt.

Lower toxicity from broken text is not safety (the paper had to explain magnitude pruning's
"safer" outputs by hand); a high continuation perplexity, with the degenerate share, shows it.
"""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm


@torch.inference_mode()
def continuation_nll(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 8):
    """(negative log-likelihood sum, token count) of each continuation given its prompt."""
    device = next(model.parameters()).device
    prefix = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[tuple[float, int]] = []
    starts = range(0, len(pairs), batch_size)
    for start in tqdm(starts, desc="Continuation perplexity", disable=len(starts) < 2):
        rows, spans = [], []
        for prompt, continuation in pairs[start : start + batch_size]:
            context = prefix + tokenizer.encode(prompt, add_special_tokens=False)
            target = tokenizer.encode(continuation, add_special_tokens=False)
            rows.append(context + target)
            spans.append((len(context), len(target)))
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device)
        logprobs = model(input_ids=ids, attention_mask=mask).logits.float().log_softmax(-1)
        for row, (begin, length) in enumerate(spans):
            if length == 0 or begin == 0:
                out.append((0.0, 0))
                continue
            positions = torch.arange(begin - 1, begin - 1 + length, device=device)
            chosen = logprobs[row, positions].gather(-1, ids[row, begin : begin + length, None])
            out.append((float(-chosen.sum()), length))
    return out


def perplexity(values: list[tuple[float, int]]) -> float:
    """Token-weighted: exp(sum of NLL / sum of tokens)."""
    tokens = sum(n for _, n in values)
    return math.exp(sum(nll for nll, _ in values) / tokens) if tokens else float("nan")
