"""Signed checkpoints of the audit chain's head, appended to a file outside the database.

A checkpoint is one JSON line: each lane's newest entry's number and seal, the time, and an
Ed25519 signature over them (lines written before the log had lanes name one entry, of
lane 1, and are read as such). The file (``CRYODERM_AUDIT_CHECKPOINTS``, by default
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
from .chain import Checkpoint, Heads

FILE_NAME = "audit-checkpoints.jsonl"
_DOMAIN = b"cryoderm audit checkpoint v1\n"
_DOMAIN_LANES = b"cryoderm audit checkpoint v2\n"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointFile:
    """The checkpoints read from a file, and the lines that are not valid signed checkpoints."""

    checkpoints: tuple[Checkpoint, ...]
    problems: tuple[str, ...]


def path() -> Path:
    configured = getattr(settings, "CRYODERM_AUDIT_CHECKPOINTS", None)
    return Path(configured) if configured else keys.directory() / FILE_NAME


def _payload(heads: tuple[tuple[int, int, str], ...], signed_at: str) -> bytes:
    if len(heads) == 1 and heads[0][0] == 1:
        # The one-chain format, so that lines written before lanes still verify.
        _, seq, entry_hash = heads[0]
        body = json.dumps(
            {"seq": seq, "entry_hash": entry_hash, "signed_at": signed_at}, sort_keys=True
        )
        return _DOMAIN + body.encode("ascii")
    body = json.dumps({"heads": [list(head) for head in heads], "signed_at": signed_at})
    return _DOMAIN_LANES + body.encode("ascii")


def _sorted(heads: Heads) -> tuple[tuple[int, int, str], ...]:
    """The lanes that have entries, in order."""
    return tuple(
        (lane, seq, entry_hash) for lane, (seq, entry_hash) in sorted(heads.items()) if seq
    )


def sign(private: Ed25519PrivateKey, heads: Heads, signed_at: str) -> str:
    """One checkpoint line (without its newline)."""
    named = _sorted(heads)
    signature = base64.b64encode(private.sign(_payload(named, signed_at))).decode("ascii")
    if len(named) == 1 and named[0][0] == 1:
        _, seq, entry_hash = named[0]
        item: dict[str, object] = {"seq": seq, "entry_hash": entry_hash}
    else:
        item = {"heads": [list(head) for head in named]}
    return json.dumps({**item, "signed_at": signed_at, "signature": signature}, sort_keys=True)


def _parse(item: dict[str, object]) -> Checkpoint:
    if "heads" in item:
        heads = tuple(
            (int(lane), int(seq), str(entry_hash))
            for lane, seq, entry_hash in item["heads"]  # type: ignore[attr-defined]
        )
    else:
        heads = ((1, int(item["seq"]), str(item["entry_hash"])),)  # type: ignore[call-overload]
    return Checkpoint(heads=heads, signed_at=str(item["signed_at"]))


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
                checkpoint = _parse(item)
                signature = base64.b64decode(item["signature"], validate=True)
                public.verify(signature, _payload(checkpoint.heads, checkpoint.signed_at))
            except (ValueError, KeyError, TypeError, AttributeError, InvalidSignature):
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


def _covers(checkpoint: Checkpoint, heads: Heads) -> bool:
    """Whether ``checkpoint`` names every lane of ``heads`` at or after its head."""
    named = {lane: seq for lane, seq, _ in checkpoint.heads}
    return all(named.get(lane, 0) >= seq for lane, (seq, _) in heads.items() if seq)


def append(heads: Heads, target: Path | None = None) -> bool:
    """Sign and append a checkpoint of the lanes' heads unless the file already ends with one
    at or after all of them. Returns True when one was written."""
    target = target or path()
    private = keys.signing_key()
    signed_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        last = _last_line(handle)
        if last:
            try:
                if _covers(_parse(json.loads(last)), heads):
                    return False
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # a damaged last line is reported by verify; keep appending
        line = sign(private, heads, signed_at) + "\n"
        handle.write(line.encode("ascii"))
        handle.flush()
        os.fsync(handle.fileno())
    return True


def write_now() -> bool:
    """Checkpoint the committed heads now (``cryoderm audit checkpoint``)."""
    from .log import heads

    current = heads()
    if not any(seq for seq, _ in current.values()):
        return False
    written = append(current)
    _state.note(max(seq for seq, _ in current.values()))
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
