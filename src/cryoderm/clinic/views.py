"""Project-level views: a health probe for deployments."""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, JsonResponse

from cryoderm.clinic import storage

#: assumption: a healthy database grants the write lock within milliseconds; a probe that
#: waits a whole second for it has found the clinic unable to record (a stop included).
PROBE_WAIT_MS = 1000


def database_problem() -> str | None:
    """None when the database answers and would accept a write now; else what is wrong.

    The probe takes the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction id,
    refused on a read-only server) and writes nothing."""
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"PRAGMA busy_timeout = {PROBE_WAIT_MS}")
                try:
                    with transaction.atomic():
                        pass
                finally:
                    cursor.execute(f"PRAGMA busy_timeout = {storage.SQLITE_BUSY_TIMEOUT_MS}")
            else:
                with transaction.atomic():
                    cursor.execute(f"SET LOCAL statement_timeout = {PROBE_WAIT_MS}")
                    cursor.execute(f"SET LOCAL lock_timeout = {PROBE_WAIT_MS}")
                    cursor.execute("SELECT pg_current_xact_id()")
    except DatabaseError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def health(request: HttpRequest) -> JsonResponse:
    """200 when the database accepts writes and the interlock is alive (its loop made
    progress lately); otherwise 503 naming each problem. No data."""
    from cryoderm.clinic.live import channel

    body: dict[str, object] = {"status": "ok", "database": connection.vendor}
    problem = database_problem()
    if problem is not None:
        body["problem"] = problem
    interlock = channel.health()
    body["interlock"] = "alive" if interlock.alive else "down"
    if not interlock.alive:
        body["interlock_problem"] = interlock.why
    if problem is not None or not interlock.alive:
        body["status"] = "unavailable"
        return JsonResponse(body, status=503)
    return JsonResponse(body)
