"""``cryoderm manage issue_token USERNAME NAME [--device SERIAL] [--days N]``: print a new
API token once."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cryoderm.clinic.accounts import tokens
from cryoderm.errors import UserInputError


class Command(BaseCommand):
    help = (
        "Issue a bearer token acting as USERNAME or, with --device, scoped to one device. "
        "The token is printed once and stored only as a hash; it expires after --days "
        f"(default {tokens.USER_TOKEN_DAYS}, or {tokens.DEVICE_TOKEN_DAYS} for a device)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the user the token acts as (or who issues it)")
        parser.add_argument("name", help="what the token is for, e.g. 'chiller 2 sensor'")
        parser.add_argument("--device", metavar="SERIAL", help="scope the token to this device")
        parser.add_argument(
            "--days", type=int, help=f"days until it expires (1 to {tokens.MAX_DAYS})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username = {options['username']!r}: no such user")
        device = None
        if options["device"]:
            device_model = apps.get_model("records", "Device")
            device = device_model.objects.filter(serial_number=options["device"]).first()
            if device is None:
                raise CommandError(f"--device = {options['device']!r}: no device with that serial")
        try:
            issued = tokens.issue(
                options["name"], user=user, device=device, days=options["days"], actor="cli:manage"
            )
        except UserInputError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(issued.plaintext)
        self.stderr.write(
            f"Store this token now: it cannot be shown again. It expires on "
            f"{issued.token.expires_at:%Y-%m-%d %H:%M} UTC (prefix {issued.token.prefix})."
        )
