"""Sessions, readings, alarms and outcomes: readings arrive in batches, all or none, with
a clear error naming the reading and field; device counters follow the sessions."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from cryoderm.clinic.records.errors import Conflict, InvalidRecord
from cryoderm.clinic.records.models import SkinReading
from cryoderm.clinic.records.services import adverse, outcomes, readings
from cryoderm.clinic.records.services import sessions as session_service

from . import factories


def sensor(session) -> str:
    """The actor of a reading ingest: the session's device."""
    return f"device:{session.device.serial_number}"


@pytest.fixture
def running(alice):
    return session_service.start(alice, factories.ready_session(alice).pk)


def batch(n: int, **override) -> list[dict]:
    rows = [
        {"zone": "cheek", "sensor": "ir-1", "elapsed_s": float(i), "skin_temp_c": 30.0 - i}
        for i in range(n)
    ]
    rows[-1].update(override)
    return rows


def test_a_batch_of_readings_is_stored_as_a_time_series(alice, running) -> None:
    assert readings.ingest(sensor(running), running.pk, batch(5)).accepted == 5
    series = SkinReading.objects.filter(session=running, zone="cheek", sensor="ir-1")
    assert [r.skin_temp_c for r in series] == [30.0, 29.0, 28.0, 27.0, 26.0]
    assert series[1].recorded_at == running.started_at + dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"skin_temp_c": math.nan}, "readings[3].skin_temp_c"),
        ({"skin_temp_c": "cold"}, "readings[3].skin_temp_c"),
        ({"zone": "elbow"}, "readings[3].zone"),
        ({"elapsed_s": -1}, "readings[3].elapsed_s"),
        ({"sensor": ""}, "readings[3].sensor"),
        ({"recorded_at": "2026-01-01T10:00:00"}, "readings[3].recorded_at"),
    ],
)
def test_one_bad_reading_refuses_the_whole_batch(alice, running, override, field) -> None:
    with pytest.raises(InvalidRecord) as caught:
        readings.ingest(sensor(running), running.pk, batch(4, **override))
    assert caught.value.field == field
    assert not SkinReading.objects.exists()


def test_readings_before_the_start_are_refused(alice) -> None:
    planned = factories.ready_session(alice)
    with pytest.raises(Conflict, match="has not started"):
        readings.ingest(sensor(planned), planned.pk, batch(2))


def test_finishing_counts_the_exposure_on_the_device(alice, running) -> None:
    session_service.finish(alice, running.pk, exposure_s=95.0)
    running.device.refresh_from_db()
    assert (running.device.sessions_count, running.device.exposure_s_total) == (1, 95.0)
    assert [e.kind for e in running.events.all()] == ["started", "completed"]
    with pytest.raises(Conflict, match="not in progress"):
        session_service.finish(alice, running.pk, exposure_s=1.0)


def test_an_abort_needs_a_reason(alice, running) -> None:
    with pytest.raises(InvalidRecord, match="reason"):
        session_service.finish(alice, running.pk, exposure_s=10, aborted=True)
    ended = session_service.finish(alice, running.pk, exposure_s=10, aborted=True, reason="pain")
    assert ended.status == "aborted" and ended.end_reason == "pain"


def test_an_alarm_is_raised_and_acknowledged_once(alice, running) -> None:
    alarm = session_service.raise_alarm(
        alice,
        running.pk,
        code="approaching-floor",
        severity="warning",
        message="surface 1.0 C above the floor",
        zone="cheek",
        value_c=1.0,
        limit_c=0.0,
    )
    session_service.acknowledge_alarm(alice, alarm.pk)
    with pytest.raises(Conflict, match="already acknowledged"):
        session_service.acknowledge_alarm(alice, alarm.pk)


def test_instrumental_measures_carry_the_unit_of_their_quantity(alice, running) -> None:
    tewl = outcomes.record_measure(
        alice,
        running.client,
        session_id=running.pk,
        quantity="tewl",
        value=12.5,
        unit="g/m2/h",
        zone="cheek",
    )
    assert tewl.unit == "g/m2/h"
    with pytest.raises(InvalidRecord, match="tewl is recorded in 'g/m2/h', not 'mg'"):
        outcomes.record_measure(
            alice, running.client, quantity="tewl", value=1, unit="mg", zone="cheek"
        )


def test_scores_stay_within_their_scale(alice, running) -> None:
    score = outcomes.record_score(
        alice,
        running.client,
        session_id=running.pk,
        rater="clinician",
        scale="gais",
        score=2,
    )
    assert score.score == 2
    with pytest.raises(InvalidRecord, match="outside the scale"):
        outcomes.record_score(alice, running.client, rater="client", scale="gais", score=7)


def test_adverse_events_carry_a_cold_injury_grade(alice, running) -> None:
    event = adverse.report(
        alice,
        running.client,
        session_id=running.pk,
        description="blanching, resolved",
        cold_injury_grade="frostnip",
        seriousness="non-serious",
        zone="cheek",
    )
    assert event.get_cold_injury_grade_display().startswith("Frostnip")
    with pytest.raises(InvalidRecord, match="cold_injury_grade"):
        adverse.report(
            alice,
            running.client,
            description="x",
            cold_injury_grade="5",
            seriousness="serious",
        )
