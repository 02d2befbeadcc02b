"""``cryoderm manage revoke_token PREFIX...`` or ``--user USERNAME``: revoke tokens at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.accounts.models import ApiToken


class Command(BaseCommand):
    help = (
        "Revoke API tokens by their prefix (the part after cdt_, shown by list_tokens), or "
        "every token acting as or issued to --user. A revoked token is refused at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", nargs="*", help="token prefixes, e.g. 3f9c1a2b")
        parser.add_argument("--user", metavar="USERNAME", help="revoke every token of this user")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["prefix"]) == bool(options["user"]):
            raise CommandError("give token prefixes or --user USERNAME (one of them)")
        if options["user"]:
            chosen = list(ApiToken.objects.filter(user__username=options["user"]))
        else:
            chosen = list(ApiToken.objects.filter(prefix__in=options["prefix"]))
            missing = set(options["prefix"]) - {t.prefix for t in chosen}
            if missing:
                raise CommandError(f"no token with prefix {', '.join(sorted(missing))}")
        revoked = [t for t in chosen if tokens.revoke(t, actor="cli:manage")]
        for token in revoked:
            self.stdout.write(f"revoked {token.prefix} ({token.name})")
        self.stdout.write(
            f"{len(revoked)} token(s) revoked, {len(chosen) - len(revoked)} already were"
        )
