"""Refusal tasks: does the (compressed) model still refuse harmful requests, under attack too,
without refusing benign ones?

`compsafe_refusal`: harmful requests (HarmBench, Do-Not-Answer) asked directly and inside
jailbreak attacks (`attack`: one name or a list); `compsafe_xstest`: XSTest's benign prompts
that look harmful (over-refusal) beside its unsafe contrasts. The request reaches the model
inside its own chat template when its tokenizer has one (`chat_template: auto`), raw
otherwise; each doc says which (`prompt_format`). Continuations are judged by a refusal scorer
(`refusal_phrases` offline, or `refusal_classifier`); the metrics are in `generation_metrics`.
"""

# No `from __future__ import annotations`: lm-eval executes this file outside the package,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass, field
from typing import Any

from compsafe.errors import ConfigError, choices
from compsafe.evaluation.options import check_task_source, options_from_metadata, positive
from compsafe.evaluation.tasks.generation_metrics import scorer_field
from compsafe.evaluation.tasks.refusal_data import (
    ATTACKS,
    OWN_PROMPT_ATTACKS,
    SETS,
    XSTEST_HELP,
    XSTEST_HUB,
    attack,
    read_requests,
    rephrased,
    xstest,
)
from compsafe.evaluation.tasks.sampling import seeded_subset
from compsafe.hub import dataset_unavailable_offline

SOURCES = ("packaged", "hub", "file")
CHAT_TEMPLATE = ("auto", "on", "off")


@dataclass
class RefusalOptions:
    source: str = "packaged"  # packaged | hub | file
    path: str | None = None  # hub dataset id or local file
    subset: str | None = None
    sets: list = field(default_factory=lambda: list(SETS))  # packaged/hub request sets
    prompt_field: str = "prompt"  # file source: the request's field
    group_fields: list = field(default_factory=list)  # file source: fields to group by
    attack: Any = "none"  # one attack or a list: none | dan | gcg_suffix | past_tense | ...
    chat_template: str = "auto"  # auto: the tokenizer's chat template when it has one
    sample_size: int | None = None  # seeded subset of requests (before attacks); null = all
    seed: int = 1234
    scorer: str = "refusal_phrases"
    scorer_options: dict = field(default_factory=dict)
    max_new_tokens: int = 64
    min_new_tokens: int = 0

    @property
    def attacks(self) -> list[str]:
        return [self.attack] if isinstance(self.attack, str) else list(self.attack)

    def check(self, key: str) -> None:
        from compsafe.evaluation.scorers import REGISTRY, check_scorer

        check_task_source(key, self.source, SOURCES, {"path": self.path})
        for name in self.attacks:
            if name not in ATTACKS:
                raise ConfigError(f"{key}.attack", name, choices(ATTACKS))
        if not self.attacks:
            raise ConfigError(f"{key}.attack", "[]", choices(ATTACKS))
        for name in self.sets:
            if name not in SETS:
                raise ConfigError(f"{key}.sets", name, choices(SETS))
        if self.chat_template not in CHAT_TEMPLATE:
            raise ConfigError(f"{key}.chat_template", self.chat_template, choices(CHAT_TEMPLATE))
        positive(key, "sample_size", self.sample_size)
        positive(key, "max_new_tokens", self.max_new_tokens, allow_none=False)
        if REGISTRY.lookup(self.scorer).measures != "refusal":
            raise ConfigError(f"{key}.scorer", self.scorer, "measures no refusal")
        check_scorer(self.scorer, self.scorer_options)

    def runtime_config(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "until": [],
            "max_gen_toks": self.max_new_tokens,
            "do_sample": False,
        }
        if self.min_new_tokens:
            kwargs["min_new_tokens"] = self.min_new_tokens
        return {"repeats": 1, "generation_kwargs": kwargs}


@dataclass
class XSTestOptions(RefusalOptions):
    source: str = "hub"  # no registry package ships XSTest: hub or file

    def check(self, key: str) -> None:
        if self.source == "packaged":
            raise ConfigError(f"{key}.source", "packaged", XSTEST_HELP)
        if self.source == "file" and not self.path:
            raise ConfigError(f"{key}.path", None, XSTEST_HELP)
        if self.source == "hub" and dataset_unavailable_offline(self.path or XSTEST_HUB):
            raise ConfigError(
                f"{key}.source",
                "hub",
                f"offline and {self.path or XSTEST_HUB} not cached; "
                + XSTEST_HELP.split("; ", 1)[1],
            )
        super().check(key)
        if self.source == "file":  # read it now: a bad file fails before the model loads
            xstest(self, key)


def formatter(tokenizer_path: str | None, mode: str):
    """(format name, prompt -> text the model reads): the tokenizer's chat template with the
    assistant turn opened, or the raw request."""
    if mode == "off" or not tokenizer_path:
        return "raw", lambda text: text
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if not getattr(tokenizer, "chat_template", None):
        if mode == "on":
            raise ConfigError("chat_template", "on", f"{tokenizer_path} has no chat template")
        return "raw", lambda text: text

    def render(text: str) -> str:
        messages = [{"role": "user", "content": text}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    return "chat_template", render


def attacked_requests(options: RefusalOptions, key: str) -> list[dict]:
    """The seeded subset of requests (the same requests under every wrapping attack), then
    each attack's prompts; rephrasing attacks bring their own seeded subset."""
    requests = seeded_subset(read_requests(options, key), options.sample_size, options.seed)
    docs = []
    for name in options.attacks:
        if name in OWN_PROMPT_ATTACKS:
            docs += seeded_subset(rephrased(name, key), options.sample_size, options.seed)
        else:
            docs += attack(requests, name, key)
    return docs


def build_docs(task: str, options: RefusalOptions, docs: list[dict], metadata: dict):
    import datasets

    name, render = formatter(metadata.get("tokenizer"), options.chat_template)
    scorer = scorer_field(task, options.scorer, options.scorer_options)
    rows = [
        {
            "request": d["request"],
            "set": d["set"],
            "risk_area": d["risk_area"],
            "attack": d["attack"],
            "template": d["template"],
            "label": d.get("label", "unsafe"),
            "prompt": render(d["prompt"]),
            "prompt_format": name,
            "scorer": scorer,
        }
        for d in docs
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_refusal(**metadata):
    task = "compsafe_refusal"
    options = options_from_metadata(task, RefusalOptions, metadata)
    return build_docs(task, options, attacked_requests(options, f"{task} options"), metadata)


def load_xstest(**metadata):
    task = "compsafe_xstest"
    options = options_from_metadata(task, XSTestOptions, metadata)
    key = f"{task} options"
    docs = seeded_subset(xstest(options, key), options.sample_size, options.seed)
    return build_docs(task, options, docs, metadata)


TASKS = {"compsafe_refusal": RefusalOptions, "compsafe_xstest": XSTestOptions}
