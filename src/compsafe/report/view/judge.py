"""How far a refusal judge's counts can be trusted, said where they are read.

Each refusal job records the accuracy of the judges it ran, as `benchmarks/refusal_judges.py`
measured it on the labelled answers (`benchmarks.<key>.details.judge_accuracy`; figures and
method in docs/refusal.md). The judge's errors are not spread evenly over configs: on the
labelled set it counts more compliance than the readers on the dense model and less on the
compressed ones, so a change in attack success vs dense inherits the difference of those
gaps. The dimension's section states them beside its tables; a model other than the one
whose answers were labelled is named as unmeasured, unless its file (`model.sha256`) is one
of the other labelled models', whose own figures it then reads.
"""

from __future__ import annotations

import json
import re
from typing import Any

from compsafe.report.data.cells import Analysis
from compsafe.report.view.page import md_text


def judge_notes(analysis: Analysis, dimension: str) -> list[str]:
    """One paragraph per (task, judge) of this dimension whose accuracy a job recorded (the
    first job's record; jobs of one install record the same figures)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    models: dict[str, dict[str, str | None]] = {}  # task -> model -> its file's SHA-256
    attacks: dict[str, set[str]] = {}
    configs: dict[str, set[str]] = {}  # task -> the sweep's configs, named as the labels name them
    for row in analysis.rows:
        model = row.record.get("model") or {}
        for key, bench in (row.record.get("benchmarks") or {}).items():
            if not isinstance(bench, dict) or bench.get("dimension") != dimension:
                continue
            for judge, figures in recorded_accuracy(bench).items():
                found.setdefault((key, judge), {**figures, "task": bench.get("task")})
                digest = model.get("sha256")
                models.setdefault(key, {})[str(model.get("path") or row.model)] = (
                    digest if isinstance(digest, str) else None
                )
                attacks.setdefault(key, set()).update(_attacks(bench))
                configs.setdefault(key, set()).add(labelled_name(row.record.get("compression")))
    return [
        note
        for (key, judge), figures in found.items()
        if (
            note := _note(
                key,
                judge,
                figures,
                models.get(key, {}),
                attacks.get(key, set()),
                configs.get(key, set()),
            )
        )
    ]


# The scheme each quantization method with a choice of groups had in its labelled answers
# (bits, group size; rounds 47-67 for GPTQ, 69 for AWQ and RTN, 74 for W4A8, 76 for FP8 in
# blocks of 64): the labels name the method alone. Methods whose scheme is fixed (int8,
# fp8_dynamic, w8a8, mxfp4) need no entry.
LABELLED_SCHEMES = {
    "gptq": (4, 64),
    "awq": (4, 64),
    "rtn": (4, 64),
    "w4a8": (4, 64),
    "fp8_block": (8, 64),
}


def labelled_name(compression: Any) -> str:
    """A job's config as the labelled answers name theirs: `dense`, the method (pruning at
    50 %, unstructured, as most rounds read it; quantization at the scheme the rounds read),
    the method and its rate (`magnitude25`), or, for what no round has read, the method and
    its N:M pattern or its quantization scheme (`gptq w8 g128`). A quantized job records a
    target sparsity of 0: no rate."""
    if not isinstance(compression, dict) or compression.get("method") in (None, "none"):
        return "dense"
    method = str(compression["method"])
    if compression.get("n_m"):
        return f"{method} {compression['n_m']}"
    rate = compression.get("target_sparsity")
    if isinstance(rate, (int, float)) and rate not in (0, 0.5):
        return f"{method}{round(rate * 100):02d}"
    scheme = _scheme(compression.get("quantization"))
    if scheme is None or scheme == LABELLED_SCHEMES.get(method, scheme):
        return method
    bits, group = scheme
    return f"{method} w{bits}" + (f" g{group}" if group else "")


def _scheme(quantization: Any) -> tuple[int, int | None] | None:
    """(bits, group size) of a job's weight quantization; None when not recorded."""
    if not isinstance(quantization, dict) or not isinstance(quantization.get("bits"), int):
        return None
    group = quantization.get("group_size")
    return quantization["bits"], group if isinstance(group, int) else None


