"""``cryoderm demo``: migrate the database and seed a realistic demo clinic.

    cryoderm demo [--if-empty]

Staff ``director``, ``practitioner`` and ``frontdesk`` get the password in
CRYODERM_DEMO_PASSWORD, or a generated one that is printed. With --if-empty nothing is
seeded when the clinic already has clients or logins (what `make run` uses).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="migrate and seed a demo clinic (staff, devices, clients, past sessions)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--if-empty", action="store_true", help="seed only when the clinic has no data yet"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from cryoderm.clinic import demo
    from cryoderm.errors import NotPermitted

    if not demo.is_empty():
        if args.if_empty:
            print("the clinic already has data: demo not seeded")
            return 0
        raise NotPermitted(
            "the clinic already has data; seed the demo into an empty data directory "
            "(CRYODERM_DATA_DIR) or use --if-empty"
        )
    result = demo.seed()
    print(
        f"demo clinic seeded: {result.clients} clients, {result.sessions} past sessions, "
        f"{result.readings} skin readings"
    )
    source = "generated" if result.password_generated else "from CRYODERM_DEMO_PASSWORD"
    print(f"log in as {', '.join(result.usernames)} with password {result.password} ({source})")
    return 0
