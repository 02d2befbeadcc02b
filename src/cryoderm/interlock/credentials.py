"""Per-device credentials: the interlock's key and broker account, each device's token.

One directory (``cryoderm device-credentials --credentials DIR``; default
``$CRYODERM_DATA_DIR/credentials``) holds, each written atomically:

- ``interlock.key`` (0600): the interlock's Ed25519 private key, hex (:mod:`.signing`);
  ``interlock.pub``: its public key, which every device is given.
- ``interlock.password`` (0600): the interlock's password on the broker (user
  :data:`INTERLOCK_USER`).
- ``devices.json`` (0600): for each device, the SHA-256 of its token (the HTTP ingest
  checks a presented token against it) and when it was issued. The token itself is shown
  once, when it is issued, and kept nowhere else.
- ``mosquitto.passwd`` (0640): the broker's password file (Mosquitto 2's PBKDF2-SHA512
  format, ``user:$7$iterations$salt$hash``), one line for the interlock and one per
  device, whose user name is its device id and whose password is its token. The shipped
  ACL (deploy/mosquitto/acl) gives each user name only its own topics.

After a change the broker must read its password file again (SIGHUP to Mosquitto, e.g.
``systemctl reload mosquitto``, or ``--reload-broker PIDFILE``); the interlock reads
``devices.json`` again when it changes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.interlock.errors import ActionRefused, InvalidInterlockInput
from cryoderm.interlock.model import check_device_id
from cryoderm.interlock.signing import new_private_key, public_key_of

INTERLOCK_USER = "cryoderm-interlock"
RESERVED_PREFIX = "cryoderm-"
KEY_FILE, PUBLIC_KEY_FILE = "interlock.key", "interlock.pub"
PASSWORD_FILE, DEVICES_FILE, BROKER_PASSWORDS = (
    "interlock.password",
    "devices.json",
    "mosquitto.passwd",
)
# Mosquitto 2's own default for its PBKDF2-SHA512 hashes: a token carries 256 random bits,
# so no guessing is helped by fewer rounds, and the broker hashes on every connection.
PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12


def broker_password_line(user: str, password: str, salt: bytes | None = None) -> str:
    """One line of a Mosquitto 2 password file (what ``mosquitto_passwd`` writes)."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    encoded = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"{user}:$7${PBKDF2_ITERATIONS}${encoded[0]}${encoded[1]}"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ack_key(token: str) -> bytes:
    """The key of a device's acknowledgements (:mod:`.acks`): the SHA-256 of its token,
    which the device computes from its token and the interlock holds (``devices.json``);
    nobody else has it."""
    return hashlib.sha256(token.encode()).digest()


