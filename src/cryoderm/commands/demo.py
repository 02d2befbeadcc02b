"""``cryoderm demo``: migrate the database and seed a realistic demo clinic.

    cryoderm demo [--if-empty]

Staff ``director``, ``practitioner`` and ``frontdesk`` get the password in
CRYODERM_DEMO_PASSWORD, or a generated one that is printed. The director and the
practitioner sign in with a second factor: their authenticator is set up with the key in
CRYODERM_DEMO_TOTP_SECRET (base32), or a generated one that is printed, with a command that
shows the current code. With --if-empty nothing is seeded when the clinic already has
clients or logins (what `make run` uses).
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
    enrol_demo_authenticators(result.usernames)
    return 0


def enrol_demo_authenticators(usernames: Any) -> None:
    """Set up the authenticator of each demo user whose role needs one, with one known key,
    and print how to get its codes."""
    import os
    import sys

    from django.contrib.auth import get_user_model

    from cryoderm.clinic.accounts import mfa
    from cryoderm.errors import UserInputError

    given = os.environ.get("CRYODERM_DEMO_TOTP_SECRET", "").replace(" ", "").upper()
    if given and (len(given) < 16 or set(given) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")):
        raise UserInputError(
            "CRYODERM_DEMO_TOTP_SECRET: a base32 key (letters A-Z and digits 2-7), at least "
            "16 characters"
        )
    secret = given or mfa.new_secret()
    users = get_user_model().objects.filter(username__in=list(usernames)).order_by("username")
    needing = [user for user in users if mfa.required(user)]
    for user in needing:
        mfa.enrol_with_secret(user, secret, actor="system:demo")
    if not needing:
        return
    source = "from CRYODERM_DEMO_TOTP_SECRET" if given else "generated"
    names = ", ".join(user.get_username() for user in needing)
    print(
        f"{names} also give a code from an authenticator app set up with the key {secret} ({source})"
    )
    show = f"import pyotp; print(pyotp.TOTP('{secret}').now())"
    print(f'  the current code: {sys.executable} -c "{show}"')
