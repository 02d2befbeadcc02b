"""``cryoderm manage list_tokens [--all]``: the API tokens, without their secrets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cryoderm.clinic.accounts import tokens


class Command(BaseCommand):
    help = (
        "List API tokens (prefix, name, scope, state, dates); --all includes revoked and expired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="also revoked and expired tokens")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = list(tokens.listing(include_inactive=options["all"]))
        if not rows:
            self.stdout.write("no tokens")
            return
        self.stdout.write("prefix    state    expires           last used         scope / name")
        for token in rows:
            scope = (
                f"device {token.device.serial_number}"
                if token.device
                else f"user {token.user.username}"
            )
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.prefix:<9} {tokens.state(token):<8} {token.expires_at:%Y-%m-%d %H:%M}  "
                f"{used:<17} {scope}: {token.name}"
            )
