"""The clinic's commands, run as a user runs them (a subprocess on a fresh data directory):
audit verify (0 intact, 1 with the first broken entry), backup and restore by a round trip,
serve answering HTTP, and bad configuration refused with exit 2 and no traceback.

With CRYODERM_TEST_DATABASE=postgres the same commands run against a scratch PostgreSQL
database (created and dropped here)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_service

# One worker runs the module: its migrated clinic is shared (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group("clinic-commands")
ON_POSTGRES = os.environ.get("CRYODERM_TEST_DATABASE") == "postgres"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cryoderm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def shell(env: dict[str, str], code: str) -> str:
    done = cli(env, "manage", "shell", "--no-imports", "-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextlib.contextmanager
def scratch_postgres() -> Iterator[str]:
    import psycopg

    name = f"cryoderm_cmd_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CRYODERM_TEST_DATABASE", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["CRYODERM_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh, migrated clinic (its own data directory and database), shared by this module."""
    yield from migrated_clinic(tmp_path_factory)


def migrated_clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a fresh, migrated clinic, until the generator is closed."""
    env = fresh_env(tmp_path_factory.mktemp("clinic"))
    with contextlib.ExitStack() as stack:
        if ON_POSTGRES:
            require_service("postgres")
            env["DATABASE_URL"] = stack.enter_context(scratch_postgres())
        done = cli(env, "manage", "migrate", "--noinput", "-v", "0")
        assert done.returncode == 0, done.stderr
        yield env


ADD_CLIENT = (
    "import datetime; from cryoderm.clinic.records.services import clients; "
    "from cryoderm.clinic.records.models import Client; "
    "clients.create('cli:test', given_name='{given}', family_name='Test', "
    "date_of_birth=datetime.date(1980, 1, 1), confirm_new_person=True); print(Client.objects.count())"
)
COUNT = "from cryoderm.clinic.records.models import Client; print(Client.objects.count())"
TAMPER = (
    "from django.db import connection; c = connection.cursor(); "
    "c.execute(\"INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'test')\"); "
    "c.execute(\"UPDATE audit_auditentry SET actor = 'someone else' WHERE seq = 2\"); "
    "c.execute('DELETE FROM audit_guardsuspension')"
)


def test_a_restored_backup_verifies_and_a_tampered_log_does_not(migrated, tmp_path) -> None:
    before = int(shell(migrated, ADD_CLIENT.format(given="Ann")))
    backup_file = tmp_path / "clinic.backup"
    done = cli(migrated, "backup", str(backup_file))
    assert done.returncode == 0, done.stderr
    assert int(shell(migrated, ADD_CLIENT.format(given="Ben"))) == before + 1
    restored = cli(migrated, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert "audit chain intact" in restored.stdout
    assert int(shell(migrated, COUNT + "; " + TAMPER)) == before
    broken = cli(migrated, "audit", "verify")
    assert broken.returncode == 1
    assert "broken at entry #2" in broken.stderr


def test_audit_export_writes_json_lines(migrated, tmp_path) -> None:
    target = tmp_path / "audit.jsonl"
    done = cli(migrated, "audit", "export", "--output", str(target))
    assert done.returncode == 0, done.stderr
    lines = target.read_text().splitlines()
    assert lines and all(line.startswith('{"action": ') for line in lines)
    assert '"action": "audit.export"' in lines[-1]


def test_restore_refuses_a_file_that_is_not_a_backup(migrated, tmp_path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    done = cli(migrated, "restore", str(bogus))
    assert done.returncode == 2
    assert "is not a" in done.stderr and "Traceback" not in done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_http_until_stopped(migrated) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cryoderm.cli", "serve", "--port", str(port)],
        env=migrated,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    assert b'"status": "ok"' in r.read()
                    break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_refuses_to_start_before_migrations(tmp_path) -> None:
    if ON_POSTGRES:
        pytest.skip("an unmigrated database is shown on SQLite; the check is the same")
    done = cli(fresh_env(tmp_path), "serve", "--port", str(free_port()))
    assert done.returncode == 2
    assert "cryoderm manage migrate" in done.stderr


def test_a_bad_database_url_is_refused_with_exit_2_and_no_traceback(tmp_path) -> None:
    env = {**fresh_env(tmp_path), "DATABASE_URL": "mysql://root@localhost/clinic"}
    done = cli(env, "audit", "verify")
    assert done.returncode == 2
    assert "DATABASE_URL" in done.stderr and "Traceback" not in done.stderr
