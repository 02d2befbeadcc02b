"""Acknowledgements a device can tell from forgeries.

What an acknowledgement is trusted for, and only that: "the interlock's journal holds these
readings of yours", so the device may drop them from the readings it keeps to send again.
It is never a heartbeat, a command, or a sign that the interlock is alive (a device that
hears acknowledgements but no verified heartbeat for 1 s stops all the same). A forged one
could still make a device drop a reading the journal never got (IL-7: every reading kept),
so on MQTT, where an open or misconfigured broker lets anyone publish on a device's
``acks`` topic, each carries a MAC: HMAC-SHA256 keyed by the device's acknowledgement key
(:func:`~.credentials.ack_key`: the SHA-256 of its token, which only the device and the
interlock hold) over the exact JSON text of the body, which names the device. The envelope,
language-independent: ``{"acked": "<JSON text of {"device_id", "seqs", "journal_seqs"}>",
"mac": "<hex HMAC-SHA256 of that text's UTF-8 bytes>"}``.

Replaying a genuine acknowledgement acknowledges again readings already acknowledged, which
changes nothing (a device never reuses a seq, :mod:`.guard`'s stream rules); one for another
device fails its MAC and its ``device_id``. A MAC and not a signature: thousands of
acknowledgements a second cost microseconds each, where an Ed25519 verification costs a
device about 0.25 ms. Over HTTP the acknowledgement is the answer to the device's own
authenticated request on its own connection, which carries it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from cryoderm.interlock.wire import Caps, RejectedMessage, decode, show


def _mac(key: bytes, text: bytes) -> str:
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def seal_ack(key: bytes | None, device_id: str, seqs: list[int], journal_seqs: list[int]) -> bytes:
    """The acknowledgement message for ``device_id``; without a key (a device without
    credentials, on a development broker) the bare body, which a device with a token
    refuses."""
    body = {"device_id": device_id, "seqs": seqs, "journal_seqs": journal_seqs}
    if key is None:
        return orjson.dumps(body)
    text = orjson.dumps(body)
    return orjson.dumps({"acked": text.decode(), "mac": _mac(key, text)})


def _whole_numbers(value: Any, name: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value
    ):
        raise RejectedMessage("bad-ack", f"acks.{name} = {show(value)}: whole numbers")
    return value


def open_ack(data: object, key: bytes | None, device_id: str, caps: Caps) -> list[tuple[int, int]]:
    """The (device seq, journal seq) pairs an acknowledgement for ``device_id`` vouches for.
    key: the device's acknowledgement key; None only for a device without credentials (a
    development broker), which then takes the bare body. Raises RejectedMessage."""
    if key is not None:
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("acked"), str)
            or not isinstance(data.get("mac"), str)
        ):
            raise RejectedMessage("unsigned", "acks: not an authenticated acknowledgement")
        text = data["acked"].encode()
        if not hmac.compare_digest(_mac(key, text), data["mac"]):
            raise RejectedMessage("bad-signature", "acks: the MAC does not verify")
        data = decode(text, caps)
    if not isinstance(data, dict):
        raise RejectedMessage("bad-ack", f"acks = {show(data)}: a JSON object is required")
    if data.get("device_id", device_id) != device_id:
        raise RejectedMessage(
            "not-for-this-device", f"acks: for {show(data.get('device_id'))}, not {device_id}"
        )
    if key is not None and data.get("device_id") != device_id:
        raise RejectedMessage("bad-ack", "acks: the device_id is required")
    seqs = _whole_numbers(data.get("seqs"), "seqs")
    journal_seqs = _whole_numbers(data.get("journal_seqs"), "journal_seqs")
    if len(seqs) != len(journal_seqs):
        raise RejectedMessage("bad-ack", "acks: as many seqs as journal_seqs are required")
    return list(zip(seqs, journal_seqs, strict=True))
