"""Authenticated encryption of a backup as a stream (AES-256-GCM in chunks).

A backup can be larger than memory, so it is encrypted in chunks of 1 MiB, each sealed with
AES-256-GCM. Chunk ``i`` uses the nonce ``prefix (7 random bytes) || i (4 bytes) || last
(1 byte)`` and the file's header as associated data, so that chunks cannot be reordered,
dropped, repeated, moved into another backup, or the stream cut short without the reader
noticing (the STREAM construction, Hoang2015, as age and Tink use it). The header says how the key is obtained:

- ``key-file``: the 32-byte key in the key directory's ``backup.key`` (its SHA-256
  fingerprint is in the header, so a backup made with another key is named, not guessed at);
- ``scrypt``: a passphrase stretched with scrypt and the random salt in the header.

File layout: ``MAGIC``, a 4-byte header length, the header (JSON), then chunks, each a
4-byte length and its ciphertext (with its 16-byte tag).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"CRYODERM-BACKUP\x01"
CHUNK_BYTES = 1024 * 1024
KEY_BYTES = 32
#: assumption: N = 2^17, r = 8, p = 1, the scrypt cost the OWASP Password Storage Cheat Sheet
#: gives (128 MiB, about half a second here): a guess at a passphrase costs an attacker as much.
SCRYPT = {"n": 2**17, "r": 8, "p": 1}
_MAX_HEADER = 4096
_TAG_BYTES = 16


class BackupCryptoError(Exception):
    """The stream is not an encrypted backup, or it fails authentication (``altered``)."""

    def __init__(self, message: str, *, altered: bool) -> None:
        super().__init__(message)
        self.altered = altered


@dataclass(frozen=True)
class KeySource:
    """How the key was or is to be obtained: the key file's bytes, or a passphrase."""

    key_file: bytes | None = None
    passphrase: str | None = None


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"cryoderm backup key\n" + key).hexdigest()[:16]


def _scrypt(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, **params).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object: what is written is encrypted into ``raw``; call close()."""

    def __init__(self, raw: BinaryIO, source: KeySource) -> None:
        header: dict[str, Any] = {"v": 1, "chunk": CHUNK_BYTES}
        if source.passphrase is not None:
            salt = secrets.token_bytes(16)
            header.update(kdf="scrypt", salt=base64.b64encode(salt).decode(), **SCRYPT)
            key = _scrypt(source.passphrase, salt, SCRYPT)
        elif source.key_file is not None:
            key = source.key_file
            header.update(kdf="key-file", fingerprint=fingerprint(key))
        else:
            raise ValueError("a key file or a passphrase is needed")
        self._prefix = secrets.token_bytes(7)
        header["nonce_prefix"] = base64.b64encode(self._prefix).decode()
        self._header = json.dumps(header, sort_keys=True).encode("ascii")
        self._aead = AESGCM(key)
        self._raw = raw
        self._buffer = bytearray()
        self._index = 0
        raw.write(MAGIC + struct.pack(">I", len(self._header)) + self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:
            self._emit(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._header)
        self._raw.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._raw.flush()


def read_header(raw: BinaryIO) -> tuple[bytes, dict[str, Any]]:
    """The header's bytes and fields; BackupCryptoError when ``raw`` is not a backup."""
    magic = raw.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupCryptoError("this is not an encrypted cryoderm backup", altered=False)
    (length,) = struct.unpack(">I", raw.read(4).rjust(4, b"\x00"))
    if not 0 < length <= _MAX_HEADER:
        raise BackupCryptoError("the backup's header is damaged", altered=True)
    data = raw.read(length)
    try:
        header = json.loads(data)
        if header.get("v") != 1 or header.get("kdf") not in ("key-file", "scrypt"):
            raise ValueError(header.get("v"))
    except ValueError:
        raise BackupCryptoError("the backup's header is damaged", altered=True) from None
    return data, header


class DecryptingReader:
    """A read-only file object over an encrypted backup; every byte it returns was
    authenticated, and reading past the end of a stream that was cut short raises."""

    def __init__(self, raw: BinaryIO, source: KeySource) -> None:
        self._header, header = read_header(raw)
        if header["kdf"] == "scrypt":
            if source.passphrase is None:
                raise BackupCryptoError(
                    "this backup was encrypted with a passphrase; give it (--passphrase-env)",
                    altered=False,
                )
            salt = base64.b64decode(header["salt"])
            params = {name: int(header[name]) for name in ("n", "r", "p")}
            key = _scrypt(source.passphrase, salt, params)
        else:
            if source.key_file is None:
                raise BackupCryptoError(
                    "this backup was encrypted with a backup key file; restore it into the "
                    "key directory (backup.key)",
                    altered=False,
                )
            if fingerprint(source.key_file) != header.get("fingerprint"):
                raise BackupCryptoError(
                    f"this backup was encrypted with another backup key (fingerprint "
                    f"{header.get('fingerprint')}); the key directory's backup.key has "
                    f"fingerprint {fingerprint(source.key_file)}",
                    altered=False,
                )
            key = source.key_file
        self._aead = AESGCM(key)
        self._prefix = base64.b64decode(header["nonce_prefix"])
        self._raw = raw
        self._index = 0
        self._plain = b""
        self._done = False

    def _next_chunk(self) -> None:
        head = self._raw.read(4)
        if len(head) < 4:
            raise BackupCryptoError(
                "the backup ends before its last part: it was cut short", altered=True
            )
        (length,) = struct.unpack(">I", head)
        sealed = self._raw.read(length)
        if len(sealed) != length or length < _TAG_BYTES or length > CHUNK_BYTES + _TAG_BYTES:
            raise BackupCryptoError("the backup is damaged (a part is cut short)", altered=True)
        for last in (False, True):
            try:
                self._plain = self._aead.decrypt(
                    _nonce(self._prefix, self._index, last), sealed, self._header
                )
            except InvalidTag:
                continue
            self._done = last
            self._index += 1
            if last and self._raw.read(1):
                raise BackupCryptoError(
                    "the backup has data after its last part: it was altered", altered=True
                )
            return
        raise BackupCryptoError(
            f"part {self._index + 1} of the backup fails authentication: the file was altered "
            "or damaged, or the passphrase is wrong",
            altered=True,
        )

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if not self._plain:
                if self._done:
                    break
                self._next_chunk()
                continue
            take = len(self._plain) if size < 0 else min(size - len(out), len(self._plain))
            out += self._plain[:take]
            self._plain = self._plain[take:]
        return bytes(out)


def private_file(path: os.PathLike[str] | str) -> BinaryIO:
    """A new file open for writing, mode 0600 whatever the umask (the backup is PHI)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")
