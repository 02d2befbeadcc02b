"""``cryoderm session-sim``: one whole simulated session through the real interlock.

    cryoderm session-sim --zone Z --modality M [--goal G]
                         [--fault none|linger|dropout|nan|stuck|drift|noise|out-of-range]
                         [--fault-start-s S] [--journal DIR] [--format json|text]

The protocol is the planner's for the zone and modality (for --goal, or the catalogue's
first goal with a safe protocol); the virtual face is the thermal engine under that plan;
the device, the embedded transport and the interlock run on a controlled clock, so the
session takes seconds. The journal is real (a temporary directory unless --journal).
Prints the session record (keys in docs/interlock.md). No database, no broker.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cryoderm.interlock.faults import FAULT_KINDS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "session-sim",
        help="simulate one session (virtual face, device, faults) through the real interlock",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--zone", required=True, help="face zone, e.g. cheek")
    parser.add_argument("--modality", required=True, help="cold-air, ln2-vapour or contact")
    parser.add_argument("--goal", help="catalogue goal (default: first with a safe protocol)")
    parser.add_argument("--fault", choices=FAULT_KINDS, default="none")
    parser.add_argument(
        "--fault-start-s",
        type=float,
        default=5.0,
        help="session time at which the fault begins (default 5 s)",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        metavar="DIR",
        help="keep the journal here (default: a temporary directory)",
    )
    parser.add_argument("--format", choices=("json", "text"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json
    import tempfile

    from cryoderm.interlock.faults import Fault
    from cryoderm.interlock.simulation import run_session

    fault = Fault(args.fault, start_s=args.fault_start_s)
    if args.journal is not None:
        record = run_session(args.zone, args.modality, fault, args.journal, goal=args.goal)
    else:
        with tempfile.TemporaryDirectory(prefix="cryoderm-session-sim-") as tmp:
            record = run_session(args.zone, args.modality, fault, Path(tmp), goal=args.goal)
        record["journal"] = None
    if args.format == "json":
        print(json.dumps(record, indent=2))
    else:
        print(_text(record))
    return 0


def _text(record: dict[str, Any]) -> str:
    lines = [
        f"session-sim: {record['zone']}, {record['modality']}, goal {record['goal']} "
        f"(plan {record['plan_status']}, {record['planned_duration_s']} s), fault {record['fault']}",
        f"stopped: {record['stopped']}  reason: {record['stop_reason']}  at {record['stop_time_s']} s"
        f"  latency {record['stop_latency_ms']} ms",
        f"skin: lowest reading {record['min_skin_temp_c']} C, lowest true "
        f"{record['min_true_skin_temp_c']} C (floor {record['floor_temp_c']} C)",
        f"readings: {record['readings']} received, {record['readings_valid']} valid, "
        f"{record['readings_acknowledged']} acknowledged; last valid at {record['last_valid_reading_s']} s",
    ]
    for alarm in record["alarms"]:
        lines.append(
            f"alarm {alarm['alarm_id']} [{alarm['priority']}, {alarm['category']}] "
            f"t={alarm['raised_t_s']:.2f} s: {alarm['message']}"
        )
    return "\n".join(lines)
