"""Reading ingest writes only into the running session of the token's own device, its zones,
at plausible times, and never twice: in every path.

The reported bypass: a device token wrote readings into months-old sessions, into zones the
session does not treat, and at times in the year 9999. The readings service now refuses each
(through the API and when called directly, by a device or the interlock), and the database
holds one reading per session, zone, sensor and time."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic import factories
from clinic.api_helpers import Api
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.clinic.records.errors import Conflict, InvalidRecord
from cryoderm.clinic.records.models import SkinReading, TreatmentSession
from cryoderm.clinic.records.services import readings
from cryoderm.clinic.records.services import sessions as session_service


def reading(**change: Any) -> dict[str, Any]:
    return {"zone": "forehead", "sensor": "ir-1", "elapsed_s": 1.0, "skin_temp_c": 30.0, **change}


def running(alice: Any, **options: Any) -> TreatmentSession:
    return session_service.start(alice, factories.ready_session(alice, **options).pk)


def device_api(session: TreatmentSession, owner: Any) -> Api:
    return Api(token=tokens.issue("sensor", user=owner, device=session.device).plaintext)


def device(session: TreatmentSession) -> str:
    return f"device:{session.device.serial_number}"


@pytest.mark.django_db
class TestApi:
    def post(self, session: TreatmentSession, alice: Any, *rows: dict[str, Any]) -> Any:
        return device_api(session, alice).post(
            f"/sessions/{session.pk}/readings", {"readings": list(rows)}
        )

    def test_a_session_that_ended_months_ago_takes_no_readings(self, alice) -> None:
        session = running(alice)
        months_ago = timezone.now() - dt.timedelta(days=90)
        TreatmentSession.objects.filter(pk=session.pk).update(
            started_at=months_ago, ended_at=months_ago + dt.timedelta(minutes=5), status="completed"
        )
        response = self.post(session, alice, reading())
        assert response.status_code == 409
        assert response.json()["field"] == "status"
        assert not SkinReading.objects.exists()

    def test_a_session_left_open_for_months_takes_no_readings_now(self, alice) -> None:
        session = running(alice)
        months_ago = timezone.now() - dt.timedelta(days=90)
        TreatmentSession.objects.filter(pk=session.pk).update(started_at=months_ago)
        response = self.post(session, alice, reading(recorded_at=timezone.now().isoformat()))
        assert response.status_code == 422
        assert response.json()["field"] == "readings[0].recorded_at"

    def test_a_zone_the_session_does_not_treat_is_refused(self, alice) -> None:
        session = running(alice)
        response = self.post(session, alice, reading(), reading(zone="chin"))
        assert response.status_code == 422
        assert response.json()["field"] == "readings[1].zone"
        assert "not a zone of session" in response.json()["detail"]
        assert not SkinReading.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"recorded_at": "9999-12-31T23:59:59+00:00"}, "readings[0].recorded_at"),
            ({"recorded_at": "2020-01-01T00:00:00+00:00"}, "readings[0].recorded_at"),
            ({"elapsed_s": 80_000.0}, "readings[0].elapsed_s"),
        ],
    )
    def test_implausible_times_are_refused(self, alice, change, field) -> None:
        session = running(alice)
        response = self.post(session, alice, reading(**change))
        assert response.status_code == 422, response.json()
        assert response.json()["field"] == field
        assert not SkinReading.objects.exists()

    def test_a_late_upload_shortly_after_the_end_is_accepted(self, alice) -> None:
        session = running(alice)
        session_service.finish(alice, session.pk, exposure_s=30.0)
        response = self.post(session, alice, reading())
        assert response.status_code == 200
        assert response.json() == {"accepted": 1, "duplicates": 0}

    def test_another_devices_token_is_refused(self, alice) -> None:
        session = running(alice)
        other = factories.make_device(serial_number="CA-0002")
        api = Api(token=tokens.issue("other", user=alice, device=other).plaintext)
        response = api.post(f"/sessions/{session.pk}/readings", {"readings": [reading()]})
        assert response.status_code == 403

    @pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
    def test_people_cannot_ingest(self, persona, request, alice) -> None:
        session = running(alice)
        user = request.getfixturevalue(persona)
        response = Api(user).post(f"/sessions/{session.pk}/readings", {"readings": [reading()]})
        assert response.status_code == 403


@pytest.mark.django_db
class TestService:
    def test_the_interlock_of_another_device_is_refused(self, alice) -> None:
        session = running(alice)
        with pytest.raises(PermissionRefused):
            readings.ingest("interlock:SOMEONE-ELSE", session.pk, [reading()])

    def test_the_interlock_of_the_sessions_device_is_accepted(self, alice) -> None:
        session = running(alice)
        stored = readings.ingest(
            f"interlock:{session.device.serial_number}", session.pk, [reading()]
        )
        assert stored.accepted == 1

    def test_a_person_cannot_ingest_even_through_the_service(self, alice) -> None:
        session = running(alice)
        with pytest.raises(PermissionRefused):
            readings.ingest(alice, session.pk, [reading()])

    def test_the_window_follows_the_servers_clock(self, alice) -> None:
        session = running(alice)
        later = session.started_at + dt.timedelta(minutes=10)
        assert readings.ingest(device(session), session.pk, [reading(elapsed_s=500.0)], now=later)
        with pytest.raises(InvalidRecord, match="outside the session so far"):
            readings.ingest(device(session), session.pk, [reading(elapsed_s=900.0)], now=later)

    def test_past_the_late_upload_window_the_record_is_closed(self, alice) -> None:
        session = running(alice)
        ended = session_service.finish(alice, session.pk, exposure_s=30.0)
        too_late = ended.ended_at + readings.LATE_UPLOAD + dt.timedelta(seconds=1)
        with pytest.raises(Conflict, match="accepted up to"):
            readings.ingest(device(session), session.pk, [reading()], now=too_late)


@pytest.mark.django_db
def test_the_database_holds_one_reading_per_session_zone_sensor_and_time(alice) -> None:
    session = running(alice)
    readings.ingest(device(session), session.pk, [reading()])
    stored = SkinReading.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SkinReading.objects.create(
            session=session,
            zone=stored.zone,
            sensor=stored.sensor,
            recorded_at=stored.recorded_at,
            elapsed_s=stored.elapsed_s,
            skin_temp_c=12.0,
        )


@pytest.mark.django_db(transaction=True)
def test_two_devices_sending_the_same_batch_at_once_store_it_once(alice) -> None:
    session = running(alice)
    batch = [reading(elapsed_s=float(i), skin_temp_c=30.0 - i) for i in range(50)]
    results: list[Any] = []

    def send() -> None:
        try:
            results.append(readings.ingest(device(session), session.pk, batch))
        except Exception as error:  # the test reports what each thread got
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    accepted = sorted(r.accepted for r in results if isinstance(r, readings.IngestResult))
    assert SkinReading.objects.filter(session=session).count() == 50
    # Both answered: one stored the batch, the other found it (or, on SQLite where a writer
    # may time out waiting, was told to send it again; nothing was half-stored either way).
    assert accepted in ([0, 50], [50])
