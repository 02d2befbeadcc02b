"""Fixtures of the interlock tests.

``ram_dir``: a directory on tmpfs (/dev/shm) where fsync costs nothing, for tests of the
rules that write the journal hundreds of times; the durability tests use a real disk
(``tmp_path``) instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .broker import ANONYMOUS_CONFIG, start_broker


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
    broker = start_broker(tmp_path / "broker", ANONYMOUS_CONFIG)
    yield broker
    broker.stop()
