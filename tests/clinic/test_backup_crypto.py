"""The backups' stream encryption, attacked: parts reordered, dropped, replayed from another
backup, the end cut off, the header edited: each is refused, never silently read."""

from __future__ import annotations

import io
import os
import struct

import pytest

from cryoderm.clinic import backup_crypto as bc

KEY = bc.KeySource(key_file=os.urandom(32))
DATA = os.urandom(bc.CHUNK_BYTES * 2 + 12345)


def encrypt(data: bytes = DATA, source: bc.KeySource = KEY) -> bytes:
    raw = io.BytesIO()
    writer = bc.EncryptingWriter(raw, source)
    for start in range(0, len(data), 300_000):
        writer.write(data[start : start + 300_000])
    writer.close()
    return raw.getvalue()


def decrypt(blob: bytes, source: bc.KeySource = KEY) -> bytes:
    return bc.DecryptingReader(io.BytesIO(blob), source).read()


def split(blob: bytes) -> tuple[bytes, list[bytes]]:
    """The header part and the list of length-prefixed parts."""
    (length,) = struct.unpack(">I", blob[len(bc.MAGIC) : len(bc.MAGIC) + 4])
    start = len(bc.MAGIC) + 4 + length
    head, parts, at = blob[:start], [], start
    while at < len(blob):
        (size,) = struct.unpack(">I", blob[at : at + 4])
        parts.append(blob[at : at + 4 + size])
        at += 4 + size
    return head, parts


def test_a_round_trip_in_several_parts() -> None:
    blob = encrypt()
    assert decrypt(blob) == DATA
    assert len(split(blob)[1]) == 3
    assert DATA[:64] not in blob


def test_an_empty_stream_round_trips() -> None:
    assert decrypt(encrypt(b"")) == b""


@pytest.mark.parametrize("attack", ["swap", "drop-last", "drop-middle", "repeat", "foreign"])
def test_parts_cannot_be_moved_dropped_repeated_or_taken_from_another_backup(attack) -> None:
    head, parts = split(encrypt())
    if attack == "swap":
        parts[0], parts[1] = parts[1], parts[0]
    elif attack == "drop-last":
        parts.pop()
    elif attack == "drop-middle":
        parts.pop(1)
    elif attack == "repeat":
        parts.insert(1, parts[0])
    else:
        parts[1] = split(encrypt())[1][1]
    with pytest.raises(bc.BackupCryptoError) as refused:
        decrypt(head + b"".join(parts))
    assert refused.value.altered


def test_an_edited_header_is_refused() -> None:
    blob = bytearray(encrypt(b"hello"))
    blob[len(bc.MAGIC) + 10] ^= 0x20
    with pytest.raises(bc.BackupCryptoError):
        decrypt(bytes(blob))


def test_another_key_is_named_not_guessed_at() -> None:
    other = bc.KeySource(key_file=os.urandom(32))
    with pytest.raises(bc.BackupCryptoError, match="encrypted with another backup key") as refused:
        decrypt(encrypt(b"hello"), other)
    assert not refused.value.altered


def test_a_passphrase_stream_needs_the_passphrase() -> None:
    blob = encrypt(b"hello", bc.KeySource(passphrase="correct horse battery"))
    assert decrypt(blob, bc.KeySource(passphrase="correct horse battery")) == b"hello"
    with pytest.raises(bc.BackupCryptoError, match="passphrase is wrong"):
        decrypt(blob, bc.KeySource(passphrase="wrong horse battery"))
    with pytest.raises(bc.BackupCryptoError, match="encrypted with a passphrase"):
        decrypt(blob)


def test_a_file_that_is_not_a_backup_is_said_to_be_so() -> None:
    with pytest.raises(bc.BackupCryptoError, match="not an encrypted cryoderm backup") as refused:
        decrypt(b"SQLite format 3\x00" + b"\x00" * 100)
    assert not refused.value.altered
