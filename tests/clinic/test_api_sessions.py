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

    def test_a_batch_with_one_changed_reading_stores_none_of_it(self, alice, session) -> None:
        """The new readings of a refused batch are not kept (the check of the stored values
        may come after the insert; the whole batch is rolled back)."""
        started(alice, session)
        api = device_api(session, alice)
        api.post(f"/sessions/{session.pk}/readings", batch(33.0, 20.5))
        entries = AuditEntry.objects.count()
        response = api.post(f"/sessions/{session.pk}/readings", batch(33.0, 19.0, 15.0, 14.0))
        assert response.status_code == 409
        assert response.json() == {
            "detail": "readings[1]: ir-1 on forehead at 0.1 s is already stored as 20.5 °C, "
            "not 19 °C; a reading is never overwritten",
            "field": "readings[1].skin_temp_c",
        }
        assert SkinReading.objects.count() == 2
        assert AuditEntry.objects.count() == entries

    def test_a_batch_naming_one_reading_twice(self, alice, session) -> None:
        """Within a batch, a reading sent twice with its value is a duplicate, with another
        value a conflict with the first; the first conflict in batch order is reported,
        whether with a stored reading or with an earlier one of the batch."""
        started(alice, session)
        api = device_api(session, alice)
        url = f"/sessions/{session.pk}/readings"
        twice = batch(30.0, 29.0)["readings"] + batch(30.0)["readings"]
        assert api.post(url, {"readings": twice}).json() == {"accepted": 2, "duplicates": 1}
        changed = batch(31.0, sensor="ir-2")["readings"] + batch(32.0, sensor="ir-2")["readings"]
        response = api.post(url, {"readings": changed})
        assert response.status_code == 409
        assert response.json()["field"] == "readings[1].skin_temp_c"
        assert "already stored as 31 °C, not 32 °C" in response.json()["detail"]
        ir3 = batch(31.0, sensor="ir-3", start_s=5.0)["readings"][0]
        ir1 = batch(33.0, 28.0)["readings"][1]  # ir-1 at 0.1 s is stored as 29 °C
        for rows, message in [
            ([ir3, ir1, {**ir3, "skin_temp_c": 32.0}], "stored as 29 °C, not 28 °C"),
            ([ir3, {**ir3, "skin_temp_c": 32.0}, ir1], "stored as 31 °C, not 32 °C"),
        ]:
            response = api.post(url, {"readings": rows})
            assert response.status_code == 409
            assert response.json()["field"] == "readings[1].skin_temp_c"
            assert message in response.json()["detail"]
        assert SkinReading.objects.count() == 2

    def test_a_batch_longer_than_one_insert_is_stored_whole_and_resent_whole(
        self, alice, session
    ) -> None:
        """SQLite takes at most 166 readings per INSERT: 400 are three, all or none."""
        started(alice, session)
        api = device_api(session, alice)
        url = f"/sessions/{session.pk}/readings"
        rows = batch(*[30.0] * 200)["readings"] + batch(*[30.0] * 200, sensor="ir-2")["readings"]
        assert api.post(url, {"readings": rows[:250]}).json() == {"accepted": 250, "duplicates": 0}
        assert api.post(url, {"readings": rows}).json() == {"accepted": 150, "duplicates": 250}
        changed = [*rows, {**rows[-1], "skin_temp_c": 29.0}]
        changed += batch(30.0, sensor="ir-3")["readings"]
        assert api.post(url, {"readings": changed}).status_code == 409
        assert SkinReading.objects.count() == 400

    def test_another_devices_token_is_refused_in_its_own_words(self, alice, session) -> None:
        started(alice, session)
        other = factories.make_device(serial_number="CA-0002")
        api = Api(token=tokens.issue("other", user=alice, device=other).plaintext)
        response = api.post(f"/sessions/{session.pk}/readings", batch(30.0))
        assert response.json() == {
            "detail": "device token 'other' may not reading.ingest (roles held: device); "
            "ask the clinic's administrator for a role that allows it",
            "field": None,
        }

    def test_a_session_that_does_not_exist_is_not_found_for_anyone(self, alice, session) -> None:
        for api in (device_api(session, alice), Api(alice)):
            response = api.post("/sessions/9999/readings", batch(30.0))
            assert response.status_code == 404, response.json()
            assert response.json()["detail"] == "no treatment session with id 9999"

    def test_front_desk_may_not_read_readings(self, alice, bob, session) -> None:
        assert Api(bob).get(f"/sessions/{session.pk}/readings").status_code == 403
