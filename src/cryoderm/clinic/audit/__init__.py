"""The tamper-evident audit log: append-only, sealed with a key kept outside the database,
checkpointed outside it; every read and write of client data.

Use :func:`record` (re-exported from :mod:`.log`) in the same transaction as the change::

    from cryoderm.clinic import audit
    audit.record(request.user, "client.read", client, {"fields": ["name"]})

:func:`verify` walks the chain and returns the first broken entry; :func:`export` writes
JSON lines. The database refuses UPDATE and DELETE on the entries (triggers on SQLite and
PostgreSQL). Someone who lifts that guard still cannot re-seal an edited entry without the
audit key (:mod:`.chain`), nor hide deleted newest entries from the signed checkpoints
(:mod:`.checkpoints`)."""

import importlib
from typing import Any

__all__ = ["Verification", "actor_label", "export", "record", "target_label", "verify"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: this package is a Django app, imported before models may be.
    if name in ("chain", "checkpoints", "keys"):
        return importlib.import_module(f".{name}", __name__)
    if name == "Verification":
        from .chain import Verification

        return Verification
    if name in __all__:
        from . import log

        return getattr(log, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
