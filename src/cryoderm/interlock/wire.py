"""Reading a message off the wire: caps first, then JSON, never a parser that can recurse.

Every message that reaches the interlock from outside (an MQTT reading or status, an HTTP
body, a control-channel command) and every message a device link receives goes through
:func:`decode`. Before anything is parsed, the message must be at most ``max_bytes`` long
and hold at most ``max_containers`` arrays and objects (so its nesting depth is bounded
too); only then is it parsed, by orjson alone (standard JSON: no NaN or Infinity literal,
no number beyond a double; it does not recurse without limit, and there is no fallback to
a parser that does). The caps are in data/interlock.toml ``[messages]``.

A message that fails is a :class:`RejectedMessage` (an :class:`InvalidInterlockInput`)
whose ``reason`` is a short category for counting (``oversized``, ``too-nested``,
``not-json``, ``duplicate-key``) and whose text never repeats more than a few dozen characters of the input.
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from cryoderm.interlock.errors import InvalidInterlockInput

# A string, or one never closed up to the end of the message: matching it to the end makes
# every search succeed where it starts, so the search never starts again from each quote
# inside it (which made a 4 kB message with an unclosed string of escaped quotes cost
# 130-160 ms: quadratic).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# A string, and the colon after it when it is an object's key (JSON's whitespace between).
_KEY = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"([ \t\n\r]*:)?', re.DOTALL)
_SHOW = reprlib.Repr()
_SHOW.maxstring = 40
_SHOW.maxother = 40
_SHOW.maxlist = _SHOW.maxdict = _SHOW.maxtuple = 4
_SHOW.maxlevel = 2


def show(value: object) -> str:
    """A short repr of untrusted input, safe for error messages and logs."""
    try:
        return _SHOW.repr(value)
    except Exception:  # a repr that fails must not turn a rejection into a fault
        return f"<{type(value).__name__}>"


def clip(text: str, longest: int = 300) -> str:
    """An error text cut to ``longest`` characters (its untrusted parts are already short)."""
    return text if len(text) <= longest else text[:longest] + "..."


class RejectedMessage(InvalidInterlockInput):
    """A message that is not read. reason: a short category for the counts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class QuarantinedMessage(RejectedMessage):
    """A message a previous interlock died handling (:mod:`.liveness`): never read again."""

    def __init__(
        self,
        text: str = "a previous interlock died while handling this message: acknowledged, not read",
    ) -> None:
        super().__init__("quarantined", text)


class WrongClient(RejectedMessage):
    """A message whose sender (its topic, its token) is not the device it speaks for: a
    technical alarm and a fail-safe stop of both devices' sessions."""

    def __init__(self, sender: str, claimed: str) -> None:
        super().__init__(
            "wrong-client", f"a message from {sender!r} claims to come from {show(claimed)}"
        )
        self.sender, self.claimed = sender, claimed


@dataclass(frozen=True)
class Caps:
    """max_bytes: longest message; max_containers: most arrays and objects in one."""

    max_bytes: int
    max_containers: int


@cache
def caps(kind: str) -> Caps:
    """The caps for ``device`` (what devices send), ``interlock`` (what a device link
    receives) or ``control`` (control-channel commands), from data/interlock.toml."""
    from cryoderm.interlock.limits import technical_parameters

    table = technical_parameters()["messages"]
    return Caps(int(table[f"{kind}_max_bytes"]), int(table["max_containers"]))


def _containers(payload: bytes, most: int) -> int:
    """How many arrays and objects the message holds: counted in C, brackets inside strings
    included (an upper bound, enough for every message within the cap); only a message over
    the cap is counted again without its strings, by a regular expression, not a Python
    loop."""
    count = payload.count(b"[") + payload.count(b"{")
    if count <= most or b'"' not in payload:
        return count
    bare = _STRING.sub(b"", payload)
    return bare.count(b"[") + bare.count(b"{")


def decode(payload: bytes | bytearray | memoryview | str, limits: Caps) -> Any:
    """The JSON value of ``payload`` within ``limits``; raises :class:`RejectedMessage`."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    data = bytes(payload)
    if len(data) > limits.max_bytes:
        raise RejectedMessage(
            "oversized", f"message of {len(data)} bytes: at most {limits.max_bytes} are accepted"
        )
    containers = _containers(data, limits.max_containers)
    if containers > limits.max_containers:
        raise RejectedMessage(
            "too-nested",
            f"message with {containers} arrays or objects: at most {limits.max_containers}",
        )
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        # Also what is not standard JSON: NaN and Infinity literals, numbers beyond a double.
        raise RejectedMessage("not-json", f"message is not JSON ({clip(str(error), 80)})") from None
    if b":" in data:
        _refuse_repeated_keys(data, value)
    return value


def _keys_read(value: Any) -> int:
    """How many keys the parsed objects hold (a repeated key is held once)."""
    if isinstance(value, dict):
        return len(value) + sum(_keys_read(item) for item in value.values())
    if isinstance(value, list):
        return sum(_keys_read(item) for item in value)
    return 0


def _refuse_repeated_keys(data: bytes, value: Any) -> None:
    """A key written twice in one object is refused, not resolved: parsers disagree on which
    value wins (orjson keeps the last, others the first), so a device's message could mean
    one thing to the interlock and another to a gateway or a logger in front of it. In valid
    JSON a key is a string followed by a colon; strings are matched whole from the start,
    so a colon or a quote inside one is not counted. The nesting cap keeps the walk short."""
    found = _KEY.findall(data)
    written = len(found) - found.count(b"")
    if written != _keys_read(value):
        raise RejectedMessage(
            "duplicate-key",
            f"message writes {written} keys where its objects hold {_keys_read(value)}: "
            "a key may appear once in an object",
        )


def rejection_reason(error: Exception, source: str) -> str:
    """The short category under which a rejected message is counted."""
    if isinstance(error, RejectedMessage):
        return error.reason
    if isinstance(error, InvalidInterlockInput):
        return f"invalid-{source}"
    return f"fault-{type(error).__name__}"
