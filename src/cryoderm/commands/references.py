"""``cryoderm references``: the bibliography every source of cryoderm cites by key.

    cryoderm references [KEY ...] [--format text|markdown|json]

Each work with the key its sources use, how it is shown ("Author Year"), its link and what
cryoderm takes from it (src/cryoderm/data/references.toml; docs/references.md).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cryoderm.errors import UserInputError


class UnknownReference(UserInputError):
    """A key the bibliography does not have (exit 2)."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "references",
        help="list the bibliography (key, 'Author Year', link, what it is used for)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("keys", nargs="*", metavar="KEY", help="only these works")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.data import citations

    known = citations.references()
    unknown = [key for key in args.keys if key not in known]
    if unknown:
        raise UnknownReference(
            f"KEY = {unknown[0]!r}: a key of the bibliography (cryoderm references lists them)"
        )
    works = [known[key] for key in args.keys] if args.keys else list(known.values())
    if args.format == "markdown":
        print(citations.markdown(), end="")
    elif args.format == "json":
        rows = [
            {**entry, "title": w.title, "venue": w.venue, "used_for": w.used_for}
            for entry, w in zip(citations.as_json(works), works, strict=True)
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for work in works:
            print(f"{work.key:24} {citations.reference_lines([work])[0]}")
            print(f"{'':24} used for: {work.used_for}")
    return 0
