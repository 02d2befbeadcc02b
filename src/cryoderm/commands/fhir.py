"""``cryoderm fhir``: export a client's record as a FHIR Bundle (R5 by default, or R4B).

cryoderm fhir export --client ID [--version R5|R4B] [--out FILE]

The Bundle (type collection) holds the Patient, the Practitioners and Devices of their
sessions, Consents, DetectedIssues (contraindication findings), Procedures, every skin
reading as an Observation (LOINC 61008-9, UCUM Cel) and the AuditEvents about these
records; it is validated by fhir.resources before it is written. The export itself is
recorded in the audit log. See docs/fhir.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

VERSIONS = ("R5", "R4B")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fhir",
        help="export a client's record as a FHIR Bundle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="fhir_action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write one client's record as a FHIR Bundle (JSON)")
    export.add_argument("--client", required=True, help="the client's id")
    export.add_argument("--version", default="R5", help="FHIR version: R5 (default) or R4B")
    export.add_argument("--out", "-o", help="file to write (default: standard output)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.errors import UserInputError

    if args.version not in VERSIONS:
        raise UserInputError(f"--version = {args.version!r}: one of {', '.join(VERSIONS)}")
    try:
        client_id = int(args.client)
    except ValueError:
        raise UserInputError(f"--client = {args.client!r}: a client id (a whole number)") from None

    from cryoderm.clinic import runtime

    runtime.setup()
    runtime.require_ready()
    from cryoderm.clinic.fhir.export import export_client
    from cryoderm.clinic.records.errors import RecordNotFound

    try:
        chunks = export_client("cli:fhir-export", client_id, args.version).chunks()
    except RecordNotFound:
        raise UserInputError(f"--client = {client_id}: no client with this id") from None
    if args.out:
        with open(args.out, "wb") as stream:
            written = _write(chunks, stream)
        print(f"{written} bytes written to {args.out}", file=sys.stderr)
    else:
        _write(chunks, sys.stdout.buffer)
    return 0


def _write(chunks: Any, stream: Any) -> int:
    written = 0
    for chunk in chunks:
        stream.write(chunk)
        written += len(chunk)
    stream.write(b"\n")
    stream.flush()
    return written + 1
