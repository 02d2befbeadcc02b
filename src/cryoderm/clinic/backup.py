"""Backing up and restoring the whole clinic: database, photographs, interlock journal and
the devices' credentials.

A backup is one file, encrypted and authenticated (:mod:`.backup_crypto`: AES-256-GCM with
the key directory's ``backup.key``, or a passphrase), written 0600 under a temporary name
and renamed into place when complete. Inside is a gzipped tar: the database (SQLite's
online backup API, or ``pg_dump --format=custom``), the photographs (``media/``), the
interlock's journal (a consistent SQLite snapshot), the device credentials directory
(``credentials/``: the interlock's signing key and broker password, the devices' token
digests and the broker's password file, without which a restored clinic could not talk to
its devices) and a manifest with the SHA-256 of each.

A restore verifies everything before it replaces anything: it decrypts and authenticates
the whole file into a private staging directory beside the data, checks every file against
the manifest, and walks the backup's audit chain (seals, links, head, and the signed
checkpoints that fall within it). Only then are the photographs and the journal swapped in
by renaming directories and the database replaced in one transaction (SQLite's backup API
onto the live database; ``pg_restore --single-transaction``); if the database step fails the
directories are swapped back. Stop ``cryoderm serve`` and the interlock first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.errors import CryodermError, UserInputError

from . import backup_crypto
from .audit import chain
from .keys import write_secret

BACKUP_KEY = "backup.key"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
MEDIA = "media"
JOURNAL = "interlock"
CREDENTIALS = "credentials"
FORMAT = 1


class BackupError(UserInputError):
    """The backup or restore cannot be done as asked (not a backup, no key, a missing tool)."""


class BackupRejected(CryodermError):
    """The file is a backup, but it was altered or damaged, or its audit chain does not
    verify: nothing was restored."""


@dataclass(frozen=True)
class Places:
    """What a backup holds, where it lives in this clinic."""

    media: Path
    journal: Path
    credentials: Path
    staging_parent: Path


def places() -> Places:
    from django.conf import settings

    from .live.channel import journal_dir

    return Places(
        media=Path(settings.MEDIA_ROOT),
        journal=journal_dir(),
        # Where `cryoderm device-credentials` and `cryoderm interlock` keep them by default.
        credentials=Path(settings.DATA_DIR) / CREDENTIALS,
        staging_parent=Path(settings.DATA_DIR),
    )


def key_source(passphrase: str | None) -> backup_crypto.KeySource:
    """The passphrase when given, else the key directory's backup key (generated once)."""
    if passphrase is not None:
        if len(passphrase) < 12:
            raise BackupError("the backup passphrase must be at least 12 characters")
        return backup_crypto.KeySource(passphrase=passphrase)
    from django.conf import settings

    path = Path(settings.CRYODERM_KEY_DIR) / BACKUP_KEY
    write_secret(path, secrets.token_bytes(backup_crypto.KEY_BYTES))
    return backup_crypto.KeySource(key_file=path.read_bytes())


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


