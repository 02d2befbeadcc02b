"""``cryoderm audit``: verify and export the clinic's tamper-evident audit log.

cryoderm audit verify                       # exit 0 intact, 1 with the first broken entry
cryoderm audit export [--output FILE] [--since SEQ]   # JSON lines (stdout by default)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="verify or export the clinic's hash-chained audit log",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    actions.add_parser("verify", help="check every entry's hash and link")
    export = actions.add_parser("export", help="write the entries as JSON lines")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument("--since", type=int, default=0, help="only entries after this number")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic import audit

    if args.audit_action == "verify":
        result = audit.verify()
        print(result, file=sys.stdout if result.ok else sys.stderr)
        return 0 if result.ok else 1
    if args.since < 0:
        from cryoderm.errors import UserInputError

        raise UserInputError(f"--since = {args.since}: an entry number, 0 or more")
    actor = "cli:audit-export"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as stream:
            count = audit.export(stream, actor=actor, since_seq=args.since)
        print(f"{count} entries written to {args.output}", file=sys.stderr)
    else:
        audit.export(sys.stdout, actor=actor, since_seq=args.since)
    return 0
