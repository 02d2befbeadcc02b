"""Starting Django from the command line: settings chosen, configuration validated.

Configuration problems (a bad DATABASE_URL, an unwritable data directory) become a
:class:`ClinicConfigurationError` (a user-input error, exit 2) with Django's message, not a
traceback."""

from __future__ import annotations

import os

from cryoderm.errors import UserInputError

SETTINGS = "cryoderm.clinic.settings"


class ClinicConfigurationError(UserInputError):
    """The clinic's environment (data directory, database, secret key) is not usable."""


def setup() -> None:
    """Configure and start Django once; idempotent."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as error:
        raise ClinicConfigurationError(str(error)) from error


def require_ready() -> None:
    """Start-up validation for serving: system checks pass and every migration is applied."""
    from django.core import checks
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    problems = [m for m in checks.run_checks(databases=["default"]) if m.is_serious()]
    if problems:
        raise ClinicConfigurationError("; ".join(f"{p.id}: {p.msg}" for p in problems))
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        raise ClinicConfigurationError(f"the database is not usable: {error}") from error
    if pending:
        raise ClinicConfigurationError(
            f"{len(pending)} database migrations are not applied; run `cryoderm manage migrate`"
        )
