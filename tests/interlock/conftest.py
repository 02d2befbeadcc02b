"""Fixtures of the interlock tests.

``ram_dir``: a directory on tmpfs (/dev/shm) where fsync costs nothing, for tests of the
rules that write the journal hundreds of times; the durability tests use a real disk
(``tmp_path``) instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cryoderm.interlock.broker_config import LocalBroker, start_local_broker
from cryoderm.interlock.credentials import CredentialStore

from .broker import ANONYMOUS_CONFIG, broker_readable_dir


@pytest.fixture
def ram_dir(tmp_path: Path) -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="cryoderm-interlock-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def anonymous_broker(tmp_path: Path) -> Iterator[object]:
    """A private Mosquitto that lets anyone in (the attacks an open broker allows)."""
    if not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("/usr/sbin/mosquitto is not installed")
    broker = start_local_broker(tmp_path / "broker", ANONYMOUS_CONFIG)
    yield broker
    broker.stop()


@pytest.fixture
def credentials(tmp_path: Path) -> CredentialStore:
    """The interlock's credentials (key, broker account) in a fresh directory; tests add
    the devices they need."""
    store = CredentialStore(tmp_path / "credentials", broker_group=None)
    store.init()
    return store


@dataclass
class SecureBroker:
    """A private Mosquitto with the shipped configuration and its credentials."""

    broker: LocalBroker
    store: CredentialStore


@pytest.fixture
def secure_broker() -> Iterator[SecureBroker]:
    root = broker_readable_dir("cryoderm-secure-broker-")
    try:
        group = "mosquitto" if os.geteuid() == 0 else None
        store = CredentialStore(root / "credentials", broker_group=group)
        store.init()
        if not Path("/usr/sbin/mosquitto").exists():
            pytest.skip("/usr/sbin/mosquitto is not installed")
        broker = start_local_broker(root / "broker", credentials_dir=store.directory)
        try:
            yield SecureBroker(broker, store)
        finally:
            broker.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
