"""Signed checkpoints of the audit chain's head, appended to a file outside the database.

A checkpoint is one JSON line: the newest entry's number and seal, the time, and an
Ed25519 signature over those three. The file (``CRYODERM_AUDIT_CHECKPOINTS``, by default
``audit-checkpoints.jsonl`` in the key directory) is only ever appended to, under an
exclusive lock, one whole line per write. Anyone holding the public key can check it, so
the lines may also be shipped off the machine (syslog, a ticket, e-mail) and checked there.

The clinic writes one after a transaction that added entries commits, when the last one
it wrote is ``CRYODERM_AUDIT_CHECKPOINT_INTERVAL_S`` old or ``CRYODERM_AUDIT_CHECKPOINT_EVERY``
entries behind; ``cryoderm audit checkpoint`` writes one at once (for a timer). A flush of
the whole database or a restore starts a new file and keeps the old one beside it, renamed.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from . import keys
from .chain import Checkpoint

FILE_NAME = "audit-checkpoints.jsonl"
_DOMAIN = b"cryoderm audit checkpoint v1\n"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointFile:
    """The checkpoints read from a file, and the lines that are not valid signed checkpoints."""

    checkpoints: tuple[Checkpoint, ...]
    problems: tuple[str, ...]


def path() -> Path:
    configured = getattr(settings, "CRYODERM_AUDIT_CHECKPOINTS", None)
    return Path(configured) if configured else keys.directory() / FILE_NAME


def _payload(seq: int, entry_hash: str, signed_at: str) -> bytes:
    body = json.dumps(
        {"seq": seq, "entry_hash": entry_hash, "signed_at": signed_at}, sort_keys=True
    )
    return _DOMAIN + body.encode("ascii")


def sign(private: Ed25519PrivateKey, seq: int, entry_hash: str, signed_at: str) -> str:
    """One checkpoint line (without its newline)."""
    signature = private.sign(_payload(seq, entry_hash, signed_at))
    return json.dumps(
        {
            "seq": seq,
            "entry_hash": entry_hash,
            "signed_at": signed_at,
            "signature": base64.b64encode(signature).decode("ascii"),
        },
        sort_keys=True,
    )


def read(source: Path | None = None, public: Ed25519PublicKey | None = None) -> CheckpointFile:
    """Every checkpoint in ``source`` whose signature verifies under ``public`` (the key
    directory's public key by default); the others are reported as problems."""
    source = source or path()
    if not source.exists():
        return CheckpointFile((), ())
    public = public or keys.public_key()
    if public is None:
        return CheckpointFile(
            (), (f"{source} exists but there is no checkpoint public key to check it with",)
        )
    found: list[Checkpoint] = []
    problems: list[str] = []
    with source.open(encoding="ascii", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                checkpoint = Checkpoint(
                    seq=int(item["seq"]),
                    entry_hash=str(item["entry_hash"]),
                    signed_at=str(item["signed_at"]),
                )
                signature = base64.b64decode(item["signature"], validate=True)
                public.verify(
                    signature,
                    _payload(checkpoint.seq, checkpoint.entry_hash, checkpoint.signed_at),
                )
            except (ValueError, KeyError, TypeError, InvalidSignature):
                problems.append(
                    f"line {number} of {source} is not a checkpoint signed with the clinic's "
                    "key: the checkpoint file was altered"
                )
                continue
            found.append(checkpoint)
    return CheckpointFile(tuple(found), tuple(problems))


def _last_line(handle: object) -> str:
    fd = handle.fileno()  # type: ignore[attr-defined]
    size = os.fstat(fd).st_size
    start = max(0, size - 4096)
    data = os.pread(fd, size - start, start).decode("ascii", errors="replace")
    lines = [line for line in data.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def append(seq: int, entry_hash: str, target: Path | None = None) -> bool:
    """Sign and append a checkpoint of entry ``seq`` unless the file already ends at or
    after it. Returns True when one was written."""
    target = target or path()
    private = keys.signing_key()
    signed_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        last = _last_line(handle)
        if last:
            try:
                if int(json.loads(last)["seq"]) >= seq:
                    return False
            except (ValueError, KeyError, TypeError):
                pass  # a damaged last line is reported by verify; keep appending
        line = sign(private, seq, entry_hash, signed_at) + "\n"
        handle.write(line.encode("ascii"))
        handle.flush()
        os.fsync(handle.fileno())
    return True


def write_now() -> bool:
    """Checkpoint the committed head now (``cryoderm audit checkpoint``)."""
    from .models import ChainHead

    head = ChainHead.objects.filter(pk=1).first()
    if head is None or head.seq == 0:
        return False
    written = append(head.seq, head.entry_hash)
    _state.note(head.seq)
    return written


class _Schedule:
    """When this process last checkpointed (the file is the truth; this only saves reads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = 0.0
        self.seq = 0

    def note(self, seq: int) -> None:
        with self.lock:
            self.at = time.monotonic()
            self.seq = max(self.seq, seq)

    def due(self, seq: int) -> bool:
        interval_s = settings.CRYODERM_AUDIT_CHECKPOINT_INTERVAL_S
        every = settings.CRYODERM_AUDIT_CHECKPOINT_EVERY
        with self.lock:
            return time.monotonic() - self.at >= interval_s or seq - self.seq >= every


_state = _Schedule()


def after_commit(seq: int) -> None:
    """Called once a transaction that appended entry ``seq`` has committed."""
    if not _state.due(seq):
        return
    try:
        write_now()
    except Exception:
        # The change is committed; a checkpoint that cannot be written must not turn it
        # into an error. verify reports how far the checkpoints go.
        log.exception("the audit checkpoint could not be written to %s", path())
        _state.note(seq)


def archive(reason: str) -> Path | None:
    """Set the checkpoint file aside (renamed with the time and ``reason``), so that a new
    chain (after a flush or a restore) starts a new file. Returns the new name."""
    current = path()
    if not current.exists():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = current.with_name(f"{current.stem}.{stamp}.{reason}{current.suffix}")
    current.rename(kept)
    with _state.lock:
        _state.seq = 0
        _state.at = 0.0
    return kept
