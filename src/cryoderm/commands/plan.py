"""``cryoderm plan``: a per-zone protocol from the physics, for a screened client.

    cryoderm plan --zone cheek,forehead --goal skin-tone --modality ln2-vapour
                  [--answers ANSWERS.json] [--sex female] [--age 45]
                  [--thickness cheek.dermis=1.2] [--signed-off]
                  [--format json] [--export-cases DIR] [--plot FILE.png]

With --answers the client is screened first (for this modality and these zones), and sex
and age come from the answers. Exit 0: a plan (also one pending a clinician's sign-off);
3: refused (a do-not-treat verdict) or no safe protocol for some zone (the plan is still
printed with the nearest candidate and why it fails); 2: bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

EXIT_NO_SAFE_PROTOCOL = 3


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="plan a facial cryotherapy session per zone from the physics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--zone", required=True, help="zones, comma-separated (e.g. cheek,forehead)"
    )
    parser.add_argument("--goal", required=True, help="goals, comma-separated (e.g. skin-tone)")
    parser.add_argument("--modality", required=True, help="cold-air, ln2-vapour or contact")
    parser.add_argument(
        "--answers", help="screening answers JSON (plain or FHIR QuestionnaireResponse)"
    )
    parser.add_argument("--policy", help="clinic screening policy JSON")
    parser.add_argument("--today", help="screening date YYYY-MM-DD (default: today)")
    parser.add_argument("--sex", choices=("female", "male"), help="overrides the answers")
    parser.add_argument("--age", type=float, help="age in years (overrides the answers)")
    parser.add_argument(
        "--thickness",
        action="append",
        default=[],
        metavar="ZONE.LAYER=MM",
        help="a measured layer thickness, e.g. cheek.dermis=1.2 (repeatable)",
    )
    parser.add_argument(
        "--signed-off", action="store_true", help="a clinician has signed off a refer verdict"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--export-cases", metavar="DIR", help="write each step's case file here")
    parser.add_argument(
        "--plot", metavar="FILE", help="write the predicted curves (.png, .svg, .pdf)"
    )
    parser.set_defaults(handler=run)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _thickness(items: list[str]) -> dict[str, dict[str, float]]:
    from cryoderm.clinical.errors import InvalidAnswer

    overrides: dict[str, dict[str, float]] = {}
    for item in items:
        key, _, value = item.partition("=")
        zone, _, layer = key.partition(".")
        try:
            overrides.setdefault(zone.strip(), {})[layer.strip()] = float(value)
        except ValueError:
            raise InvalidAnswer(
                "--thickness", item, "ZONE.LAYER=MM, e.g. cheek.dermis=1.2", "mm"
            ) from None
        if not zone or not layer:
            raise InvalidAnswer("--thickness", item, "ZONE.LAYER=MM, e.g. cheek.dermis=1.2", "mm")
    return overrides


def run(args: argparse.Namespace) -> int:
    import datetime

    from cryoderm.clinical.answers import parse_answers
    from cryoderm.clinical.errors import InvalidAnswer
    from cryoderm.clinical.planner import PlanRequest, plan
    from cryoderm.clinical.policy import ScreeningPolicy
    from cryoderm.clinical.screening import screen
    from cryoderm.commands.screen import read_json

    zones, goals = _split(args.zone), _split(args.goal)
    sex, age, verdict = args.sex, args.age, None
    if args.answers:
        answers = parse_answers(read_json(args.answers, "--answers"))
        policy = (
            ScreeningPolicy.from_mapping(read_json(args.policy, "--policy"))
            if args.policy
            else None
        )
        try:
            today = datetime.date.fromisoformat(args.today) if args.today else None
        except ValueError:
            raise InvalidAnswer("--today", args.today, "a date YYYY-MM-DD") from None
        verdict = screen(answers, policy=policy, modality=args.modality, zones=zones, today=today)
        sex = sex or answers.sex
        if age is None:
            age = answers.age_years
    if args.age is not None and not 0.0 <= args.age <= 120.0:
        raise InvalidAnswer("--age", args.age, "from 0 to 120", "years")
    request = PlanRequest(
        goals=goals,
        zones=zones,
        modality=args.modality,
        sex=sex,
        age_years=age,
        thickness_overrides_mm=_thickness(args.thickness),
        verdict=verdict,
        referral_signed_off=args.signed_off,
    )
    result = plan(request)
    if args.export_cases:
        _export(result, Path(args.export_cases))
    if args.plot:
        _plot(result, Path(args.plot))
    from cryoderm.data.citations import as_json, cited

    works = cited(*(text for step in result.steps for text in step.sources.values()))
    if args.format == "json":
        document = result.to_json_dict()
        document["references"] = as_json(works)
        print(json.dumps(document, indent=2))
    else:
        print(_text(result, works))
    return 0 if result.feasible else EXIT_NO_SAFE_PROTOCOL


def _export(result: Any, directory: Path) -> None:
    """Each step's resolved case file (every default filled in), headed by the cryoderm
    version and the case's hash: `cryoderm simulate` re-runs it."""
    from cryoderm.clinical.errors import InvalidAnswer
    from cryoderm.physics.provenance import provenance

    try:
        directory.mkdir(parents=True, exist_ok=True)
        for index, step in enumerate(result.steps, start=1):
            path = directory / f"{index:02d}-{step.zone}-{step.modality}.toml"
            made = provenance(step.case)
            header = (
                f"# Planned by cryoderm {made.cryoderm_version}: the resolved case of step "
                f"{index} ({step.zone}), case_sha256 {made.case_sha256}\n"
            )
            path.write_text(header + made.case_toml, encoding="utf-8")
    except OSError as error:
        raise InvalidAnswer(
            "--export-cases", str(directory), f"cannot be written ({error.strerror})"
        ) from None


