"""Readings that are not what they seem (a second pass on what a device may send):
timestamps from the future, numbers that are not numbers, messages at and just over the
caps, and a device sending just under the flood limit while the skin cools."""

from __future__ import annotations

import pytest

from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.faults import Fault
from cryoderm.interlock.guard import SessionGuard
from cryoderm.interlock.journal import entries_of
from cryoderm.interlock.model import InvalidReason, Reading, SessionSpec, StopReason
from cryoderm.interlock.wire import RejectedMessage, caps, decode

from .helpers import LumpedFace, limits, make_rig

NOW = 1_800_000_000.0


def test_a_reading_stamped_in_the_future_is_not_a_valid_reading(ram_dir):
    # A device whose clock runs ahead cannot show that its readings are late (a buffered,
    # replayed or delayed stream): beyond the clock skew a device is allowed, the reading
    # is invalid, and without valid readings the cold stops within the 1 s timeout.
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=25.0, tau_s=60.0))
    rig.run_for(3.0)
    rig.device.state = "idle"  # the device's own sampling ends; these come instead
    guard = rig.interlock.guard("s1")
    seq = rig.device.log.sent[-1].seq
    for ahead_s in (0.5, 0.5, 3600.0, 1.5, 1e6, 3600.0, 3600.0, 3600.0, 3600.0, 3600.0):
        seq += 1
        rig.clock.advance(0.1)
        rig.transport.publish_reading(
            Reading("dev-1", seq, 31.0, rig.clock.wall_time_s() + ahead_s)
        )
        rig.interlock.pump()
    for _ in range(10):
        rig.clock.advance(0.1)
        rig.interlock.pump()
    verdicts = [
        (e.payload["valid"], e.payload["invalid_reason"])
        for e in entries_of(rig.journal, "s1", ["reading"])[-10:]
    ]
    # Within the allowed skew (1 s, as for heartbeats) a reading is as good as any.
    assert verdicts[:2] == [(True, None), (True, None)]
    assert verdicts[2:] == [(False, "future")] * 8
    assert guard.stop_reason is StopReason.NO_VALID_READING
    # Stopped 1 s after the last valid reading (the second, 0.5 s ahead: as of now).
    assert guard.stop_at_s - guard.last_valid_at_s == pytest.approx(1.0, abs=0.06)


def _padded(length: int) -> bytes:
    body = b'{"device_id": "dev-1", "seq": 1, "skin_temp_c": 30.0, "pad": ""}'
    return body.replace(b'"pad": ""', b'"pad": "' + b"x" * (length - len(body)) + b'"')


def test_a_message_exactly_at_the_caps_is_read_and_one_byte_or_container_more_is_not():
    device = caps("device")
    assert decode(_padded(device.max_bytes), device)["seq"] == 1
    with pytest.raises(RejectedMessage) as over:
        decode(_padded(device.max_bytes + 1), device)
    assert over.value.reason == "oversized"
    nested = b'{"a": ' + b"[" * (device.max_containers - 1) + b"]" * (device.max_containers - 1)
    assert decode(nested + b"}", device)
    with pytest.raises(RejectedMessage) as deeper:
        decode(b"[" + nested + b"}]", device)
    assert deeper.value.reason == "too-nested"


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("seq", b"7.0"),
        ("seq", b"7e0"),
        ("seq", b'"7"'),
        ("seq", b"true"),
        ("seq", b"-1"),
        ("seq", b"10000000000000000000"),
        ("seq", b"100000000000000000000000"),
        ("skin_temp_c", b'"NaN"'),
        ("skin_temp_c", b'"30.0"'),
        ("skin_temp_c", b"true"),
        ("skin_temp_c", b"[30.0]"),
        ("skin_temp_c", b"1e309"),
        ("skin_temp_c", b"-1e400"),
        ("skin_temp_c", b'"nan"'),
        ("skin_temp_c", b"1e300"),
        ("sampled_wall_time_s", b'"now"'),
        ("sampled_wall_time_s", b"false"),
        ("sampled_wall_time_s", b"1e300"),
        ("sampled_wall_time_s", b"-1.0"),
        ("sampled_wall_time_s", b"0"),
        ("device_id", b"1"),
        ("device_id", b'"dev 1"'),
    ],
)
def test_a_field_that_is_not_what_it_says_is_refused_or_judged_invalid(field, raw):
    values = {
        "device_id": b'"dev-1"',
        "seq": b"7",
        "skin_temp_c": b"30.0",
        "sampled_wall_time_s": str(NOW).encode(),
    }
    values[field] = raw
    payload = b"{" + b", ".join(b'"%s": %s' % (k.encode(), v) for k, v in values.items()) + b"}"
    try:
        reading = Reading.from_json(decode(payload, caps("device")))
    except InvalidInterlockInput:
        return  # refused before it is judged: counted, and no valid reading
    guard = SessionGuard(SessionSpec("s", "dev-1", "cheek", "ln2-vapour", limits()), 0.0)
    verdict = guard.judge(reading, 0.0, NOW - reading.sampled_wall_time_s)
    assert not verdict.valid
    assert verdict.reason in (
        InvalidReason.NOT_A_NUMBER,
        InvalidReason.OUT_OF_RANGE,
        InvalidReason.STALE,
    )


def test_minus_zero_is_a_reading_at_the_floor(ram_dir):
    reading = Reading.from_json(
        decode(
            b'{"device_id": "dev-1", "seq": 1, "skin_temp_c": -0.0, "sampled_wall_time_s": 0}',
            caps("device"),
        )
    )
    assert reading.skin_temp_c == 0.0
    rig = make_rig(ram_dir)
    rig.run_for(0.5)
    rig.transport.publish_reading(
        Reading("dev-1", rig.device.log.sent[-1].seq + 1, -0.0, rig.clock.wall_time_s())
    )
    rig.interlock.pump()
    assert rig.interlock.guard("s1").stop_reason is StopReason.FLOOR


def test_a_device_sending_just_under_the_flood_limit_while_cold_is_judged_reading_by_reading(
    ram_dir,
):
    # 45 readings a second (the flood limit is 50) from a lingering wand: every one is
    # judged, none is refused as a flood, and the first at the floor stops the cold.
    rig = make_rig(
        ram_dir,
        face=LumpedFace(tau_s=6.0, cold_temp_c=-5.0),
        fault=Fault("linger", start_s=0.0),
        sample_every_s=1 / 45,
    )
    rig.run_until_stopped(step_s=0.005)
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason in (StopReason.FLOOR, StopReason.PREDICTED_FLOOR)
    recorded = entries_of(rig.journal, "s1", ["reading"])
    sent_before_stop = [r for r in rig.device.log.sent if r.seq <= recorded[-1].payload["seq"]]
    assert len(recorded) == len(sent_before_stop)
    assert not [a for a in entries_of(rig.journal, "s1", ["alarm"]) if "flood" in str(a.payload)]
    assert all(
        r.payload["invalid_reason"] is None for r in recorded if r.payload["state"] == "running"
    )
