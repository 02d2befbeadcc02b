"""Storage: SQLite in WAL mode under the data directory by default, PostgreSQL through
DATABASE_URL, a secret key generated once into the data directory; bad configuration is
refused at start-up with a message naming the variable."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from cryoderm.clinic import storage


def test_the_default_database_is_sqlite_in_the_data_directory(tmp_path) -> None:
    config = storage.database(tmp_path, env={})
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "cryoderm.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_init_command_puts_a_sqlite_file_in_wal_mode(tmp_path) -> None:
    config = storage.database(tmp_path, env={})
    with sqlite3.connect(config["NAME"]) as db:
        for pragma in config["OPTIONS"]["init_command"].split(";"):
            db.execute(pragma)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_database_url_selects_postgresql(tmp_path) -> None:
    config = storage.database(
        tmp_path, env={"DATABASE_URL": "postgresql://clinic:s3cret@db.internal:5433/cryoderm"}
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "cryoderm")
    assert "s3cret" not in storage.describe(config)


def test_the_test_switch_selects_the_local_postgresql(tmp_path) -> None:
    config = storage.database(tmp_path, env={"CRYODERM_TEST_DATABASE": "postgres"})
    assert (config["HOST"], config["NAME"], config["USER"]) == ("127.0.0.1", "test", "postgres")
    assert config["TEST"]["NAME"] == f"test_cryoderm_{os.getpid()}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/clinic"}, "supports PostgreSQL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"CRYODERM_TEST_DATABASE": "oracle"}, "CRYODERM_TEST_DATABASE"),
    ],
)
def test_unusable_database_settings_are_refused_by_name(tmp_path, env, message) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        storage.database(tmp_path, env=env)


def test_the_secret_key_is_generated_once_private_and_reused(tmp_path) -> None:
    first = storage.secret_key(tmp_path, env={})
    assert len(first) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert storage.secret_key(tmp_path, env={}) == first


def test_a_secret_key_from_the_environment_must_be_long(tmp_path) -> None:
    assert storage.secret_key(tmp_path, env={"CRYODERM_SECRET_KEY": "k" * 40}) == "k" * 40
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        storage.secret_key(tmp_path, env={"CRYODERM_SECRET_KEY": "short"})


def test_the_data_directory_is_created(tmp_path) -> None:
    target = tmp_path / "a" / "b"
    assert storage.data_dir({"CRYODERM_DATA_DIR": str(target)}) == target
    assert target.is_dir()


def test_an_uncreatable_data_directory_is_refused(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ImproperlyConfigured, match="CRYODERM_DATA_DIR"):
        storage.data_dir({"CRYODERM_DATA_DIR": str(blocker / "sub")})


@pytest.mark.django_db
def test_the_start_up_check_passes_on_the_test_database() -> None:
    assert storage.system_check() == []
    assert connection.vendor in ("sqlite", "postgresql")