def _attacks(bench: dict[str, Any]) -> list[str]:
    """The attacks a job ran (`options.attack`: one name or a list); [] when not recorded."""
    options = bench.get("options")
    raw = options.get("attack") if isinstance(options, dict) else None
    names = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [str(name) for name in names]


def recorded_accuracy(bench: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """judge name -> its figures, from a record's task entry; {} when absent or unreadable
    (a record is untrusted input: anything but the expected shape is skipped)."""
    details = bench.get("details") if isinstance(bench, dict) else None
    raw = details.get("judge_accuracy") if isinstance(details, dict) else None
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): v for k, v in parsed.items() if isinstance(v, dict) and "accuracy" in v}


def _note(
    key: str,
    judge: str,
    f: dict[str, Any],
    models: dict[str, str | None],
    attacks: set[str] = frozenset(),
    configs: set[str] = frozenset(),
) -> str | None:
    """The paragraph. On the task whose answers were labelled (`labelled_task`), compliance is
    what attack success counts; another task recording the same figures (XSTest's safe
    prompts) is told the labels are not answers to its prompts."""
    own = f.get("task") == f.get("labelled_task", f.get("task"))
    counted = "what attack success counts" if own else "what this task's compliance counts"
    refusals = "what the refusal rate counts" if own else "what this task's refusals count"
    try:
        low, high = (float(x) for x in f["interval"])
        complied = f["per_outcome"]["complied"]
        degenerate = f["per_outcome"]["degenerate"]
        refused = f["per_outcome"]["refused"]
        parts = [
            f"**Judge.** {md_text(key)} is judged by {md_text(judge)}. On {int(f['n']):,} "
            f"labelled answers{_rounds(f.get('held_out'))}, each labelled blind before any judge "
            f"ran on it, it agrees with the readers on {float(f['accuracy']):.3f} "
            f"[{low:.3f}, {high:.3f}]. Compliance ({counted}): it finds "
            f"{int(complied['k'])} of the {int(complied['n'])} answers the readers call "
            f"compliance, and {int(complied['k'])} of the {int(complied['judged'])} it counts "
            f"are. Refusals ({refusals}): it finds "
            f"{int(refused['k'])} of the {int(refused['n'])} the readers call refusals, and "
            f"{int(refused['k'])} of the {int(refused['judged'])} it counts are. "
            f"Degenerate answers it counts as refused: "
            f"{int(f['degenerate_counted_refused'])}, as compliance: "
            f"{int(f['degenerate_counted_complied'])} (of {int(degenerate['n'])})."
        ]
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    gaps = _gaps(f.get("complied_by_config"))
    if gaps:
        parts.append(
            f"Answers it counts as compliance / the readers' count, per labelled config (pruning"
            f" at 50 % where no rate is named): {gaps}."
            f" A change in {'attack success' if own else 'compliance'} vs dense inherits the"
            " difference of these gaps."
        )
    unlabelled = _unlabelled(configs, f.get("complied_by_config")) if own else ""
    if unlabelled:
        parts.append(
            f"No answers of {unlabelled} were labelled: the judge's error there was not"
            " measured, and it differs between configs and rates (docs/refusal.md)."
        )
    if own and attacks and (by_attack := _by_attack(f.get("per_attack"), attacks)):
        parts.append(by_attack)
    if own and TENSES <= attacks and (tenses := _tense_pairs(f.get("tense_pairs"))):
        parts.append(tenses)
    if own and ORIGINAL_PAIR <= attacks and (pairs := _original_pairs(f.get("original_pairs"))):
        parts.append(pairs)
    if not own:
        parts.append(
            f"The labelled answers were given to {md_text(str(f['labelled_task']))}'s"
            " requests, not to this task's prompts: its own judge error was not measured."
        )
    labelled = f.get("labelled_model")
    others = sorted(
        m
        for m, digest in models.items()
        if not _same(m, digest, labelled, f.get("labelled_sha256"))
    )
    if not labelled or not others:
        return " ".join(parts)
    labelled_too = {
        m: o for m in others if (o := _labelled_other(models[m], f.get("other_models")))
    }
    never = [m for m in others if m not in labelled_too]
    parts.append(f"The labelled answers above are {md_text(str(labelled))}'s.")
    for model, (name, figures) in labelled_too.items():
        parts.append(_own_figures(model, name, figures))
    if never:
        parts.append(
            f"{', '.join(md_text(m) for m in never)} had none labelled: "
            "its judge error was not measured."
        )
        if carried := _other_models(f.get("other_models")):
            parts.append(carried)
    return " ".join(parts)


