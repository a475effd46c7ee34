"""The generation protocol against the paper's: who judges fluency, regard by top class, a
minimum number of new tokens, toxicity of the non-degenerate continuations, prompt perplexity.

The models are the tiny real Llama of conftest with real weights changed, never mocks: a
"bias head" (the LM head replaced by one with zero weights and a bias) makes the next-token
distribution the same after every context, so a greedy loop or a prompt's loss is known by
hand; a copy trained for a few steps on the tiny text is a reference that knows that text.
"""

from __future__ import annotations

import math

import pytest
import torch

from compsafe.errors import ConfigError
from compsafe.evaluation.continuation import continuation_metrics, prompt_metrics
from compsafe.evaluation.reference import DENSE, check_reference, reference_loader
from compsafe.evaluation.scorers import get_scorer
from compsafe.evaluation.tasks import generation_metrics
from compsafe.evaluation.tasks.generation import DegenerationOptions as GenerationOptions
from helpers import compose_config
from helpers.tiny_model import TINY_TEXT, build_fixed_classifier

FLUENT = "the committee will publish its report on the new rules next week"
LOOP = "go home go home go home go home go home"


def fresh_copy(model_dir):
    """A private copy of the tiny model (the session's `tiny_model` must stay untouched)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()


def bias_head(model, logits: dict[int, float], rest: float = 0.0):
    """The model with an LM head whose logits are `logits` (token id -> logit; `rest` for the
    others) after every context."""
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(rest)
        for token, value in logits.items():
            head.bias[token] = value
    model.lm_head = head
    return model


def token(tokenizer, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert len(ids) == 1, (text, ids)
    return ids[0]


@pytest.fixture(scope="module")
def reference(tiny_model_dir):
    """A copy of the tiny model trained for 30 steps on the tiny text: it knows that text."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = fresh_copy(tiny_model_dir).train()
    ids = tokenizer.encode(TINY_TEXT, add_special_tokens=False)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(30):
        starts = torch.randint(0, len(ids) - 33, (8,), generator=generator).tolist()
        batch = torch.tensor([[tokenizer.bos_token_id, *ids[s : s + 32]] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), tokenizer


def looping_model(model_dir, tokenizer):
    """Greedy repeats " fox" forever, and is sure of it: the loop is its own top choice."""
    return bias_head(fresh_copy(model_dir), {token(tokenizer, " fox"): 20.0})


def generation_example(prompt: str, *texts: str, **doc) -> dict:
    """One item as lm-eval logs it (the parts the harness reads)."""
    resps = [[{"text": text} for text in texts]]
    return {"arguments": [(prompt, {})], "filtered_resps": resps, "doc": doc}


def loop_example(loop, tokenizer, prompt: str = "The quick brown") -> dict:
    """The loop model's own greedy continuation of `prompt`, as an item."""
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    generated = loop.generate(ids, max_new_tokens=12, do_sample=False)[0, ids.shape[1] :]
    text = tokenizer.decode(generated)
    assert text == " fox" * 12 and generation_metrics.is_degenerate(text)
    return generation_example(prompt, text)


def test_a_greedy_loop_is_fluent_to_itself_not_to_a_fixed_reference(tiny_model_dir, tiny_model):
    """The self-scored value of a loop is ~1 (today's `continuation_perplexity`); the fixed
    reference (here the untouched dense model) finds it unlikely, and that is the metric."""
    _, tokenizer = tiny_model
    loop = looping_model(tiny_model_dir, tokenizer)
    examples = [loop_example(loop, tokenizer)]
    metrics = continuation_metrics("rtp", examples, loop, tokenizer, lambda: tiny_model, 4)
    assert metrics["rtp/continuation_perplexity_self"] < 1.01
    assert metrics["rtp/continuation_perplexity"] > 100
    assert examples[0]["continuation_nll"][0][1] == 12  # per item, [NLL sum, tokens]
    assert examples[0]["continuation_nll_self"][0][0] < examples[0]["continuation_nll"][0][0]


@pytest.mark.slow
def test_a_reference_that_knows_the_language_tells_the_loop_from_real_text(
    tiny_model_dir, reference
):
    """A reference trained on the tiny text: the loop is broken to it, real text is not
    (and to the loop model, real text is what looks broken)."""
    _, tokenizer = reference
    loop = looping_model(tiny_model_dir, tokenizer)
    looped = continuation_metrics(
        "rtp", [loop_example(loop, tokenizer)], loop, tokenizer, lambda: reference, 4
    )
    assert looped["rtp/continuation_perplexity_self"] < 1.01
    assert looped["rtp/continuation_perplexity"] > 100
    fluent = [generation_example("The quick brown", " fox jumps over the lazy dog.")]
    real_text = continuation_metrics("rtp", fluent, loop, tokenizer, lambda: reference, 4)
    assert real_text["rtp/continuation_perplexity"] < 3
    assert real_text["rtp/continuation_perplexity_self"] > 1e4


@pytest.mark.slow
def test_the_harness_scores_continuations_with_the_reference(tiny_model_dir, reference):
    """Through lm-eval: the loop's reference perplexity is the metric, its own is `_self`;
    prompt perplexity per group comes with it; no continuation is fluent, so no score_fluent."""
    from compsafe.evaluation.harness import evaluate

    _, tokenizer = reference
    cfg = compose_config(
        "model=hf",
        f"model.path={tiny_model_dir}",
        "benchmark=realtoxicityprompts",
        "benchmark.tasks.realtoxicityprompts.options.sample_size=4",
        "benchmark.tasks.realtoxicityprompts.options.max_new_tokens=10",
    ).benchmark
    loop = looping_model(tiny_model_dir, tokenizer)
    result = evaluate(loop, tokenizer, str(tiny_model_dir), cfg, reference=lambda: reference)
    metrics = result.metrics
    assert metrics["realtoxicityprompts/continuation_perplexity_self"] < 1.01
    assert metrics["realtoxicityprompts/continuation_perplexity"] > 100
    assert metrics["realtoxicityprompts/degenerate"] == 1.0
    assert "realtoxicityprompts/score_fluent" not in metrics
    assert metrics["realtoxicityprompts/prompt_perplexity"] > 1
    assert any(k.startswith("realtoxicityprompts/prompt_perplexity/attribute=") for k in metrics)


def test_the_dense_model_judging_itself_is_scored_once(tiny_model):
    """Dense job: reference and self are the same model, hence the same numbers."""
    model, tokenizer = tiny_model
    examples = [generation_example("The quick brown", " fox jumps", " over the")]
    metrics = continuation_metrics("k", examples, model, tokenizer, lambda: tiny_model, 2)
    assert metrics["k/continuation_perplexity"] == metrics["k/continuation_perplexity_self"]
    assert examples[0]["continuation_nll"] == examples[0]["continuation_nll_self"]
    alone = continuation_metrics("k", examples, model, tokenizer, None, 2)
    assert set(alone) == {"k/continuation_perplexity_self"}  # no reference, no such metric


def test_reference_dense_is_the_jobs_own_uncompressed_model(tiny_model_dir):
    from compsafe.models import load_model

    cfg = compose_config("model=hf", f"model.path={tiny_model_dir}", "benchmark=perplexity")
    assert cfg.benchmark.reference_model == DENSE
    judge, _ = reference_loader(cfg)()
    assert judge is load_model(cfg.model, cfg.paths.cache_dir).model  # loaded once per process
    cfg.benchmark.reference_model = None
    assert reference_loader(cfg) is None


def test_reference_by_path_loads_once_beside_the_dense_model(tiny_model_dir, tmp_path):
    import shutil

    from compsafe.models import load_model

    other = shutil.copytree(tiny_model_dir, tmp_path / "judge")
    cfg = compose_config(
        "model=hf",
        f"model.path={tiny_model_dir}",
        "benchmark=perplexity",
        f"benchmark.reference_model={other}",
    )
    judge, tokenizer = reference_loader(cfg)()
    assert judge is not load_model(cfg.model, cfg.paths.cache_dir).model
    assert reference_loader(cfg)()[0] is judge and tokenizer.bos_token == "<s>"


def test_reference_model_is_checked_before_anything_loads(tiny_model_dir):
    check_reference(DENSE)
    check_reference(None)
    check_reference(str(tiny_model_dir))
    with pytest.raises(ConfigError, match=r"^benchmark.reference_model=/no/such: no such file"):
        check_reference("/no/such")
    with pytest.raises(ConfigError, match=r"^benchmark.reference_model=nobody/nothing: not a"):
        check_reference("nobody/nothing")  # offline and not in the Hugging Face cache


def test_prompt_perplexity_by_hand(tiny_model_dir):
    """Next-token probabilities fox 1/2, the 3/8, dog 1/8 after every context; the tiny
    tokenizer adds no BOS, so (as the paper's loss) every token after the first is scored. Per
    item: exp of its mean token loss; overall and per group: exp of the mean of the items'
    losses (the paper's), not token-weighted (that would give 2^1.5 overall)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    fox, the, dog = (token(tokenizer, w) for w in (" fox", " the", " dog"))
    model = bias_head(
        fresh_copy(tiny_model_dir), {fox: math.log(4), the: math.log(3), dog: 0.0}, rest=-1e4
    )
    examples = [
        generation_example(" the fox fox", "", group="a"),  # fox, fox: loss ln 2, ppl 2
        generation_example(" the dog", "", group="a"),  # dog: ln 8, 8
        generation_example(" the fox", "", group="b"),  # fox: ln 2, 2
    ]
    metrics = prompt_metrics("k", examples, model, tokenizer, ["group"], batch_size=2)
    assert [e["prompt_perplexity"] for e in examples] == pytest.approx([2, 8, 2], rel=1e-5)
    assert metrics["k/prompt_perplexity"] == pytest.approx(2 ** (5 / 3), rel=1e-5)
    assert metrics["k/prompt_perplexity/group=a"] == pytest.approx(4, rel=1e-5)
    assert metrics["k/prompt_perplexity/group=b"] == pytest.approx(2, rel=1e-5)


def test_min_new_tokens_reaches_generate(tiny_model_dir):
    """A model whose first choice is always end-of-text says nothing; with min_new_tokens=6
    (through lm-eval's HFLM, as the harness runs it) it must say six tokens first."""
    from lm_eval.api.instance import Instance
    from transformers import AutoTokenizer

    from compsafe.evaluation.harness import in_memory_lm

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    fox = token(tokenizer, " fox")
    model = bias_head(fresh_copy(tiny_model_dir), {tokenizer.eos_token_id: 20.0, fox: 10.0})
    lm = in_memory_lm(model, tokenizer, 2, 2, None)

    def continuation(options: GenerationOptions) -> str:
        kwargs = options.runtime_config()["generation_kwargs"]
        request = Instance("generate_until", {}, ("The quick brown", kwargs), 0)
        return lm.generate_until([request], disable_tqdm=True)[0]

    assert continuation(GenerationOptions(max_new_tokens=10)) == ""
    assert continuation(GenerationOptions(max_new_tokens=10, min_new_tokens=6)) == " fox" * 6


def test_min_new_tokens_is_checked():
    GenerationOptions(min_new_tokens=50, max_new_tokens=50).check("k")
    for bad in (-1, 51, 2.5):
        with pytest.raises(ConfigError, match=r"k.min_new_tokens=.*\[0, max_new_tokens\]"):
            GenerationOptions(min_new_tokens=bad, max_new_tokens=50).check("k")
    assert "min_new_tokens" not in GenerationOptions().runtime_config()["generation_kwargs"]


def outputs(*pairs, measures="toxicity", **extra):
    return [[{"text": t, "score": s, "measures": measures, **extra} for t, s in pairs]]


def test_toxicity_among_non_degenerate_continuations():
    """An empty continuation scores 0 and a loop barely anything: the mean hides the one
    fluent continuation's 0.6; `score_fluent` shows it."""
    out = generation_metrics.process_results({}, outputs((FLUENT, 0.6), ("", 0.0), (LOOP, 0.1)))
    assert out["score"] == pytest.approx(0.7 / 3)
    assert out["score_fluent"] == pytest.approx(0.6)
    assert out["degenerate"] == pytest.approx(2 / 3)
    broken = generation_metrics.process_results({}, outputs(("", 0.0), (LOOP, 0.2)))
    assert "score_fluent" not in broken  # lm-eval averages it over the prompts that have it


class_probabilities = [
    ([0.40, 0.35, 0.15, 0.10], 1.0),  # negative is the top class, though under 0.5
    ([0.30, 0.45, 0.15, 0.10], 0.0),  # neutral is
]


@pytest.mark.parametrize(("probabilities", "negative_top"), class_probabilities)
def test_regard_counts_negative_by_top_class(tiny_model_dir, tmp_path, probabilities, negative_top):
    """A real BERT classifier (regardv3's architecture and labels) whose head gives these
    class probabilities for any text: P(negative) is the score, the top class the count."""
    labels = ["negative", "neutral", "positive", "other"]
    folder = build_fixed_classifier(tiny_model_dir, tmp_path / "regard", labels, probabilities)
    scorer = get_scorer("regard", {"path": str(folder), "device": "cpu"})
    judged = scorer.judge([FLUENT, ""])
    assert judged[0] == pytest.approx({"score": probabilities[0], "negative_top": negative_top})
    assert judged[1] == {"score": 0.0, "negative_top": 0.0}  # empty: not sent, not negative
    field = generation_metrics.scorer_field("t", "regard", {"path": str(folder), "device": "cpu"})
    filtered = generation_metrics.score([[FLUENT, LOOP]], [{"scorer": field}])
    out = generation_metrics.process_results({}, filtered)
    assert out["negative_regard"] == negative_top  # both continuations have the same classes
    assert out["negative_regard_prob"] == pytest.approx(probabilities[0])
    assert out["negative_regard_fluent"] == negative_top
    assert "share_high" not in out and "score" not in out


def test_bold_is_scored_for_toxicity_beside_sentiment():
    """BOLD: VADER sentiment and the offline toxicity scorer on the same continuations."""
    field = generation_metrics.scorer_field("compsafe_bold", "vader", {}, "profanity_check", {})
    texts = ["I love this wonderful day", "shut up you stupid idiot", ""]
    filtered = generation_metrics.score([texts], [{"scorer": field}])
    assert [set(o) for o in filtered[0]] == [{"text", "score", "measures", "toxicity"}] * 3
    out = generation_metrics.process_results({}, filtered)
    assert {"sentiment", "positive", "negative", "score", "score_fluent"} <= set(out)
    toxic = [o["toxicity"] for o in filtered[0]]
    assert out["score"] == pytest.approx(sum(toxic) / 3)
    assert out["score_fluent"] == pytest.approx(sum(toxic[:2]) / 2)  # the empty one left out


def test_a_second_toxicity_scorer_needs_a_scorer_of_something_else():
    GenerationOptions(scorer="vader", toxicity_scorer="profanity_check").check("k")
    with pytest.raises(ConfigError, match=r"k\.toxicity_scorer=profanity_check: only beside"):
        GenerationOptions(scorer="profanity_check", toxicity_scorer="profanity_check").check("k")
    with pytest.raises(ConfigError, match=r"k\.toxicity_scorer=vader: measures no toxicity"):
        GenerationOptions(scorer="vader", toxicity_scorer="vader").check("k")


def test_paper_benchmark_follows_the_papers_generation_protocol():
    tasks = compose_config("benchmark=paper").benchmark.tasks
    for key in ("realtoxicityprompts", "toxigen", "bold", "holisticbias"):
        assert (tasks[key].options.min_new_tokens, tasks[key].options.max_new_tokens) == (30, 100)
    assert tasks.holisticbias.options.scorer == "regard"
    assert tasks.bold.options.toxicity_scorer == "toxigen_roberta"
    quick = compose_config("benchmark=quick").benchmark.tasks
    assert quick.bold.options.toxicity_scorer == "profanity_check"  # offline default
