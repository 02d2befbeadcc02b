"""The clinic's key directory: secrets that must not live in the database or beside it.

Someone who can read or write the database (or the data directory that holds SQLite and
the photographs) must not also hold the keys that seal the audit log, sign its
checkpoints and encrypt the backups; otherwise they could rewrite the log and re-seal it.
The keys are files in their own directory, ``CRYODERM_KEY_DIR`` (when unset: the data
directory's name with ``-keys``, beside it, e.g. ``/srv/cryoderm`` -> ``/srv/cryoderm-keys``),
created with mode 0700; every secret file is created 0600 with ``O_EXCL`` (never
overwritten, so two processes starting at once cannot each generate a different key).

Which files are in it and how to keep and rotate them: docs/security.md ("Audit keys").
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DIR_MODE = 0o700
SECRET_MODE = 0o600


def key_dir(data_dir: Path, env: Mapping[str, str] = os.environ) -> Path:
    """CRYODERM_KEY_DIR, else ``<data dir>-keys`` beside the data directory; created 0700."""
    raw = env.get("CRYODERM_KEY_DIR", "")
    path = Path(raw).expanduser().resolve() if raw else data_dir.with_name(data_dir.name + "-keys")
    if path == data_dir or data_dir in path.parents:
        raise ImproperlyConfigured(
            f"CRYODERM_KEY_DIR = {str(path)!r} is inside the data directory {str(data_dir)!r}; "
            "keep the keys in a directory of their own, outside it"
        )
    return private_dir(path, "CRYODERM_KEY_DIR")


def private_dir(path: Path, variable: str) -> Path:
    """``path`` created if missing, and made 0700 (readable by this account only)."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
            path.chmod(DIR_MODE)
    except OSError as error:
        raise ImproperlyConfigured(
            f"{variable} = {str(path)!r} cannot be created or made private: {error.strerror}"
        ) from error
    return path


def write_secret(path: Path, data: bytes) -> bool:
    """Create ``path`` (mode 0600) holding ``data``; False when it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def problems(directory: Path) -> list[str]:
    """What makes the key directory unsafe: group or other permissions on it or its files."""
    found = []
    if not directory.is_dir():
        return [f"the key directory {directory} does not exist"]
    for path in [directory, *sorted(directory.iterdir())]:
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix == ".pub" or path.suffix == ".jsonl":
            continue
        if mode & 0o077:
            found.append(
                f"{path} has mode {mode:04o}: other accounts may read it; "
                f"run chmod {'700' if path.is_dir() else '600'} {path}"
            )
    return found
