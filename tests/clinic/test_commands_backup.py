"""``cryoderm backup`` and ``cryoderm restore`` as an operator runs them (subprocesses on a
fresh clinic, SQLite or the PostgreSQL server).

A backup is encrypted, private (0600) and complete (database, photographs, interlock
journal); a restore verifies all of it before it replaces anything: a file altered,
truncated or taken from a doctored database is refused and the clinic is left as it was."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic.test_commands import cli, migrated_clinic, shell
from clinic.test_commands_audit import ADD_CLIENTS, REWRITE

pytestmark = pytest.mark.xdist_group("clinic-commands")

PHOTO = b"\xff\xd8\xff\xe0 stands for a photograph \xff\xd9"
ADD_CLIENT = (
    "import datetime; from cryoderm.clinic.records.services import clients; "
    "clients.create('cli:test', given_name='{given}', family_name='Secretname', "
    "date_of_birth=datetime.date(1980, 1, 1), confirm_new_person=True)"
)
FLUSH = "from django.core.management import call_command; call_command('flush', '--noinput')"
STATE = (
    "from cryoderm.clinic.records.models import Client; from cryoderm.clinic import audit; "
    "print(Client.objects.count(), audit.verify().ok)"
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from migrated_clinic(tmp_path_factory)


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["CRYODERM_DATA_DIR"])


def files_of(env: dict[str, str]) -> tuple[Path, Path]:
    """A photograph file and an interlock journal in the clinic's data directory."""
    photo = data_dir(env) / "media" / "photos" / "2026" / "01" / "a1b2.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(PHOTO)
    journal = data_dir(env) / "interlock" / "journal.sqlite3"
    journal.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(journal) as db:
        db.execute("CREATE TABLE IF NOT EXISTS event (seq INTEGER PRIMARY KEY, kind TEXT)")
        db.execute("DELETE FROM event")
        db.execute("INSERT INTO event (kind) VALUES ('reading')")
    db.close()
    return photo, journal


def journal_events(journal: Path) -> int:
    with sqlite3.connect(journal) as db:
        count = db.execute("SELECT count(*) FROM event").fetchone()[0]
    db.close()
    return int(count)


def test_a_backup_is_encrypted_private_and_complete_and_restores_all_of_it(
    migrated, tmp_path
) -> None:
    shell(migrated, ADD_CLIENT.format(given="Ann"))
    photo, journal = files_of(migrated)
    before = shell(migrated, STATE)
    target = tmp_path / "clinic.backup"
    done = cli(migrated, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert "1 photo files and 1 journal files" in done.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    raw = target.read_bytes()
    for plain in (b"SQLite format 3", b"Secretname", b"stands for a photograph", b"PGDMP"):
        assert plain not in raw
    key = Path(f"{data_dir(migrated)}-keys") / "backup.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir(migrated).stat().st_mode) == 0o700

    photo.unlink()
    with sqlite3.connect(journal) as db:
        db.execute("INSERT INTO event (kind) VALUES ('alarm')")
    db.close()
    shell(migrated, ADD_CLIENT.format(given="Ben"))
    assert shell(migrated, STATE) != before

    restored = cli(migrated, "restore", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "audit chain intact" in restored.stdout
    assert photo.read_bytes() == PHOTO
    assert journal_events(journal) == 1
    assert shell(migrated, STATE) == before


@pytest.mark.parametrize("damage", ["bit-flip", "truncated", "appended"])
def test_an_altered_backup_is_refused_and_nothing_is_replaced(migrated, tmp_path, damage) -> None:
    files_of(migrated)
    target = tmp_path / "clinic.backup"
    assert cli(migrated, "backup", str(target)).returncode == 0
    raw = bytearray(target.read_bytes())
    if damage == "bit-flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "truncated":
        del raw[-100:]
    else:
        raw += b"\x00\x00\x00\x10" + b"x" * 16
    target.write_bytes(bytes(raw))
    shell(migrated, ADD_CLIENT.format(given="Cat"))
    before = shell(migrated, STATE)
    done = cli(migrated, "restore", str(target))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing was restored" in done.stderr and "Traceback" not in done.stderr
    assert shell(migrated, STATE) == before
    assert not list(data_dir(migrated).glob(".restore-*"))


def test_a_backup_of_a_doctored_log_is_refused_and_nothing_is_replaced(migrated, tmp_path) -> None:
    head = int(shell(migrated, ADD_CLIENTS))
    shell(migrated, REWRITE.format(start=head - 1))
    target = tmp_path / "doctored.backup"
    assert cli(migrated, "backup", str(target)).returncode == 0
    shell(migrated, ADD_CLIENT.format(given="Dan"))
    before = shell(migrated, STATE)
    done = cli(migrated, "restore", str(target))
    assert done.returncode == 1
    assert f"broken at entry #{head - 1}: its content does not match its seal" in done.stderr
    assert shell(migrated, STATE) == before
    # The module's later tests need an intact clinic: empty it (the one legitimate way).
    shell(migrated, FLUSH)


def test_a_passphrase_backup_needs_its_passphrase(migrated, tmp_path) -> None:
    env = {**migrated, "BACKUP_PASSPHRASE": "a long clinic passphrase"}
    target = tmp_path / "clinic.backup"
    done = cli(env, "backup", str(target), "--passphrase-env", "BACKUP_PASSPHRASE")
    assert done.returncode == 0, done.stderr
    without = cli(env, "restore", str(target))
    assert without.returncode == 2 and "encrypted with a passphrase" in without.stderr
    wrong = cli(
        {**env, "BACKUP_PASSPHRASE": "another long passphrase"},
        "restore",
        str(target),
        "--passphrase-env",
        "BACKUP_PASSPHRASE",
    )
    assert wrong.returncode == 1 and "passphrase is wrong" in wrong.stderr
    right = cli(env, "restore", str(target), "--passphrase-env", "BACKUP_PASSPHRASE")
    assert right.returncode == 0, right.stderr
    assert os.environ.get("BACKUP_PASSPHRASE") is None


def test_the_device_credentials_are_in_the_encrypted_backup_and_come_back_private(
    migrated, tmp_path
) -> None:
    """The interlock's key, broker password and the devices' token digests: without them a
    restored clinic could not talk to its devices; in the backup they are encrypted, and
    they come back with their own modes in a directory only the operator reads."""
    credentials = data_dir(migrated) / "credentials"
    for args in (("init",), ("add", "chiller-7")):
        made = cli(migrated, "device-credentials", *args, "--credentials", str(credentials))
        assert made.returncode == 0, made.stderr
    secrets_before = {
        path.name: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in credentials.iterdir()
        if path.is_file()
    }
    assert "interlock.key" in secrets_before and "devices.json" in secrets_before
    target = tmp_path / "with-credentials.backup"
    done = cli(migrated, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert f"{len(secrets_before)} device credential files" in done.stdout
    raw = target.read_bytes()
    for content, _ in secrets_before.values():
        assert content.strip() not in raw
    for path in credentials.iterdir():
        path.unlink()
    restored = cli(migrated, "restore", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "device credentials" in restored.stdout
    after = {
        path.name: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in credentials.iterdir()
        if path.is_file()
    }
    assert after == secrets_before
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o700
