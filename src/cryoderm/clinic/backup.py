"""Backing up and restoring the clinic's database.

SQLite: SQLite's online backup API copies a consistent snapshot while the clinic runs, and
restores by copying the file back into the live database (triggers and all).
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --single-transaction``
(the PostgreSQL client tools of the server's major version must be on PATH).

After a restore the audit chain is verified, so a damaged or doctored backup is reported.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from cryoderm.errors import UserInputError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(UserInputError):
    """The backup or restore cannot be done as asked (bad file, missing tool)."""


def _settings() -> dict[str, Any]:
    from django.db import connection

    return dict(connection.settings_dict)


def _pg_env(config: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    args = [
        "--host",
        str(config.get("HOST") or "localhost"),
        "--port",
        str(config.get("PORT") or 5432),
    ]
    if config.get("USER"):
        args += ["--username", str(config["USER"])]
    env = dict(os.environ)
    if config.get("PASSWORD"):
        env["PGPASSWORD"] = str(config["PASSWORD"])
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools")
    return path


def backup(target: Path) -> str:
    """Write a backup of the current database to ``target``; returns a description."""
    from django.db import connection

    config = _settings()
    if target.exists() and target.is_dir():
        raise BackupError(f"{target} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(target) as destination:
            connection.connection.backup(destination)
        destination.close()
        return f"SQLite snapshot of {config['NAME']}"
    args, env = _pg_env(config)
    result = subprocess.run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--file",
            str(target),
            *args,
            str(config["NAME"]),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return f"pg_dump of {config['NAME']}"


def restore(source: Path) -> str:
    """Replace the current database's contents with the backup in ``source``."""
    from django.db import connection

    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    head = source.read_bytes()[:16]
    config = _settings()
    if connection.vendor == "sqlite":
        if head != SQLITE_MAGIC:
            raise BackupError(f"{source} is not a SQLite backup (this clinic runs on SQLite)")
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup_db:
            tables = {row[0] for row in backup_db.execute("SELECT name FROM sqlite_master")}
            if "audit_auditentry" not in tables:
                raise BackupError(f"{source} is a SQLite file but not a cryoderm backup")
            connection.ensure_connection()
            backup_db.backup(connection.connection)
        backup_db.close()
        return f"restored SQLite database {config['NAME']}"
    if not head.startswith(PG_MAGIC):
        raise BackupError(f"{source} is not a pg_dump backup (this clinic runs on PostgreSQL)")
    connection.close()
    args, env = _pg_env(config)
    result = subprocess.run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            str(config["NAME"]),
            *args,
            str(source),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    return f"restored PostgreSQL database {config['NAME']}"
