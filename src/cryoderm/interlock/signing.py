"""What the interlock tells devices is signed; devices believe only what verifies.

On the shipped broker configuration only the interlock's account may publish heartbeats,
commands and the interlock's status (deploy/mosquitto/acl). Signatures make that
verifiable by the device itself, whatever the broker lets through (an anonymous broker, a
mistaken ACL, a replay): the interlock holds an Ed25519 key (``interlock.key`` in its
credentials directory, :mod:`.credentials`), each device is given the public key when it
is provisioned, and a device obeys a heartbeat, a command or a status only if it verifies.

The envelope, language-independent: ``{"signed": "<JSON text of the body>", "sig":
"<base64 Ed25519 signature of that text's UTF-8 bytes>"}``. The body says what it is
(``kind``: ``heartbeat``, ``command``, ``status``), who sent it (``interlock_id``), when
(``wall_time_s``, Unix time) and its place in the interlock's sequence (``epoch_s``, the
interlock's start time, and ``n``, its counter), and for a command, which device it is for
(``device_id``). A device accepts a heartbeat, a pause or a resume only when it is newer
than the last it accepted (epoch, then n) and its time is within ``max_clock_skew_s`` of the
device's clock (a replay is refused); it accepts a signed stop, or a signed ``offline``
status, whenever it comes (obeying an old stop is safe). Acknowledgements carry a MAC
instead of a signature (:mod:`.acks`).
"""

from __future__ import annotations

import base64
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.model import DeviceCommand
from cryoderm.interlock.wire import Caps, RejectedMessage, decode, show


def public_key_of(private_key_hex: str) -> str:
    """The hex public key that devices are given for an interlock's private key."""
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_key_hex))
    return key.public_key().public_bytes_raw().hex()


def new_private_key() -> str:
    return Ed25519PrivateKey.generate().private_bytes_raw().hex()


class Signer:
    """The interlock's side: seals bodies into signed envelopes (thread-safe)."""

    def __init__(self, private_key_hex: str, interlock_id: str) -> None:
        try:
            self._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_key_hex))
        except ValueError:
            raise InvalidInterlockInput(
                "interlock key: 32 bytes of hex are required (cryoderm device-credentials init)"
            ) from None
        self.interlock_id = interlock_id
        self.public_key_hex = self._key.public_key().public_bytes_raw().hex()
        self.epoch_s = round(time.time(), 6)
        self._counter = itertools.count(1)

    def seal(self, kind: str, body: dict[str, Any]) -> dict[str, str]:
        """The signed envelope of ``body`` (``kind``, sender, time and counter added)."""
        full = {
            **body,
            "kind": kind,
            "interlock_id": self.interlock_id,
            "epoch_s": self.epoch_s,
            "n": next(self._counter),
            "wall_time_s": round(time.time(), 6),
        }
        text = orjson.dumps(full)
        return {"signed": text.decode(), "sig": base64.b64encode(self._key.sign(text)).decode()}

    def seal_bytes(self, kind: str, body: dict[str, Any]) -> bytes:
        return orjson.dumps(self.seal(kind, body))


@dataclass
class _Seen:
    epoch_s: float = -math.inf
    n: int = 0

    def newer(self, body: dict[str, Any]) -> bool:
        return (body["epoch_s"], body["n"]) > (self.epoch_s, self.n)

    def take(self, body: dict[str, Any]) -> None:
        self.epoch_s, self.n = body["epoch_s"], body["n"]


@dataclass
class InterlockVerifier:
    """A device's side: opens envelopes from the interlock whose public key it was given.

    Each method returns what the device should act on, or raises
    :class:`~.wire.RejectedMessage` (reason ``unsigned``, ``bad-signature``, ``replayed``,
    ``stale``, ``not-for-this-device``) for what it must ignore."""

    public_key_hex: str
    max_clock_skew_s: float
    caps: Caps
    _heartbeats: _Seen = field(default_factory=_Seen)
    _commands: dict[str, _Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key_hex))
        except ValueError:
            raise InvalidInterlockInput(
                f"interlock public key = {show(self.public_key_hex)}: 32 bytes of hex"
            ) from None

    def open(self, envelope: object, kind: str) -> dict[str, Any]:
        """The verified body of an envelope of the given kind."""
        if (
            not isinstance(envelope, dict)
            or not isinstance(envelope.get("signed"), str)
            or not isinstance(envelope.get("sig"), str)
        ):
            raise RejectedMessage("unsigned", f"{kind}: not a signed envelope from the interlock")
        text = envelope["signed"].encode()
        try:
            self._key.verify(base64.b64decode(envelope["sig"], validate=True), text)
        except (InvalidSignature, ValueError):
            raise RejectedMessage(
                "bad-signature", f"{kind}: the signature does not verify"
            ) from None
        body = decode(text, self.caps)
        if not isinstance(body, dict) or body.get("kind") != kind:
            raise RejectedMessage("wrong-kind", f"{kind}: the signed body is not a {kind}")
        for key in ("epoch_s", "n", "wall_time_s"):
            value = body.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RejectedMessage("bad-body", f"{kind}.{key} = {show(value)}: a number")
        return body

    def _fresh(self, body: dict[str, Any], seen: _Seen, kind: str) -> None:
        if not seen.newer(body):
            raise RejectedMessage("replayed", f"{kind}: not newer than the last one accepted")
        skew = abs(body["wall_time_s"] - time.time())
        if skew > self.max_clock_skew_s:
            raise RejectedMessage(
                "stale",
                f"{kind}: sent {skew:.1f} s from this device's clock (at most "
                f"{self.max_clock_skew_s:g} s)",
            )
        seen.take(body)

    def heartbeat(self, envelope: object) -> float:
        """A heartbeat's wall time, if it is the interlock's and fresh."""
        body = self.open(envelope, "heartbeat")
        self._fresh(body, self._heartbeats, "heartbeat")
        return float(body["wall_time_s"])

    def command(self, envelope: object, device_id: str) -> tuple[DeviceCommand, dict[str, Any]]:
        """A command for ``device_id``: a stop whenever it comes, a pause or resume only if
        fresh and newer than the last one accepted."""
        body = self.open(envelope, "command")
        if body.get("device_id") != device_id:
            raise RejectedMessage(
                "not-for-this-device", f"command: for {show(body.get('device_id'))}"
            )
        try:
            command = DeviceCommand(str(body.get("command")))
        except ValueError:
            raise RejectedMessage("bad-body", f"command = {show(body.get('command'))}") from None
        seen = self._commands.setdefault(device_id, _Seen())
        if command is DeviceCommand.STOP:
            if seen.newer(body):
                seen.take(body)
        else:
            self._fresh(body, seen, "command")
        detail = {
            k: v
            for k, v in body.items()
            if k
            not in ("command", "kind", "interlock_id", "epoch_s", "n", "wall_time_s", "device_id")
        }
        return command, detail

    def status(self, envelope: object) -> str:
        """The interlock's state (``online``, ``offline``); a signed one whenever it comes."""
        body = self.open(envelope, "status")
        return str(body.get("state"))


def device_verifier(interlock_key: str) -> InterlockVerifier:
    """A verifier for a device link, with the caps and clock skew of data/interlock.toml."""
    from cryoderm.interlock.limits import technical_parameters
    from cryoderm.interlock.wire import caps

    skew = float(technical_parameters()["heartbeat"]["max_clock_skew_s"])
    return InterlockVerifier(interlock_key, skew, caps("interlock"))
