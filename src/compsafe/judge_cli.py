"""`compsafe-judge`: re-judge saved generations (compsafe's items or another tool's) without
rerunning a model.

Reads a JSONL file of `prompt` / `continuation` pairs (the request and the model's answer;
other fields are kept), or a compsafe run's own `items/<task>.jsonl` as it is (each line's
request, the prompt the model read and the answer's text), runs the chosen judge(s) of
`refusal_judge` and writes each line back with `outcome` (refused | complied | degenerate |
off_topic), `judge`, `rule`, and each judge's outcome under `outcome_<judge>`. The four
outcomes' shares and, with two judges, Cohen's kappa are printed at the end.

    compsafe-judge generations.jsonl -o judged.jsonl
    compsafe-judge generations.jsonl --judge rules --judge llm --llm-model ./Qwen2.5-0.5B-Instruct
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from compsafe.errors import ConfigError
from compsafe.results.items import generated


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compsafe-judge",
        description="Judge saved (request, answer) pairs into refused / complied / degenerate "
        "/ off_topic, offline by default.",
    )
    parser.add_argument("input", help="JSONL file, one {prompt, continuation, ...} per line")
    parser.add_argument("-o", "--output", help="where to write (default: <input>.judged.jsonl)")
    parser.add_argument("--prompt-field", default="prompt", help="the request's field")
    parser.add_argument("--continuation-field", default="continuation", help="the answer's field")
    parser.add_argument(
        "--judge",
        action="append",
        choices=("rules", "classifier", "llm"),
        help="repeat for several (the first decides `outcome`); default: rules",
    )
    parser.add_argument("--topic-model", help="on-topic reference model, or 'none' (no model)")
    parser.add_argument(
        "--no-topic-probe",
        action="store_true",
        help="the rules alone, without the probe fitted on the labelled answers",
    )
    parser.add_argument("--classifier", help="sequence classifier folder or hub id")
    parser.add_argument("--classifier-label", default=None, help="its label that is scored")
    parser.add_argument("--classifier-means", default="refusal", choices=("refusal", "harmful"))
    parser.add_argument("--llm-model", help="the LLM judge: folder, pkg: path or hub id")
    parser.add_argument(
        "--llm-prompt",
        default="jailbreakbench",
        choices=("jailbreakbench", "harmbench", "strongreject"),
    )
    return parser.parse_args(argv)


def judge_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `refusal_judge` options the command line asks for."""
    options: dict[str, Any] = {"judges": args.judge or ["rules"]}
    if args.topic_model:
        options["topic_model"] = args.topic_model
    if args.no_topic_probe:
        options["topic_probe"] = False
    if "classifier" in options["judges"]:
        settings = {"means": args.classifier_means}
        if args.classifier:
            settings["path"] = args.classifier
        if args.classifier_label:
            settings["label"] = args.classifier_label
        options["classifier"] = settings
    if "llm" in options["judges"]:
        options["llm"] = {"model": args.llm_model, "prompt": args.llm_prompt}
    return options


def item_answer(record: Any) -> tuple[str, str, str, str] | None:
    """A line of compsafe's own items (`items/<task>.jsonl`): (the bare request, what the model
    read, the answer, its persona marker); None for any other line. The answer is the first
    output's text in `filtered_resps` (a refusal item has one), which also holds the judging
    of the run that wrote it: only the text is read, so the re-judgement owes nothing to it."""
    doc = record.get("doc") if isinstance(record, dict) else None
    outputs = generated(record)
    if not isinstance(doc, dict) or "request" not in doc or not outputs:
        return None
    request = str(doc["request"])
    marker = str(doc.get("answer_marker") or "")
    return request, str(doc.get("prompt") or request), str(outputs[0]["text"]), marker


def read_lines(path: Path, fields: tuple[str, str]) -> list[dict[str, Any]]:
    """Every line's record; a missing file, a bad line or a missing field is a ConfigError
    (compsafe's items lines need none: `item_answer`)."""
    if not path.is_file():
        raise ConfigError("input", str(path), "no such file")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise ConfigError("input", str(path), f"line {number} is not JSON") from None
        missing = (
            []
            if item_answer(record) is not None
            else [f for f in fields if not isinstance(record, dict) or f not in record]
        )
        if missing:
            raise ConfigError("input", str(path), f"line {number} lacks field {missing[0]!r}")
        records.append(record)
    if not records:
        raise ConfigError("input", str(path), "no records")
    return records


def judge_records(records: list[dict], options: dict[str, Any], fields: tuple[str, str]):
    """Each record with its judgement added (the record's own fields kept)."""
    from compsafe.evaluation.scorers import get_scorer
    from compsafe.evaluation.scorers.refusal_judge import Answer

    scorer = get_scorer("refusal_judge", options)
    prompt, continuation = fields
    answers = [
        Answer(*found)
        if (found := item_answer(r))
        else Answer(
            str(r[prompt]), str(r[prompt]), str(r[continuation] or ""), r.get("answer_marker") or ""
        )
        for r in records
    ]
    judged = scorer.judge_answers(answers)
    keep = ("outcome", "judge", "rule", "harmful", "action", "language")
    return [
        {
            **r,
            **({"continuation": a.text} if continuation not in r else {}),  # items: the text
            **{k: j[k] for k in keep},
            **{k: v for k, v in j.items() if k.startswith("outcome_")},
        }
        for r, a, j in zip(records, answers, judged, strict=True)
    ]


def summary(judged: list[dict]) -> str:
    from compsafe.evaluation.tasks.refusal_metrics import OUTCOMES, judge_kappa

    counts = Counter(r["outcome"] for r in judged)
    lines = [f"{len(judged)} answers judged by {judged[0]['judge']}:"]
    lines += [f"  {o:<10} {counts[o] / len(judged):.3f} ({counts[o]})" for o in OUTCOMES]
    judges = [k for k in judged[0] if k.startswith("outcome_")]
    for other in judges[1:]:
        kappa = judge_kappa([f"{r[judges[0]]}|{r[other]}" for r in judged])
        lines.append(f"  Cohen's kappa {judges[0][8:]} vs {other[8:]}: {kappa:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fields = (args.prompt_field, args.continuation_field)
    source = Path(args.input).expanduser()
    target = Path(args.output) if args.output else source.with_suffix(".judged.jsonl")
    try:
        records = read_lines(source, fields)
        judged = judge_records(records, judge_options(args), fields)
    except ConfigError as err:
        print(f"compsafe-judge: error: {err}", file=sys.stderr)
        return 2
    target.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judged), encoding="utf-8"
    )
    print(summary(judged))
    print(f"Wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
