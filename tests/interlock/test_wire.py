"""The caps every inbound message passes before it is parsed (wire.decode)."""

from __future__ import annotations

import time

import pytest

from cryoderm.interlock.wire import Caps, RejectedMessage, decode

CAPS = Caps(max_bytes=200, max_containers=3)


def test_a_reading_is_parsed():
    assert decode(b'{"seq": 1, "skin_temp_c": 30.5}', CAPS) == {"seq": 1, "skin_temp_c": 30.5}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * 201, "oversized"),
        (b"[[[[]]]]", "too-nested"),
        (b"[[], [], [], []]", "too-nested"),
        (b"[NaN]", "not-json"),
        (b"1e999", "not-json"),
        (b'"\xff"', "not-json"),
        (b"", "not-json"),
    ],
)
def test_what_is_over_a_cap_or_not_json_is_rejected_with_its_reason(payload, reason):
    with pytest.raises(RejectedMessage) as caught:
        decode(payload, CAPS)
    assert caught.value.reason == reason
    assert len(str(caught.value)) < 200


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert decode(b'{"stopped_by": "[[[[x]]]] {{{", "a": "\\"[["}', CAPS)["a"] == '"[['


@pytest.mark.parametrize(
    "payload",
    [
        # One parser keeps the first, another the last: a logger or a gateway in front of
        # the interlock could see 1 C where the interlock judged 30 C.
        b'{"skin_temp_c": 1.0, "skin_temp_c": 30.0}',
        b'{"a": {"seq": 1, "seq": 2}}',
        b'[{"x": 1}, {"x": 1, "x": 1}]',
        b'{"skin_temp_c" : 1.0,"skin_temp_c":1.0}',
        b'{"s\\u006bin": 1, "skin": 2}',  # the same key, written two ways
    ],
)
def test_a_key_written_twice_in_one_object_is_rejected(payload):
    with pytest.raises(RejectedMessage) as caught:
        decode(payload, CAPS)
    assert caught.value.reason == "duplicate-key"


def test_the_same_key_in_two_objects_and_colons_inside_strings_are_read():
    assert decode(b'[{"x": "a\\": 1"}, {"x": ":"}]', CAPS) == [{"x": 'a": 1'}, {"x": ":"}]


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 9 + b'"' + b'\\"' * 2000,  # one string never closed, full of escaped quotes
        b"{" * 9 + b'"\\' * 2040,
        b"[" * 9 + b'"' * 4000,
    ],
    ids=["escaped quotes", "quote-backslash pairs", "quotes"],
)
def test_the_caps_cost_the_same_whatever_the_message_holds(payload):
    """A message at the cap that is refused must cost what any other costs: the cap is what
    protects the network thread, which holds the interlock's readings up while it works.
    A string never closed made the regular expression that discounts strings try again
    from every quote: 130-160 ms for 4 kB, seven such messages a second a deaf interlock."""
    limits = Caps(max_bytes=4096, max_containers=8)
    started = time.perf_counter()
    for _ in range(10):
        with pytest.raises(RejectedMessage):
            decode(payload[:4096], limits)
    assert (time.perf_counter() - started) / 10 < 0.010
