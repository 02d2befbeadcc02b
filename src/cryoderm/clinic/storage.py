"""Where the clinic keeps its data: a data directory, a secret key and one database.

Read from the environment once, when Django loads :mod:`cryoderm.clinic.settings` (start-up),
never at import of this module:

``CRYODERM_DATA_DIR``
    The data directory (``./var`` when unset; the Makefile sets it). Holds the SQLite
    database, the generated secret key and uploaded photos.
``DATABASE_URL``
    A PostgreSQL URL (``postgresql://user@host:5432/name``) to use instead of SQLite.
``CRYODERM_TEST_DATABASE=postgres``
    The test suite runs against the local PostgreSQL server (``make test-postgres``).
``CRYODERM_SECRET_KEY``
    Django's signing key; when unset one is generated into ``DATA_DIR/secret_key`` (mode
    0600) on first start and reused afterwards, so it is never committed.

SQLite runs in WAL mode (readers do not block the writer) with IMMEDIATE transactions (a
writing transaction takes the write lock at BEGIN, so two requests never deadlock on lock
upgrade) and a busy timeout.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

SQLITE_NAME = "cryoderm.sqlite3"
SECRET_KEY_NAME = "secret_key"
TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: How long a SQLite writer waits for the write lock before failing ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 5000
#: The SQLite connection set-up: WAL journal, fsync at checkpoints only (safe with WAL),
#: wait for the write lock instead of failing at once.
SQLITE_INIT = (
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"
)
#: The pool of each process (a web process runs at most 12 requests at once,
#: cryoderm.clinic.server.handler.REQUEST_THREADS). assumption: 2 connections kept warm serve
#: a quiet clinic, 16 cover a web process's request threads and the few checks made beside
#: them, and a request waits up to 10 s for one (then fails with a clear error) rather than
#: opening connections without bound.
POSTGRES_POOL = {"min_size": 2, "max_size": 16, "timeout": 10}
#: assumption: a SQLite connection is kept by the thread that opened it for up to 10 minutes
#: (the web's request threads outlive their requests), so a request neither opens a new one
#: nor starts with a cold page cache; ten minutes bounds how long a closed-by-mistake file
#: could stay open.
SQLITE_CONN_MAX_AGE_S = 600
SUPPORTED_ENGINES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The data directory, created if missing, private to this account (mode 0700): it holds
    the database, the photographs and the secret key."""
    from cryoderm.clinic.keys import private_dir

    return private_dir(
        Path(env.get("CRYODERM_DATA_DIR") or "var").expanduser().resolve(), "CRYODERM_DATA_DIR"
    )


def secret_key(directory: Path, env: Mapping[str, str] = os.environ) -> str:
    """CRYODERM_SECRET_KEY, else the key stored in the data directory (generated once)."""
    if key := env.get("CRYODERM_SECRET_KEY"):
        if len(key) < 32:
            raise ImproperlyConfigured("CRYODERM_SECRET_KEY must be at least 32 characters")
        return key
    path = directory / SECRET_KEY_NAME
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text(encoding="ascii").strip()


def sqlite_database(path: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"init_command": SQLITE_INIT, "transaction_mode": "IMMEDIATE"},
        "CONN_MAX_AGE": SQLITE_CONN_MAX_AGE_S,
    }


def database(directory: Path, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The ``DATABASES["default"]`` entry chosen by the environment."""
    import dj_database_url

    url = env.get("DATABASE_URL", "")
    if env.get("CRYODERM_TEST_DATABASE") == "postgres":
        url = TEST_POSTGRES_URL
    elif env.get("CRYODERM_TEST_DATABASE") not in (None, "", "sqlite"):
        raise ImproperlyConfigured(
            f"CRYODERM_TEST_DATABASE = {env['CRYODERM_TEST_DATABASE']!r}: use 'sqlite' or 'postgres'"
        )
    if not url:
        return sqlite_database(directory / SQLITE_NAME)
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not usable: {error}") from error
    if config.get("ENGINE") not in SUPPORTED_ENGINES:
        raise ImproperlyConfigured(
            f"DATABASE_URL uses {config.get('ENGINE')!r}: cryoderm supports PostgreSQL "
            "(postgresql://...) or, without DATABASE_URL, its embedded SQLite"
        )
    if config["ENGINE"].endswith("sqlite3"):
        return sqlite_database(Path(config["NAME"]))
    # Under ASGI each request runs in a thread of its own, so per-thread persistent
    # connections would never be reused: connections come from a pool instead (psycopg_pool,
    # Django 5.1+), returned at the end of each request.
    config["CONN_MAX_AGE"] = 0
    config.setdefault("OPTIONS", {})["pool"] = POSTGRES_POOL
    if env.get("CRYODERM_TEST_DATABASE") == "postgres":
        # One test database per test process, so that two test runs on one server (several
        # developers, or CI beside a developer) never collide; xdist adds its worker suffix.
        config["TEST"] = {"NAME": f"test_cryoderm_{os.getpid()}"}
    return config


def describe(config: Mapping[str, Any]) -> str:
    """A one-line description of a database entry without its password."""
    if config["ENGINE"].endswith("sqlite3"):
        return f"SQLite {config['NAME']}"
    return f"PostgreSQL {config.get('USER') or ''}@{config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}/{config['NAME']}"


def system_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Django system check run at start-up: the database answers and SQLite is in WAL mode."""
    from django.core import checks
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA journal_mode")
                mode = cursor.fetchone()[0]
                if mode not in ("wal", "memory"):
                    return [
                        checks.Warning(
                            f"SQLite journal mode is {mode!r}, not WAL",
                            hint="Check that the data directory is on a local file system.",
                            id="cryoderm.W001",
                        )
                    ]
            else:
                cursor.execute("SELECT 1")
    except DatabaseError as error:
        return [
            checks.Error(
                f"The database ({describe(connection.settings_dict)}) does not answer: {error}",
                hint="Start the server or fix DATABASE_URL / CRYODERM_DATA_DIR.",
                id="cryoderm.E001",
            )
        ]
    return []
