"""``cryoderm screen``: screen a client's answers for facial cryotherapy.

    cryoderm screen --list                      # condition identifiers, rules, sources
    cryoderm screen ANSWERS.json [--format json] [--modality M] [--zone Z[,Z...]]
                    [--policy POLICY.json] [--today YYYY-MM-DD]

Prints the verdict (do-not-treat, refer, precautions or clear) with its findings. Exit 0
for any verdict; 2 for unreadable or invalid answers (the message names the field).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "screen",
        help="screen a client's answers (contraindications) for facial cryotherapy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "answers", nargs="?", help="answers JSON (plain shape or FHIR QuestionnaireResponse)"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the condition identifiers and rules with sources"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--modality", choices=("cold-air", "ln2-vapour", "contact"))
    parser.add_argument("--zone", help="treated zones, comma-separated (default: every zone)")
    parser.add_argument(
        "--policy", help="clinic policy JSON: name, grade_overrides, waiting_period_days"
    )
    parser.add_argument("--today", help="screening date YYYY-MM-DD (default: today)")
    parser.set_defaults(handler=run)


def read_json(path: str, field: str) -> Any:
    """Read a JSON file given on the command line; errors name the file."""
    from cryoderm.clinical.errors import InvalidAnswer

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidAnswer(field, path, f"cannot be read ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise InvalidAnswer(
            field, path, f"is not valid JSON ({error.msg}, line {error.lineno})"
        ) from None


def _list(fmt: str) -> int:
    from cryoderm.clinical.rules import load_rulebook
    from cryoderm.data.citations import as_json, cite, cited, reference_lines

    rulebook = load_rulebook()
    sources = [r.source for r in rulebook.rules.values()]
    sources += [p.source for p in rulebook.waiting_periods.values()]
    works = cited(*sources)
    if fmt == "json":
        print(
            json.dumps(
                {
                    "rules": [
                        {
                            "id": r.id,
                            "kind": r.kind,
                            "label": r.label,
                            "grade": r.grade,
                            "scope": r.scope,
                            "source": r.source,
                            "disagreement": r.disagreement,
                        }
                        for r in rulebook.rules.values()
                    ],
                    "waiting_periods": [
                        {"kind": p.kind, "days": p.days, "source": p.source, "evidence": p.evidence}
                        for p in rulebook.waiting_periods.values()
                    ],
                    "references": as_json(works),
                },
                indent=2,
            )
        )
        return 0
    titles = {
        "condition": "Conditions (answers: conditions)",
        "procedure": "Recent procedures",
        "answer": "Rules on measured answers, zones and modality",
    }
    for kind, title in titles.items():
        print(title)
        for rule in rulebook.rules.values():
            if rule.kind == kind:
                area = " [area: may name zones]" if rule.scope == "area" else ""
                print(f"  {rule.id:34} {rule.grade:13} {rule.label}{area}")
                print(f"  {'':34} source: {cite(rule.source)}")
                if rule.disagreement:
                    print(f"  {'':34} sources disagree: {rule.disagreement}")
        if kind == "procedure":
            for period in rulebook.waiting_periods.values():
                print(
                    f"  kind={period.kind:29} wait {period.days} days; {cite(period.source)} "
                    f"({period.evidence})"
                )
        print()
    print("References")
    for line in reference_lines(works):
        print(f"  {line}")
    return 0


def run(args: argparse.Namespace) -> int:
    import datetime

    from cryoderm.clinical.answers import parse_answers
    from cryoderm.clinical.errors import InvalidAnswer
    from cryoderm.clinical.policy import ScreeningPolicy
    from cryoderm.clinical.screening import screen

    if args.list:
        return _list(args.format)
    if not args.answers:
        raise InvalidAnswer("ANSWERS", None, "give an answers JSON file, or --list")
    answers = parse_answers(read_json(args.answers, "ANSWERS"))
    policy = (
        ScreeningPolicy.from_mapping(read_json(args.policy, "--policy")) if args.policy else None
    )
    try:
        today = datetime.date.fromisoformat(args.today) if args.today else None
    except ValueError:
        raise InvalidAnswer("--today", args.today, "a date YYYY-MM-DD") from None
    zones = [z.strip() for z in args.zone.split(",") if z.strip()] if args.zone else None
    verdict = screen(answers, policy=policy, modality=args.modality, zones=zones, today=today)
    if args.format == "json":
        print(json.dumps(verdict.to_json_dict(), indent=2))
    else:
        print(verdict.summary())
    return 0
