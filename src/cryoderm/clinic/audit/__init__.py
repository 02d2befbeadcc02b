"""The tamper-evident audit log: append-only, hash-chained, every read and write of client data.

Use :func:`record` (re-exported from :mod:`.log`) in the same transaction as the change::

    from cryoderm.clinic import audit
    audit.record(request.user, "client.read", client, {"fields": ["name"]})

:func:`verify` walks the chain and returns the first broken entry; :func:`export` writes
JSON lines. The database refuses UPDATE and DELETE on the entries (triggers on SQLite and
PostgreSQL), and the chain detects an edit and a deletion (of any entry, the last included)."""

from typing import Any

__all__ = ["Verification", "actor_label", "export", "record", "target_label", "verify"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: this package is a Django app, imported before models may be.
    if name in __all__:
        from . import log

        return getattr(log, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