def _plot(result: Any, path: Path) -> None:
    from cryoderm.clinical.errors import InvalidAnswer

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InvalidAnswer("--plot", str(path), "a file ending in .png, .svg or .pdf")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = result.steps
    figure, axes = plt.subplots(len(steps), 1, figsize=(7, 2.6 * len(steps)), squeeze=False)
    for axis, step in zip(axes[:, 0], steps, strict=True):
        p = step.prediction
        axis.axhspan(*step.band_c, color="tab:green", alpha=0.15, label="target band")
        axis.axhline(step.floor_temp_c, color="tab:red", linestyle="--", label="floor")
        axis.axvline(p.duration_s, color="grey", linestyle=":", label="exposure ends")
        axis.plot(p.time_s, p.surface_c, label="surface")
        axis.plot(p.time_s, p.basal_c, label="basal layer")
        axis.set_title(f"{step.zone}: {step.status}", fontsize=9)
        axis.set_ylabel("temperature (C)")
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as error:
        raise InvalidAnswer("--plot", str(path), f"cannot be written ({error.strerror})") from None
    finally:
        plt.close(figure)


def _text(result: Any, works: list[Any]) -> str:
    """The plan as the practitioner reads it: labels, signed °C, K for margins."""
    from cryoderm.data.citations import cite, reference_lines
    from cryoderm.data.labels import celsius, celsius_range, kelvin, label, label_list

    screening = label("grade", result.screening)
    lines = [
        f"plan: {label_list('goal', result.goals)} with {label('modality', result.modality)} "
        f"(screening: {screening}{'; PENDING SIGN-OFF' if result.pending_sign_off else ''})"
    ]
    lines += [f"  note: {note}" for note in result.notes]
    for step in result.steps:
        p = step.prediction
        layers = ", ".join(
            f"{label('layer', name)} {celsius(value, signed=True)}"
            for name, value in p.min_temp_c_by_layer.items()
        )
        status = "planned" if step.status == "planned" else "no safe protocol"
        lines.append(f"- {label('zone', step.zone)}: {status}: {p.delivery.describe()}")
        reached = (
            "not reached"
            if p.reached_band_at_s is None
            else f"reached at {p.reached_band_at_s:g} s"
        )
        hold = (
            f"{p.time_in_band_s:.1f} s in band (hold {step.hold_s:g} s)"
            if step.hold_s > 0
            else "then move on (the band is reached, not held)"
        )
        lines.append(
            f"    target surface {celsius_range(*step.band_c)}: {reached}, {hold}; "
            f"max exposure {step.max_exposure_s:g} s"
        )
        lines.append(f"    coldest per layer: {layers}")
        m = p.margins
        margin = (
            f"    margins ({m.basis}): floor {kelvin(m.to_floor_k, signed=True)}, "
            f"tissue freezing {kelvin(m.to_freezing_k, signed=True)}"
        )
        if m.to_numbness_k is not None:
            margin += f", contact numbness {kelvin(m.to_numbness_k, signed=True)}"
        lines.append(margin)
        if p.intervals is not None:
            spread = p.intervals.metrics.get("min_surface_temp_c")
            if spread is not None and None not in (spread.low, spread.median, spread.high):
                lines.append(
                    f"    coldest surface over the input spreads: "
                    f"{celsius(spread.low, signed=True)} / {celsius(spread.median, signed=True)}"
                    f" / {celsius(spread.high, signed=True)} (5th / 50th / 95th percentile)"
                )
        lines += [f"    FAILS: {failure}" for failure in p.failures]
        lines += [f"    precaution: {cite(text)}" for text in step.precautions]
    if result.steps:
        first = result.steps[0]
        lines += [
            f"  evidence for {label('goal', goal)}: {cite(words)}"
            for goal, words in first.evidence.items()
        ]
        lines += [f"  aftercare: {cite(text)}" for text in first.aftercare]
        lines.append(
            f"  course: {first.course_sessions[0]}-{first.course_sessions[1]} sessions, "
            f"at least {first.min_interval_h:g} h apart (weak evidence; see sources in --format json)"
        )
    if works:
        lines.append("  sources of the protocol and its limits:")
        lines += [f"    {line}" for line in reference_lines(works)]
    return "\n".join(lines)