def _write(path: Path, text: str, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(temporary, mode)
    os.replace(temporary, path)


@dataclass(frozen=True)
class Issued:
    """A device's new credentials: its broker user name is its device id, its password and
    HTTP token is ``token`` (shown once), and it verifies the interlock with
    ``interlock_public_key``."""

    device_id: str
    token: str
    interlock_public_key: str


class CredentialStore:
    """The credentials directory (see the module docstring). broker_group: the group the
    broker runs as (Mosquitto drops root for user and group ``mosquitto``); the directory
    and the broker's password file are given to it on every write (a rewrite replaces the
    file, so a manual chgrp would not last). None, or a group that does not exist: left."""

    def __init__(self, directory: str | Path, broker_group: str | None = "mosquitto") -> None:
        self.directory = Path(directory)
        self.broker_group = broker_group

    def _share_with_broker(self, path: Path) -> None:
        import grp

        if self.broker_group is None:
            return
        try:
            gid = grp.getgrnam(self.broker_group).gr_gid
        except KeyError:
            return
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            raise InvalidInterlockInput(
                f"{path}: cannot give group {self.broker_group!r} read access (run as root or "
                f"as a member of {self.broker_group!r}), so the broker could not read it"
            ) from None

    # -- the interlock's own -------------------------------------------------------------
    def init(self) -> bool:
        """Create the interlock's key and broker password if absent; True if created."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o750)
        self._share_with_broker(self.directory)
        if (self.directory / KEY_FILE).exists():
            return False
        key = new_private_key()
        _write(self.directory / KEY_FILE, key + "\n", 0o600)
        _write(self.directory / PUBLIC_KEY_FILE, public_key_of(key) + "\n", 0o644)
        _write(self.directory / PASSWORD_FILE, secrets.token_urlsafe(32) + "\n", 0o600)
        self._write_devices(self.devices() if (self.directory / DEVICES_FILE).exists() else {})
        return True

    def _read(self, name: str) -> str:
        try:
            return (self.directory / name).read_text().strip()
        except OSError:
            raise InvalidInterlockInput(
                f"credentials = {str(self.directory)!r}: no {name}; run "
                f"`cryoderm device-credentials init --credentials {self.directory}`"
            ) from None

    def private_key(self) -> str:
        return self._read(KEY_FILE)

    def public_key(self) -> str:
        return self._read(PUBLIC_KEY_FILE)

    def interlock_password(self) -> str:
        return self._read(PASSWORD_FILE)

    # -- devices ------------------------------------------------------------------------
    def devices(self) -> dict[str, dict[str, Any]]:
        """device id -> {token_sha256, issued_wall_time_s}."""
        text = self._read(DEVICES_FILE)
        data = json.loads(text) if text else {}
        return data if isinstance(data, dict) else {}

    def add(self, device_id: str) -> Issued:
        """Issue a device's first credentials; refused if it has some (rotate them)."""
        check_device_id(device_id)
        if device_id.startswith(RESERVED_PREFIX):
            raise InvalidInterlockInput(
                f"device_id = {device_id!r}: ids beginning {RESERVED_PREFIX!r} are the "
                "interlock's own (its account, its broker probe)"
            )
        if device_id in self.devices():
            raise ActionRefused(f"device {device_id}: already has credentials (rotate them)")
        return self._issue(device_id)

    def rotate(self, device_id: str) -> Issued:
        """A new token for a device; the old one stops working once the broker reloads."""
        if device_id not in self.devices():
            raise ActionRefused(f"device {device_id!r}: has no credentials (add it)")
        return self._issue(device_id)

    def revoke(self, device_id: str) -> None:
        devices = self.devices()
        if devices.pop(device_id, None) is None:
            raise ActionRefused(f"device {device_id!r}: has no credentials")
        self._write_devices(devices)

    def _issue(self, device_id: str) -> Issued:
        token = secrets.token_urlsafe(32)
        devices = self.devices()
        devices[device_id] = {
            "token_sha256": _token_digest(token),
            "issued_wall_time_s": round(time.time(), 3),
        }
        self._write_devices(devices, new_token=(device_id, token))
        return Issued(device_id, token, self.public_key())

    def _write_devices(
        self, devices: dict[str, dict[str, Any]], new_token: tuple[str, str] | None = None
    ) -> None:
        """devices.json, then the broker's password file from it: the interlock's line and
        one per device (kept from the old file, or made from a newly issued token)."""
        old = self._broker_lines()
        lines = [broker_password_line(INTERLOCK_USER, self.interlock_password())]
        for device_id in sorted(devices):
            if new_token is not None and new_token[0] == device_id:
                lines.append(broker_password_line(device_id, new_token[1]))
            elif device_id in old:
                lines.append(old[device_id])
        _write(self.directory / DEVICES_FILE, json.dumps(devices, indent=1, sort_keys=True), 0o600)
        _write(self.directory / BROKER_PASSWORDS, "\n".join(lines) + "\n", 0o640)
        self._share_with_broker(self.directory / BROKER_PASSWORDS)

    def _broker_lines(self) -> dict[str, str]:
        try:
            text = (self.directory / BROKER_PASSWORDS).read_text()
        except OSError:
            return {}
        return {line.split(":", 1)[0]: line for line in text.splitlines() if ":" in line}


class TokenCheck:
    """The interlock's side: which device a presented token belongs to (HTTP ingest), and
    each device's acknowledgement key (MQTT). Re-reads
    ``devices.json`` when it changes (rotate and revoke apply without a restart)."""

    def __init__(self, store: CredentialStore) -> None:
        self.store = store
        self._stamp: tuple[int, int] | None = None
        self._by_digest: dict[str, str] = {}
        self._keys: dict[str, bytes] = {}

    def ack_key(self, device_id: str) -> bytes | None:
        """The key of the device's acknowledgements (see :func:`ack_key`), None for a
        device without credentials."""
        self._refresh()
        return self._keys.get(device_id)

    def device_of(self, token: str) -> str | None:
        # A look-up by the token's SHA-256: what a guesser controls is the token, not its
        # digest, so the look-up's timing tells nothing useful.
        self._refresh()
        return self._by_digest.get(_token_digest(token))

    def _refresh(self) -> None:
        try:
            stat = (self.store.directory / DEVICES_FILE).stat()
        except OSError:
            self._by_digest = {}
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._by_digest = {
            str(entry.get("token_sha256")): device_id
            for device_id, entry in self.store.devices().items()
            if isinstance(entry, dict)
        }
        self._keys = {}
        for digest, device_id in self._by_digest.items():
            with contextlib.suppress(ValueError):
                self._keys[device_id] = bytes.fromhex(digest)


def reload_broker(target: str) -> int:
    """SIGHUP to Mosquitto (it reads its password and ACL files again): ``target`` is its
    pid or its pid file. Returns the pid."""
    import signal

    text = target if target.isdigit() else ""
    if not text:
        try:
            text = Path(target).read_text().strip()
        except OSError as error:
            raise InvalidInterlockInput(
                f"reload-broker = {target!r}: not a pid, and no pid file ({error.strerror})"
            ) from None
    if not text.isdigit():
        raise InvalidInterlockInput(f"reload-broker = {target!r}: no pid in it")
    try:
        os.kill(int(text), signal.SIGHUP)
    except OSError as error:
        raise InvalidInterlockInput(
            f"reload-broker = {target!r}: cannot signal pid {text} ({error.strerror})"
        ) from None
    return int(text)
