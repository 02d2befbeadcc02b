"""The audit log's keys, in the clinic's key directory (:mod:`cryoderm.clinic.keys`).

``audit-hmac-<id>.key``
    32 random bytes (base64): an HMAC-SHA256 key that seals entries. The newest id (ids
    sort by their UTC creation time) seals new entries; older ones are kept to verify the
    entries they sealed. The first is generated when none exists.
``audit-checkpoint.key`` / ``audit-checkpoint.pub``
    The Ed25519 key pair that signs checkpoints of the chain's head (PKCS#8 / SubjectPublicKeyInfo
    PEM); the public half is all a verifier needs.

A process reads the keys once and keeps them: restart the server after a rotation.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from cryoderm.clinic.keys import write_secret

HMAC_PREFIX = "audit-hmac-"
HMAC_SUFFIX = ".key"
SIGNING_KEY = "audit-checkpoint.key"
PUBLIC_KEY = "audit-checkpoint.pub"
#: RFC 2104 section 3: an HMAC key no shorter than the hash output (32 bytes for SHA-256).
HMAC_KEY_BYTES = 32
_ID = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{6}")
_lock = threading.Lock()
_cache: dict[Path, Keyring] = {}


class AuditKeyError(RuntimeError):
    """A key the audit log needs is missing or unreadable (a configuration fault)."""


@dataclass(frozen=True)
class Keyring:
    """The HMAC keys by id; ``current`` seals new entries."""

    keys: dict[str, bytes]
    current: str

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]


def directory() -> Path:
    return Path(settings.CRYODERM_KEY_DIR)


def _new_id() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _read_keys(folder: Path) -> dict[str, bytes]:
    keys = {}
    for path in folder.glob(f"{HMAC_PREFIX}*{HMAC_SUFFIX}"):
        key_id = path.name[len(HMAC_PREFIX) : -len(HMAC_SUFFIX)]
        if not _ID.fullmatch(key_id):
            continue
        try:
            key = base64.b64decode(path.read_bytes().strip(), validate=True)
        except (OSError, ValueError) as error:
            raise AuditKeyError(f"the audit key {path} cannot be read: {error}") from error
        if len(key) < HMAC_KEY_BYTES:
            raise AuditKeyError(f"the audit key {path} is shorter than {HMAC_KEY_BYTES} bytes")
        keys[key_id] = key
    return keys


def generate(folder: Path | None = None) -> str:
    """Write a new HMAC key into the key directory; returns its id (it becomes current)."""
    folder = folder or directory()
    newest = max(_read_keys(folder), default="")
    while True:
        key_id = _new_id()
        if key_id <= newest:
            # The newest id seals new entries: a new key must sort after every older one.
            continue
        data = base64.b64encode(secrets.token_bytes(HMAC_KEY_BYTES)) + b"\n"
        if write_secret(folder / f"{HMAC_PREFIX}{key_id}{HMAC_SUFFIX}", data):
            break
    with _lock:
        _cache.pop(folder.resolve(), None)
    return key_id


def keyring(folder: Path | None = None) -> Keyring:
    """The keys in the key directory (the first one generated when there is none)."""
    folder = (folder or directory()).resolve()
    with _lock:
        cached = _cache.get(folder)
    if cached is not None:
        return cached
    keys = _read_keys(folder)
    if not keys:
        generate(folder)
        keys = _read_keys(folder)
    ring = Keyring(keys=keys, current=max(keys))
    with _lock:
        _cache[folder] = ring
    return ring


def verifying_keys(folder: Path | None = None) -> dict[str, bytes]:
    """The HMAC keys to verify with; never generates one (verifying must not invent keys)."""
    return _read_keys((folder or directory()).resolve())


def signing_key(folder: Path | None = None) -> Ed25519PrivateKey:
    """The checkpoint signing key (generated, with its public half, when missing)."""
    folder = folder or directory()
    path = folder / SIGNING_KEY
    if not path.exists():
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if write_secret(path, pem):
            public = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            (folder / PUBLIC_KEY).write_bytes(public)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise AuditKeyError(f"the checkpoint signing key {path} cannot be read: {error}") from error
    if not isinstance(loaded, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} is not an Ed25519 private key")
    return loaded


def public_key(path: Path | None = None) -> Ed25519PublicKey | None:
    """The checkpoint verification key (the key directory's, or the file given); None if absent."""
    path = path or directory() / PUBLIC_KEY
    if not path.exists():
        return None
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise AuditKeyError(f"the checkpoint public key {path} cannot be read: {error}") from error
    if not isinstance(loaded, Ed25519PublicKey):
        raise AuditKeyError(f"{path} is not an Ed25519 public key")
    return loaded
