"""The caps every inbound message passes before it is parsed (wire.decode)."""

from __future__ import annotations

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