def _run(command: list[str], env: dict[str, str], what: str) -> bytes:
    result = subprocess.run(command, env=env, capture_output=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _snapshot_sqlite(source: sqlite3.Connection, target: Path) -> None:
    with contextlib.closing(sqlite3.connect(target)) as destination:
        source.backup(destination)


def _database_snapshot(folder: Path) -> tuple[str, Path]:
    """The live database copied into ``folder``: (member name, file)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = folder / SQLITE_MEMBER
        _snapshot_sqlite(connection.connection, target)
        return SQLITE_MEMBER, target
    config = _settings()
    args, env = _pg_env(config)
    target = folder / PG_MEMBER
    _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--file",
            str(target),
            *args,
            str(config["NAME"]),
        ],
        env,
        "pg_dump",
    )
    return PG_MEMBER, target


def _journal_files(journal: Path, folder: Path) -> Iterator[tuple[str, Path]]:
    """The interlock journal's files: its database as a consistent snapshot, the rest as
    they are (lock files and SQLite's -wal/-shm companions are left out)."""
    if not journal.is_dir():
        return
    for path in sorted(journal.iterdir()):
        if not path.is_file() or path.suffix == ".lock" or path.name.endswith(("-wal", "-shm")):
            continue
        if path.suffix == ".sqlite3":
            copy = folder / f"journal-{path.name}"
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as source:
                _snapshot_sqlite(source, copy)
            yield f"{JOURNAL}/{path.name}", copy
        else:
            yield f"{JOURNAL}/{path.relative_to(journal)}", path


def _tree_files(root: Path, member: str) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` (symbolic links are never followed), named
    ``member/relative/path`` in the backup."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield f"{member}/{path.relative_to(root).as_posix()}", path


def _media_files(media: Path) -> Iterator[tuple[str, Path]]:
    return _tree_files(media, MEDIA)


def backup(target: Path, *, passphrase: str | None = None) -> str:
    """Write an encrypted backup of the database, photographs and journal to ``target``."""
    from .audit.log import heads

    if target.is_dir():
        raise BackupError(f"{target} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = key_source(passphrase)
    where = places()
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    with tempfile.TemporaryDirectory(prefix="cryoderm-backup-") as scratch:
        folder = Path(scratch)
        newest = max((seq for seq, _ in heads().values()), default=0)
        member, database = _database_snapshot(folder)
        files = [(member, database)]
        files += list(_media_files(where.media))
        files += list(_journal_files(where.journal, folder))
        files += list(_tree_files(where.credentials, CREDENTIALS))
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": member,
            "audit_head_seq": newest,
            "files": {name: _sha256(path) for name, path in files},
        }
        try:
            with backup_crypto.private_file(partial) as raw:
                writer = backup_crypto.EncryptingWriter(raw, source)
                with tarfile.open(fileobj=writer, mode="w|gz") as archive:  # type: ignore[call-overload]
                    for name, path in files:
                        archive.add(path, arcname=name, recursive=False)
                    data = json.dumps(manifest, indent=1, sort_keys=True).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
                writer.close()
                os.fsync(raw.fileno())
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    photos = sum(1 for name, _ in files if name.startswith(f"{MEDIA}/"))
    journal = sum(1 for name, _ in files if name.startswith(f"{JOURNAL}/"))
    credentials = sum(1 for name, _ in files if name.startswith(f"{CREDENTIALS}/"))
    return (
        f"encrypted backup of the database ({member}), {photos} photo files and "
        f"{journal} journal files, and {credentials} device credential files"
    )


# -- restore ---------------------------------------------------------------------------


def _unpack(source: Path, key: backup_crypto.KeySource, staging: Path) -> dict[str, Any]:
    """Decrypt and unpack ``source`` into ``staging``; the manifest, every file checked."""
    try:
        with source.open("rb") as raw:
            reader = backup_crypto.DecryptingReader(raw, key)
            with tarfile.open(fileobj=reader, mode="r|gz") as archive:  # type: ignore[call-overload]
                archive.extractall(staging, filter="data")
    except backup_crypto.BackupCryptoError as error:
        if error.altered:
            raise BackupRejected(f"{source}: {error}; nothing was restored") from error
        raise BackupError(f"{source}: {error}") from error
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupRejected(
            f"{source}: the backup's contents are damaged ({error}); nothing was restored"
        ) from error
    try:
        manifest = json.loads((staging / MANIFEST).read_text())
        listed = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupRejected(f"{source}: the backup has no readable manifest") from error
    present = {
        path.relative_to(staging).as_posix()
        for path in staging.rglob("*")
        if path.is_file() and path.name != MANIFEST
    }
    if present != set(listed):
        raise BackupRejected(
            f"{source}: the backup's files differ from its manifest "
            f"({sorted(present ^ set(listed))[:5]}); nothing was restored"
        )
    for name, digest in listed.items():
        if _sha256(staging / name) != digest:
            raise BackupRejected(
                f"{source}: {name} differs from the manifest; nothing was restored"
            )
    return manifest


def _sqlite_rows(database: Path) -> tuple[list[chain.Row], dict[int, tuple[int, str]]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        try:
            columns = {row[1] for row in db.execute("PRAGMA table_info(audit_auditentry)")}
            # A backup made before the log had lanes holds one chain: lane 1.
            lane = "lane" if "lane" in columns else "1"
            rows = [
                chain.Row(
                    seq=int(r[0]),
                    created_at=chain.canonical_time(r[1]),
                    actor=r[2],
                    action=r[3],
                    target=r[4],
                    detail=r[5],
                    prev_hash=r[6],
                    entry_hash=r[7],
                    key_id=r[8],
                    lane=int(r[9]),
                )
                for r in db.execute(
                    "SELECT seq, created_at, actor, action, target, detail, prev_hash, "
                    f"entry_hash, key_id, {lane} FROM audit_auditentry ORDER BY {lane}, seq"
                )
            ]
            heads = {
                int(r[0]): (int(r[1]), str(r[2]))
                for r in db.execute("SELECT id, seq, entry_hash FROM audit_chainhead")
            }
        except sqlite3.DatabaseError as error:
            raise BackupRejected(
                f"the backup's database is not a cryoderm database: {error}"
            ) from error
    return rows, heads or {1: (0, chain.GENESIS_HASH)}


def _copy_field(text: str) -> str | None:
    """One field of PostgreSQL's COPY text format."""
    if text == "\\N":
        return None
    out = []
    i = 0
    escapes = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _pg_rows(dump: Path) -> tuple[list[chain.Row], dict[int, tuple[int, str]]]:
    """The audit entries and head of a ``pg_dump`` file, read from its COPY data."""
    args = [
        _tool("pg_restore"),
        "--data-only",
        "--table=audit_auditentry",
        "--table=audit_chainhead",
        "--file=-",
        str(dump),
    ]
    text = _run(args, dict(os.environ), "pg_restore (reading the audit log)").decode("utf-8")
    tables: dict[str, list[dict[str, str | None]]] = {}
    columns: list[str] = []
    table = ""
    for line in text.split("\n"):
        if line.startswith("COPY "):
            table = line.split()[1].split(".")[-1].strip('"')
            columns = [
                c.strip().strip('"') for c in line[line.index("(") + 1 : line.index(")")].split(",")
            ]
            tables[table] = []
        elif table and line == "\\.":
            table = ""
        elif table:
            values = [_copy_field(field) for field in line.split("\t")]
            tables[table].append(dict(zip(columns, values, strict=True)))
    rows = sorted(
        (
            chain.Row(
                seq=int(r["seq"] or 0),
                created_at=chain.canonical_time(str(r["created_at"])),
                actor=str(r["actor"]),
                action=str(r["action"]),
                target=str(r["target"]),
                detail=str(r["detail"]),
                prev_hash=str(r["prev_hash"]),
                entry_hash=str(r["entry_hash"]),
                key_id=str(r["key_id"]),
                # A dump made before the log had lanes holds one chain: lane 1.
                lane=int(r.get("lane") or 1),
            )
            for r in tables.get("audit_auditentry", [])
        ),
        key=lambda row: (row.lane, row.seq),
    )
    heads = {
        int(r["id"] or 0): (int(r["seq"] or 0), str(r["entry_hash"]))
        for r in tables.get("audit_chainhead", [])
    }
    return rows, heads or {1: (0, chain.GENESIS_HASH)}


def verify_staged(
    staging: Path, manifest: dict[str, Any], *, use_checkpoints: bool = True
) -> chain.Verification:
    """The staged backup's audit chain, checked with the key directory's keys and (unless
    told not to) the signed checkpoints that fall within it."""
    from .audit import checkpoints, keys

    member = manifest.get("database")
    if member == SQLITE_MEMBER:
        rows, heads = _sqlite_rows(staging / SQLITE_MEMBER)
    elif member == PG_MEMBER:
        rows, heads = _pg_rows(staging / PG_MEMBER)
    else:
        raise BackupRejected(f"the backup's manifest names no database ({member!r})")
    found = checkpoints.read() if use_checkpoints else checkpoints.CheckpointFile((), ())
    if found.problems:
        return chain.Verification(False, 0, None, found.problems[0])
    within = [cp for cp in found.checkpoints if cp.within(heads)]
    return chain.check(rows, heads, keys.verifying_keys(), within)


@contextlib.contextmanager
def _swapped(staged: Path, live: Path) -> Iterator[None]:
    """``staged`` renamed into ``live``'s place (the old one aside); put back if the block
    fails, the old one deleted if it succeeds."""
    aside = live.with_name(f".{live.name}.before-restore-{secrets.token_hex(4)}")
    had_live = live.exists()
    if had_live:
        live.rename(aside)
    live.parent.mkdir(parents=True, exist_ok=True)
    if staged.exists():
        # A rename when both are on one file system (the data directory's); else a copy.
        shutil.move(staged, live)
    else:
        live.mkdir(mode=0o700)
    try:
        yield
    except BaseException:
        shutil.rmtree(live, ignore_errors=True)
        if had_live:
            aside.rename(live)
        raise
    if had_live:
        shutil.rmtree(aside, ignore_errors=True)


def _replace_database(staging: Path, member: str) -> None:
    from django.db import connection

    config = _settings()
    if connection.vendor == "sqlite":
        if member != SQLITE_MEMBER:
            raise BackupError("this backup is of a PostgreSQL clinic; this clinic runs on SQLite")
        connection.ensure_connection()
        with contextlib.closing(
            sqlite3.connect(f"file:{staging / SQLITE_MEMBER}?mode=ro", uri=True)
        ) as backup_db:
            # One step: the live database changes in a single write transaction.
            backup_db.backup(connection.connection, pages=-1)
        return
    if member != PG_MEMBER:
        raise BackupError("this backup is of a SQLite clinic; this clinic runs on PostgreSQL")
    connection.close()
    args, env = _pg_env(config)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            str(config["NAME"]),
            *args,
            str(staging / PG_MEMBER),
        ],
        env,
        "pg_restore",
    )


@dataclass(frozen=True)
class Restored:
    """What a restore replaced, and the verification of the backup's audit chain."""

    description: str
    verification: chain.Verification


def restore(
    source: Path, *, passphrase: str | None = None, use_checkpoints: bool = True
) -> Restored:
    """Verify the backup in ``source`` completely, then replace the database, photographs
    and journal with it. Raises BackupRejected (nothing replaced) when it does not verify.

    use_checkpoints=False skips the comparison with this clinic's signed checkpoints: for a
    backup from another line of history (taken before an earlier restore went back further)."""
    from django.db import connection

    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    with source.open("rb") as raw:
        try:
            backup_crypto.read_header(raw)
        except backup_crypto.BackupCryptoError as error:
            raise BackupError(f"{source}: {error}") from error
    key = key_source(passphrase)
    where = places()
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=where.staging_parent))
    try:
        manifest = _unpack(source, key, staging)
        member = str(manifest.get("database"))
        expected = SQLITE_MEMBER if connection.vendor == "sqlite" else PG_MEMBER
        if member != expected:
            engine = "SQLite" if connection.vendor == "sqlite" else "PostgreSQL"
            raise BackupError(
                f"{source} is a backup of another kind of database; this clinic runs on {engine}"
            )
        verification = verify_staged(staging, manifest, use_checkpoints=use_checkpoints)
        if not verification.ok:
            raise BackupRejected(f"{source}: its {verification}; nothing was restored")
        # A backup written before credentials were backed up leaves the clinic's own in place.
        has_credentials = (staging / CREDENTIALS).is_dir()
        with (
            _swapped(staging / MEDIA, where.media),
            _swapped(staging / JOURNAL, where.journal),
            _swapped(staging / CREDENTIALS, where.credentials)
            if has_credentials
            else contextlib.nullcontext(),
        ):
            if has_credentials:
                # The archive kept each secret's own mode (0600, the broker's file 0640);
                # the directory itself is the operator's only.
                where.credentials.chmod(0o700)
            _replace_database(staging, member)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Restored(
        description=(
            f"restored the database, {len([n for n in manifest['files'] if n.startswith(MEDIA + '/')])} "
            f"photo files, the interlock journal and the device credentials from the backup of "
            f"{manifest.get('created_at')}"
        ),
        verification=verification,
    )
