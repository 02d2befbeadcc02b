"""``cryoderm audit``: verify, checkpoint and export the clinic's sealed audit log.

cryoderm audit verify [--checkpoints FILE] [--public-key FILE]
                                # exit 0 intact, 1 with the first broken entry
cryoderm audit checkpoint       # sign the current head into the checkpoint file now
cryoderm audit rotate-key       # new audit key for new entries (restart the server after)
cryoderm audit export [--output FILE] [--since SEQ]   # JSON lines (stdout by default)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="verify, checkpoint or export the clinic's sealed audit log",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", help="check every entry's seal and link, and the signed checkpoints"
    )
    verify.add_argument(
        "--checkpoints", type=Path, help="a checkpoint file (default: the key directory's)"
    )
    verify.add_argument(
        "--public-key", type=Path, help="the checkpoint public key (default: the key directory's)"
    )
    actions.add_parser("checkpoint", help="sign the current head into the checkpoint file")
    actions.add_parser("rotate-key", help="generate a new audit key that seals new entries")
    export = actions.add_parser("export", help="write the entries as JSON lines")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument("--since", type=int, default=0, help="only entries after this number")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic import audit

    if args.audit_action == "verify":
        result = audit.verify(checkpoint_file=args.checkpoints, public_key=args.public_key)
        print(result, file=sys.stdout if result.ok else sys.stderr)
        return 0 if result.ok else 1
    if args.audit_action == "checkpoint":
        written = audit.checkpoints.write_now()
        print(
            f"checkpoint written to {audit.checkpoints.path()}"
            if written
            else "nothing new to checkpoint"
        )
        return 0
    if args.audit_action == "rotate-key":
        previous = audit.keys.keyring().current
        key_id = audit.keys.generate()
        audit.record("cli:audit", "audit.key_rotate", None, {"from": previous, "to": key_id})
        audit.checkpoints.write_now()
        print(
            f"new audit key {key_id} seals new entries; keep the old key files (they verify the "
            "entries they sealed) and restart `cryoderm serve`"
        )
        return 0
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