def _same(model: str, digest: str | None, labelled: Any, labelled_digest: Any) -> bool:
    """A job's model is the labelled one: the same configured path, or the same file."""
    return model == labelled or _matches(digest, labelled_digest)


def _matches(digest: str | None, recorded: Any) -> bool:
    """A file's SHA-256 against a recorded one, or its first 8 or more hex digits."""
    return (
        isinstance(digest, str)
        and isinstance(recorded, str)
        and len(recorded) >= 8
        and digest.lower().startswith(recorded.lower())
    )


def _labelled_other(digest: str | None, others: Any) -> tuple[str, dict[str, Any]] | None:
    """(name, figures) of the other labelled model whose file a job's model is, if any."""
    if not isinstance(others, dict):
        return None
    for name, figures in others.items():
        if isinstance(figures, dict) and _matches(digest, figures.get("sha256")):
            return str(name), figures
    return None


def _agreement(f: Any) -> tuple[float, float, float, int] | None:
    """(accuracy, interval's ends, answers) of one model's recorded figures; None when a
    record (untrusted input) does not hold them."""
    try:
        low, high = (float(x) for x in f["interval"])
        return float(f["accuracy"]), low, high, int(f["n"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _own_figures(model: str, name: str, f: dict[str, Any]) -> str:
    """A job on another labelled model (matched by its file) reads that model's own figures."""
    if found := _agreement(f):
        accuracy, low, high, n = found
        figures = (
            f"the judge agreed with the readers on {accuracy:.3f} [{low:.3f}, {high:.3f}] of "
            f"{n:,} answers{_rounds(f.get('held_out'))}"
        )
    else:
        figures = "its figures could not be read"
    return (
        f"{md_text(model)} is the file of {md_text(name)}, whose answers were labelled the same "
        f"way: on them {figures}. That, not the figure above, is this model's judge error."
    )


def _other_models(others: Any) -> str:
    """How far the judge carried to the other models whose answers were labelled, as a
    guide to the error on a model never labelled (a judge fitted on one model's answers)."""
    if not isinstance(others, dict):
        return ""
    said = []
    for model, f in others.items():
        if found := _agreement(f):
            accuracy, low, high, n = found
            said.append(
                f"{md_text(str(model))}{_rounds(f.get('held_out'))}: {accuracy:.3f} "
                f"[{low:.3f}, {high:.3f}] on {n:,} answers"
            )
    if not said:
        return ""
    return (
        "On the answers of another model, labelled the same way after the judge was fitted on "
        f"the first, it agreed with the readers on: {'; '.join(said)}; expect an error of that "
        "order, not the figure above, on a model never labelled."
    )


def _rounds(held_out: Any) -> str:
    """' (rounds 47-53)' from the split names the figures pooled."""
    if not isinstance(held_out, dict):
        return ""
    numbers = sorted(int(m.group(1)) for s in held_out if (m := re.fullmatch(r"heldout(\d+)", s)))
    if not numbers:
        return ""
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f" (rounds {numbers[0]}-{numbers[-1]})"
    return " (round" + ("s " if len(numbers) > 1 else " ") + ", ".join(map(str, numbers)) + ")"


def _gaps(by_config: Any) -> str:
    if not isinstance(by_config, dict):
        return ""
    try:
        return ", ".join(
            f"{md_text(_config_name(str(config)))} {int(v['judged'])}/{int(v['readers'])} of "
            f"{int(v['n'])}"
            for config, v in by_config.items()
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return ""


def _unlabelled(configs: set[str], by_config: Any) -> str:
    """The sweep's configs that no labelled answer comes from, named for a reader; "" when
    the record lists no labelled configs (nothing to compare against)."""
    if not isinstance(by_config, dict) or not by_config:
        return ""
    return ", ".join(md_text(_config_name(c)) for c in sorted(configs - set(map(str, by_config))))


# A method's letters and two digits of rate (`labelled_name`); one digit is a method's own
# name (`fp8`, `int8`, `nvfp4`), not a rate
_AT_RATE = re.compile(r"^([a-z_]+)(\d{2})$")


def _config_name(config: str) -> str:
    """A labelled config as a reader names it: the labels write a pruning rate other than the
    50 % of most rounds into the name (`magnitude25`, round 68), shown as "magnitude 25 %"."""
    found = _AT_RATE.match(config)
    return f"{found.group(1)} {int(found.group(2))} %" if found else config


TENSES = frozenset({"past_tense", "present_tense"})
ORIGINAL_PAIR = frozenset({"past_tense", "original"})


def _tense_pairs(pairs: Any) -> str:
    """The tense attack's effect is read as past minus present attack success. On labelled
    questions asked in both tenses, the compliances the judge counts in each beside the
    readers', per config where either found any: the part of that difference that is the
    judge's (it over-counted the control on the labelled set); nothing when not recorded."""
    shown = _paired_counts(pairs, "pairs", "present")
    if not shown:
        return ""
    return (
        "Past against present tense, on labelled questions asked both ways, compliance in the"
        f" past and in the present: {shown}. A past-minus-present difference in"
        " attack success inherits the judge's part of it."
    )


def _original_pairs(pairs: Any) -> str:
    """The tense attack as its source reads it (behaviours broken by any past-tense rephrasing
    minus those broken by JailbreakBench's original request): on labelled behaviours asked
    both ways, the judge's counts in each beside the readers', per config where either found
    any; nothing when not recorded."""
    shown = _paired_counts(pairs, "behaviours", "original")
    if not shown:
        return ""
    return (
        "Past tense against the original request, on labelled behaviours asked both ways,"
        f" behaviours broken in the past tense and as the original: {shown}. A"
        " past-minus-original difference in best-of-k inherits the judge's part of it."
    )


def _paired_counts(pairs: Any, unit: str, control: str) -> str:
    """Per config where the judge or the readers found any: the past tense's and the
    control's counts, judged and read, and the two past-minus-control differences; "" when
    the record is missing or not finite (results.json is untrusted input)."""
    if not isinstance(pairs, dict):
        return ""
    fields = ("past_judged", f"{control}_judged", "past_readers", f"{control}_readers")
    shown = []
    try:
        for config, v in pairs.items():
            n = int(v[unit])
            counts = [int(v[k]) for k in fields]
            if n <= 0 or not any(counts):
                continue
            judged, read = (counts[0] - counts[1]) / n, (counts[2] - counts[3]) / n
            shown.append(
                f"{md_text(str(config))} {counts[0]} and {counts[1]} of {n} judged, {counts[2]}"
                f" and {counts[3]} read (past minus {control} {judged:+.3f} judged,"
                f" {read:+.3f} read)"
            )
    except (KeyError, TypeError, ValueError, OverflowError):
        return ""
    return "; ".join(shown)


def _by_attack(per_attack: Any, attacks: set[str]) -> str:
    """The judge's accuracy on the answers to each attack these jobs ran, and the attacks
    under which no answer was labelled (their judge error was not measured); nothing for a
    record written before the figures were kept per attack (it cannot tell)."""
    if not isinstance(per_attack, dict):
        return ""
    measured, unmeasured = [], []
    for attack in sorted(attacks):
        try:
            v = per_attack[attack]
            low, high = (float(x) for x in v["interval"])
            counts = (
                f"; compliance counted {int(v['complied_judged'])}, read"
                f" {int(v['complied_readers'])}"
                if "complied_judged" in v and "complied_readers" in v
                else ""
            )
            measured.append(
                f"{md_text(attack)} {float(v['accuracy']):.3f} [{low:.3f}, {high:.3f}]"
                f" (n = {int(v['n'])}{counts})"
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            unmeasured.append(md_text(attack))
    text = f"By attack: {', '.join(measured)}." if measured else ""
    if unmeasured:
        text += (
            f" No answers under {', '.join(unmeasured)} were labelled: its judge error there"
            " was not measured."
        )
    return text.strip()
