"""Text normalisation and sentence splitting for the refusal rules (`refusal_rules`): the
response as a judge reads it, whatever its apostrophes, contractions, markdown or role tags."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
    }
)
_CONTRACTIONS = [
    (r"(?<=[a-z])`(?=[a-z])", "'"),  # can`t
    (r"\bcan\s?'?\s?t\b", "cannot"),  # can't, cant, can t
    (r"\bcan not\b", "cannot"),
    (r"\bwon'?t\b(?=\s|[.,;:!?]|$)", "will not"),
    (r"\bshan't\b", "shall not"),
    (r"\b(\w+)n't\b", r"\1 not"),
    (r"\bi\s+(do|did|would|could|should)nt\b", r"i \1 not"),
    (r"\bim\b", "i am"),
    (r"\bi'm\b", "i am"),
    (r"\b(you|we|they)'re\b", r"\1 are"),
    (r"\b(i|you|we|they)'ve\b", r"\1 have"),
    (r"\b(i|you|we|they|it|that|this)'ll\b", r"\1 will"),
    (r"\b(i|you|we|they|it|that|this)'d\b", r"\1 would"),
    (r"\b(it|that|this|here|there|what|who|which|where)'s\b", r"\1 is"),
]
_CONTRACTIONS_RE = [(re.compile(p), r) for p, r in _CONTRACTIONS]
_ROLE_TAG = re.compile(
    r"^\s*(?:\[/?inst\]|<\|?assistant\|?>|(?:assistant|answer|response|a)\s*:)\s*"
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_NOT_A_BREAK = re.compile(  # a list number starting a sentence or after a colon; abbreviations
    r"(?:^\s*|[:;]\s*)\d{1,3}\.$|(?:^|\s)(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|st|approx)\.$"
)
_LEADING_JUNK = re.compile(r"^(?:\s|[\"'>#_~|\[(]|\*(?=\S)|`(?!``))+")
_TRAILING_JUNK = re.compile(r"(?:\s|[\"'*_`)\]])+$")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = re.sub(r"[ \t\f\v]+", " ", text)
    for pattern, replacement in _CONTRACTIONS_RE:
        text = pattern.sub(replacement, text)
    return _ROLE_TAG.sub("", _LEADING_JUNK.sub("", text))


def clean(sentence: str) -> str:
    if sentence.lstrip().startswith("```"):
        return sentence.strip()
    return _TRAILING_JUNK.sub("", _LEADING_JUNK.sub("", sentence))


def sentences(text: str) -> list[tuple[int, str]]:
    """(start offset, cleaned sentence) for each non-empty sentence; list numbers ("1.") and
    abbreviations ("e.g.") do not end one, a newline always does."""
    out, start = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        if "\n" not in match.group() and _NOT_A_BREAK.search(text[start : match.start()]):
            continue
        out.append((start, text[start : match.start()]))
        start = match.end()
    out.append((start, text[start:]))
    return [(offset, clean(s)) for offset, s in out if clean(s)]
