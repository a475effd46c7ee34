"""Log-likelihood batches are capped where their logits would not fit in memory: Gemma-3's
262,144-token vocabulary at lm-eval's default batch was killed for memory, without a word."""

from __future__ import annotations

import logging

import pytest

from compsafe.evaluation import harness


@pytest.mark.parametrize(
    ("longest", "vocabulary", "expected"),
    [
        (512, 262_144, 8),  # Gemma-3 on 512-token windows: 8 GiB at 16
        (512, 49_152, 16),  # SmolLM2's quickstart: unchanged
        (2_048, 32_000, 16),  # Llama-2 on the paper's 2,048-token windows: unchanged
        (1_000_000, 262_144, 1),  # never below one
        (0, 262_144, 16),  # nothing to score
    ],
)
def test_the_batch_is_capped_by_its_logits(longest, vocabulary, expected):
    assert harness.capped_batch_size(16, longest, vocabulary) == expected


def test_a_capped_batch_scores_as_the_whole_one(tiny_model, monkeypatch, caplog):
    """Same log-likelihoods, smaller forward passes, one warning that says why."""
    from lm_eval.api.instance import Instance

    model, tokenizer = tiny_model
    texts = [("The cat", " sat on the mat" * k) for k in range(1, 9)]
    requests = [Instance("loglikelihood", {}, text, i) for i, text in enumerate(texts)]
    rows: list[int] = []
    hook = model.register_forward_hook(lambda _m, args, _o: rows.append(args[0].shape[0]))
    try:
        whole = harness.in_memory_lm(model, tokenizer, 8, 8, None).loglikelihood(requests)
        assert max(rows) == 8
        rows.clear()
        longest = max(len(tokenizer(c + x)["input_ids"]) for c, x in texts) + 2
        vocabulary = model.get_output_embeddings().weight.shape[0]
        monkeypatch.setattr(harness, "LOGITS_BUDGET", 3 * longest * vocabulary * 4)
        with caplog.at_level(logging.WARNING, logger=harness.__name__):
            capped = harness.in_memory_lm(model, tokenizer, 8, 8, None).loglikelihood(requests)
    finally:
        hook.remove()
    assert max(rows) <= 3 and len(rows) >= 3
    assert [ll for ll, _ in capped] == pytest.approx([ll for ll, _ in whole], abs=1e-4)
    assert [record.getMessage() for record in caplog.records if "capped to" in record.getMessage()]
