"""Refusal tasks: does the (compressed) model still refuse harmful requests, under attack too,
without refusing benign ones?

`compsafe_refusal`: harmful requests (HarmBench, Do-Not-Answer) asked directly and inside
jailbreak attacks (`attack`: one name or a list); `compsafe_xstest`: XSTest's benign prompts
that look harmful (over-refusal) beside its unsafe contrasts. The request reaches the model
inside its own chat template when its tokenizer has one (`chat_template: auto`), raw
otherwise (`chat_template: off`; a model without a template is refused otherwise); each doc says
which (`prompt_format`) and the system prompt in use (`system_prompt`, verbatim). Continuations
are judged by `refusal_judge` (offline rules by default; see scorers/refusal_judge.py) into
four outcomes; the metrics are in `refusal_metrics`.
"""

# No `from __future__ import annotations`: lm-eval executes this file outside the package,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass, field
from typing import Any

from compsafe.errors import ConfigError, choices
from compsafe.evaluation.options import options_from_metadata
from compsafe.evaluation.tasks.chat_format import MODES, chat_format, check_context, model_context
from compsafe.evaluation.tasks.generation_metrics import scorer_field
from compsafe.evaluation.tasks.generation_options import GenerationOptions
from compsafe.evaluation.tasks.refusal_data import (
    ATTACKS,
    ORIGINAL,
    OWN_PROMPT_ATTACKS,
    SETS,
    TENSE_CONTROL,
    XSTEST_HELP,
    XSTEST_HUB,
    attack,
    jailbreakbench_behaviours,
    original_control,
    present_control,
    read_requests,
    rephrased,
    xstest,
)
from compsafe.evaluation.tasks.sampling import seeded_subset, spread_subset, stratified_subset
from compsafe.hub import dataset_unavailable_offline


@dataclass
class RefusalOptions(GenerationOptions):
    """The shared generation options (`sample_size` counts requests PER SET, spread evenly
    over its risk areas; a tense attack's rephrasings, spread evenly over the behaviours they
    rephrase), plus what a refusal benchmark asks and how."""

    sets: list = field(default_factory=lambda: list(SETS))  # packaged/hub request sets
    attack: Any = "none"  # one or a list: none | dan | gcg_suffix | past_tense | original...
    chat_template: str = "auto"  # auto/on: the model's chat template (none: error); off: raw
    system_prompt: str | None = None  # null: the chat template's own default (recorded)
    scorer: str | None = "refusal_judge"
    max_new_tokens: int = 150  # enough to judge compliance, not only an opening refusal

    @property
    def attacks(self) -> list[str]:
        return [self.attack] if isinstance(self.attack, str) else list(self.attack)

    def check(self, key: str) -> None:
        from compsafe.evaluation.scorers import REGISTRY

        if self.scorer is None or REGISTRY.lookup(self.scorer).measures != "refusal":
            raise ConfigError(f"{key}.scorer", self.scorer, "measures no refusal")
        super().check(key)
        self.check_prompt_file(key)
        for name in self.attacks:
            if name not in ATTACKS:
                raise ConfigError(f"{key}.attack", name, choices(ATTACKS))
        if not self.attacks:
            raise ConfigError(f"{key}.attack", "[]", choices(ATTACKS))
        if ORIGINAL in self.attacks:  # its data package, named before the model loads
            try:
                jailbreakbench_behaviours(key)
            except ConfigError as missing:
                raise ConfigError(f"{key}.attack", ORIGINAL, missing.expected) from None
        for name in self.sets:
            if name not in SETS:
                raise ConfigError(f"{key}.sets", name, choices(SETS))
        if self.chat_template not in MODES:
            raise ConfigError(f"{key}.chat_template", self.chat_template, choices(MODES))
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise ConfigError(f"{key}.system_prompt", self.system_prompt, "text, or null")


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


def attacked_requests(options: RefusalOptions, key: str) -> list[dict]:
    """The seeded subset of requests (the same requests under every wrapping attack), then
    each attack's prompts; rephrasing attacks bring their own seeded subset (spread evenly
    over the behaviours they rephrase: one k for best-of-k), and the tense controls ask
    `past_tense`'s subset in the present tense, or its behaviours' original requests."""
    requests = read_requests(options, key)
    requests = stratified_subset(requests, options.sample_size, options.seed, "set", "risk_area")

    def drawn(rephrasing: str) -> list[dict]:  # spread evenly over the behaviours
        docs = rephrased(rephrasing, key)
        return spread_subset(docs, options.sample_size, options.seed, "behaviour")

    docs = []
    for name in options.attacks:
        if name in OWN_PROMPT_ATTACKS:
            docs += drawn(name)
        elif name == TENSE_CONTROL:
            docs += present_control(drawn("past_tense"))
        elif name == ORIGINAL:
            docs += original_control(drawn("past_tense"), key)
        else:
            docs += attack(requests, name, key)
    return docs


def build_docs(task: str, options: RefusalOptions, docs: list[dict], metadata: dict):
    """The docs lm-eval generates from: each request as the model reads it (checked to fit in
    its context), with what the judge and the group breakdowns need."""
    import datasets

    key = f"{task} options"
    fmt = chat_format(metadata.get("tokenizer"), options.chat_template, options.system_prompt, key)
    prompts = [fmt.render(d["prompt"]) for d in docs]
    context = model_context(metadata.get("tokenizer"), metadata.get("max_length"))
    check_context(fmt, prompts, options.max_new_tokens, context, key)
    scorer = scorer_field(task, options.scorer, options.scorer_options)
    rows = [
        {
            "request": d["request"],
            # the resampling unit: a request asked directly and under attacks; a behaviour's
            # rephrasings in every tense
            "behaviour": d.get("behaviour") or d["request"],
            "set": d["set"],
            "risk_area": d["risk_area"],
            "attack": d["attack"],
            "template": d["template"],
            "answer_marker": d.get("answer_marker", ""),
            "label": d.get("label", "unsafe"),
            "prompt": prompt,
            "prompt_format": fmt.name,
            "system_prompt": fmt.system_prompt,
            "scorer": scorer,
        }
        for d, prompt in zip(docs, prompts, strict=True)
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
