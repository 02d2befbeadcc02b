"""/api/sessions: plan, gates, start through the gates, stop; reading ingest by device token
(batched, idempotent, ranges and NaN refused with the field); audited reads."""

from __future__ import annotations

from typing import Any

import pytest

from clinic import factories
from clinic.api_helpers import Api, actions_audited, director
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.models import SkinReading, TreatmentSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(alice) -> TreatmentSession:
    return factories.ready_session(alice)


def device_api(session: TreatmentSession, alice: Any) -> Api:
    return Api(token=tokens.issue("sensor", user=alice, device=session.device).plaintext)


def started(alice: Any, session: TreatmentSession) -> TreatmentSession:
    assert Api(alice).post(f"/sessions/{session.pk}/start").status_code == 200
    session.refresh_from_db()
    return session


def batch(*temps: float, sensor: str = "ir-1", start_s: float = 0.0) -> dict[str, Any]:
    return {
        "readings": [
            {"zone": "forehead", "sensor": sensor, "elapsed_s": start_s + i * 0.1, "skin_temp_c": t}
            for i, t in enumerate(temps)
        ]
    }


class TestLifecycle:
    def test_a_practitioner_plans_a_session_for_herself_by_default(self, alice) -> None:
        client = factories.make_client(alice)
        device = factories.make_device()
        response = Api(alice).post(
            "/sessions", {"client_id": client.pk, "device_id": device.pk, "zones": ["cheek"]}
        )
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "planned"
        assert body["practitioner_id"] == alice.practitioner.pk

    def test_someone_without_a_practitioner_record_must_name_one(self, alice) -> None:
        client = factories.make_client(alice)
        device = factories.make_device()
        dora = director()
        dora.practitioner.delete()
        response = Api(dora).post(
            "/sessions", {"client_id": client.pk, "device_id": device.pk, "zones": ["cheek"]}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "practitioner_id"

    def test_every_gate_is_listed_and_the_session_starts_when_all_are_open(
        self, alice, session
    ) -> None:
        gates = Api(alice).get(f"/sessions/{session.pk}/gates").json()
        assert [g["name"] for g in gates if not g["is_open"]] == []
        response = Api(alice).post(f"/sessions/{session.pk}/start")
        assert response.status_code == 200
        assert response.json()["status"] == "in-progress"
        assert "session.start" in actions_audited()

    def test_a_closed_gate_refuses_the_start_with_409_naming_the_gate(self, alice) -> None:
        session = factories.ready_session(alice, calibrated_days_ago=None)
        response = Api(alice).post(f"/sessions/{session.pk}/start")
        assert response.status_code == 409
        body = response.json()
        assert body["field"] == "device-calibrated"
        assert "To clear:" in body["detail"]
        session.refresh_from_db()
        assert session.status == "planned"

    def test_stop_completes_or_aborts_with_a_reason(self, alice, session) -> None:
        started(alice, session)
        missing = Api(alice).post(
            f"/sessions/{session.pk}/stop", {"exposure_s": 60, "aborted": True}
        )
        assert missing.status_code == 422
        assert missing.json()["field"] == "reason"
        done = Api(alice).post(f"/sessions/{session.pk}/stop", {"exposure_s": 95.5})
        assert done.status_code == 200
        assert done.json()["status"] == "completed"
        assert done.json()["exposure_s"] == 95.5
        again = Api(alice).post(f"/sessions/{session.pk}/stop", {"exposure_s": 1})
        assert again.status_code == 409

    @pytest.mark.parametrize("exposure", [-1, "NaN", 1e9])
    def test_stop_refuses_impossible_exposures(self, alice, session, exposure) -> None:
        started(alice, session)
        response = Api(alice).client.post(
            f"/api/sessions/{session.pk}/stop",
            f'{{"exposure_s": {exposure}}}',
            content_type="application/json",
        )
        assert response.status_code == 422
        assert response.json()["field"] == "exposure_s"

    def test_reading_a_session_is_audited(self, alice, session) -> None:
        response = Api(alice).get(f"/sessions/{session.pk}")
        assert response.status_code == 200
        assert response.json()["zones"] == ["forehead", "cheek"]
        assert actions_audited()[-1] == "session.read"

    def test_front_desk_may_not_start_or_read_a_session(self, bob, session) -> None:
        assert Api(bob).post(f"/sessions/{session.pk}/start").status_code == 403
        assert Api(bob).get(f"/sessions/{session.pk}").status_code == 403
        assert (
            Api(bob)
            .post("/sessions", {"client_id": 1, "device_id": 1, "zones": ["cheek"]})
            .status_code
            == 403
        )

    def test_an_unknown_session_is_404(self, alice) -> None:
        assert Api(alice).post("/sessions/777/start").status_code == 404
        assert Api(alice).get("/sessions/777/gates").status_code == 404


class TestReadingIngest:
    def test_a_device_uploads_a_batch_and_a_practitioner_reads_it(self, alice, session) -> None:
        started(alice, session)
        response = device_api(session, alice).post(
            f"/sessions/{session.pk}/readings", batch(33.0, 20.5, 12.25)
        )
        assert response.status_code == 200
        assert response.json() == {"accepted": 3, "duplicates": 0}
        read = Api(alice).get(f"/sessions/{session.pk}/readings", zone="forehead")
        assert [r["skin_temp_c"] for r in read.json()] == [33.0, 20.5, 12.25]
        assert actions_audited()[-2:] == ["reading.ingest", "reading.read"]

    def test_the_ingest_is_audited_under_the_device(self, alice, session) -> None:
        started(alice, session)
        device_api(session, alice).post(f"/sessions/{session.pk}/readings", batch(30.0))
        entry = AuditEntry.objects.order_by("-seq").first()
        assert (entry.actor, entry.action) == ("device:CA-0001", "reading.ingest")

    def test_resending_a_batch_stores_nothing_twice(self, alice, session) -> None:
        started(alice, session)
        api = device_api(session, alice)
        api.post(f"/sessions/{session.pk}/readings", batch(33.0, 20.5))
        again = api.post(f"/sessions/{session.pk}/readings", batch(33.0, 20.5, 15.0))
        assert again.json() == {"accepted": 1, "duplicates": 2}
        assert SkinReading.objects.count() == 3

    def test_a_resent_reading_with_another_value_is_refused(self, alice, session) -> None:
        started(alice, session)
        api = device_api(session, alice)
        api.post(f"/sessions/{session.pk}/readings", batch(33.0, 20.5))
        response = api.post(f"/sessions/{session.pk}/readings", batch(33.0, 19.0))
        assert response.status_code == 409
        assert response.json()["field"] == "readings[1].skin_temp_c"
        assert SkinReading.objects.count() == 2

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            (
                '{"zone": "forehead", "sensor": "ir", "elapsed_s": 1, "skin_temp_c": NaN}',
                "readings[1].skin_temp_c",
            ),
            (
                '{"zone": "forehead", "sensor": "ir", "elapsed_s": 1, "skin_temp_c": Infinity}',
                "readings[1].skin_temp_c",
            ),
            (
                '{"zone": "forehead", "sensor": "ir", "elapsed_s": 1, "skin_temp_c": -45}',
                "readings[1].skin_temp_c",
            ),
            (
                '{"zone": "forehead", "sensor": "ir", "elapsed_s": 1, "skin_temp_c": 60}',
                "readings[1].skin_temp_c",
            ),
            (
                '{"zone": "forehead", "sensor": "ir", "elapsed_s": -1, "skin_temp_c": 20}',
                "readings[1].elapsed_s",
            ),
            (
                '{"zone": "forehead", "sensor": "", "elapsed_s": 1, "skin_temp_c": 20}',
                "readings[1].sensor",
            ),
            (
                '{"zone": "elbow", "sensor": "ir", "elapsed_s": 1, "skin_temp_c": 20}',
                "readings[1].zone",
            ),
            ('{"zone": "forehead", "sensor": "ir", "elapsed_s": 1}', "readings[1].skin_temp_c"),
        ],
    )
    def test_a_bad_reading_refuses_the_whole_batch_naming_it(
        self, alice, session, raw, field
    ) -> None:
        started(alice, session)
        good = '{"zone": "forehead", "sensor": "ir", "elapsed_s": 0, "skin_temp_c": 30}'
        response = device_api(session, alice).client.post(
            f"/api/sessions/{session.pk}/readings",
            f'{{"readings": [{good}, {raw}]}}',
            content_type="application/json",
            headers=device_api(session, alice).headers,
        )
        assert response.status_code == 422, response.json()
        assert response.json()["field"] == field
        assert not SkinReading.objects.exists()

    def test_readings_before_the_start_are_refused(self, alice, session) -> None:
        response = device_api(session, alice).post(f"/sessions/{session.pk}/readings", batch(30.0))
        assert response.status_code == 409
        assert response.json()["field"] == "status"

    def test_an_empty_batch_is_refused(self, alice, session) -> None:
        started(alice, session)
        response = device_api(session, alice).post(
            f"/sessions/{session.pk}/readings", {"readings": []}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "readings"

    def test_a_device_token_may_not_upload_to_another_devices_session(self, alice, session) -> None:
        started(alice, session)
        other = factories.make_device(serial_number="CA-0002")
        api = Api(token=tokens.issue("other", user=alice, device=other).plaintext)
        response = api.post(f"/sessions/{session.pk}/readings", batch(30.0))
        assert response.status_code == 403
        assert not SkinReading.objects.exists()

    def test_people_do_not_upload_readings_devices_do(self, alice, session) -> None:
        started(alice, session)
        response = Api(alice).post(f"/sessions/{session.pk}/readings", batch(30.0))
        assert response.status_code == 403

    def test_front_desk_may_not_read_readings(self, alice, bob, session) -> None:
        assert Api(bob).get(f"/sessions/{session.pk}/readings").status_code == 403
