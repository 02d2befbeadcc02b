"""A hostile insider, through every adapter and as every role: one person acting as two,
records changed after the fact, sessions started again, hostile text in names and sensors,
broken requests, CSRF and session fixation, and the audit log tampered with.

Personas: alice (practitioner), bob (front desk), dora (medical director, qualified),
charlie (no role); a device token; anonymous callers."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from clinic import factories, personas
from clinic.api_helpers import Api, director
from clinic.test_audit import checkpoint_file as checkpoint_file
from clinic.test_audit import tamper, three_entries
from cryoderm.clinic import audit
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records.errors import Conflict, InvalidRecord
from cryoderm.clinic.records.models import Practitioner, ReferralSignOff, TreatmentSession
from cryoderm.clinic.records.services import clients as client_service
from cryoderm.clinic.records.services import live_control, readings
from cryoderm.clinic.records.services import sessions as session_service

pytestmark = pytest.mark.django_db

REFER = {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]}
HOSTILE = '<script>alert(1)</script>=HYPERLINK("http://x")'


@pytest.fixture
def dora(db: None) -> Any:
    return director()


@pytest.fixture
def referred(alice: Any) -> Any:
    return factories.screen(alice, factories.make_client(alice), REFER)


def sign_off_body(**second: str) -> dict[str, str]:
    return {"rule_id": "anticoagulants", "reason": "INR stable, GP letter on file", **second}


def user_token(user: Any) -> str:
    return tokens.issue("script", user).plaintext


# -- one person as two -------------------------------------------------------------------


def test_a_colleagues_api_token_cannot_sign_off_even_with_a_real_second_password(
    alice, dora, referred
) -> None:
    """Alice holds Dora's token: she would sign as Dora and confirm as herself."""
    stolen = Api(token=user_token(dora))
    response = stolen.post(
        f"/screenings/{referred.pk}/signoffs",
        sign_off_body(second_clinician="alice", second_password=personas.PASSWORD),
    )
    assert response.status_code == 403, response.json()
    assert "API token" in response.json()["detail"]
    assert not ReferralSignOff.objects.exists()


def test_an_api_token_cannot_start_a_session_or_the_cold(alice) -> None:
    ready = factories.ready_session(alice)
    own = Api(token=user_token(alice))
    assert own.post(f"/sessions/{ready.pk}/start").status_code == 403
    assert TreatmentSession.objects.get(pk=ready.pk).status == "planned"
    session_service.start(alice, ready.pk)
    started = own.post(f"/sessions/{ready.pk}/zones/forehead/start", {"fault": "none"})
    assert started.status_code == 403
    assert "API token" in started.json()["detail"]


def test_an_api_token_cannot_record_a_consent_with_fabricated_strokes(alice) -> None:
    client = factories.make_client(alice)
    factories.publish_texts()
    body = {"scope": "treatment", "signer_name": client.full_name, "signature": factories.SIGNATURE}
    response = Api(token=user_token(alice)).post(f"/clients/{client.pk}/consents", body)
    assert response.status_code == 403, response.json()
    assert not client.consents.exists()


def test_an_api_token_may_still_read_and_stop(alice) -> None:
    ready = factories.ready_session(alice)
    own = Api(token=user_token(alice))
    assert own.get(f"/sessions/{ready.pk}").status_code == 200
    session_service.start(alice, ready.pk)
    stopped = own.post(f"/sessions/{ready.pk}/stop", {"exposure_s": 10})
    assert stopped.status_code == 200, stopped.json()


def test_a_second_account_of_the_signer_is_refused_by_e_mail(alice, referred) -> None:
    twin = personas.make_user("alice2", "Alice", "Arden")
    twin.email = "ALICE@example.org"
    twin.save()
    grant_role(twin, PRACTITIONER)
    personas.make_practitioner(twin)
    with pytest.raises(InvalidRecord) as refused:
        factories.sign_off(alice, referred, "anticoagulants", twin)
    assert refused.value.field == "second_clinician"
    assert "e-mail" in str(refused.value)


def test_a_second_account_of_the_signer_is_refused_by_registration_number(alice, referred) -> None:
    twin = personas.make_user("aa", "A.", "Arden")
    grant_role(twin, PRACTITIONER)
    personas.make_practitioner(twin)
    Practitioner.objects.filter(user__in=(alice, twin)).update(registration_number="GMC 123")
    response = Api(alice).post(
        f"/screenings/{referred.pk}/signoffs",
        sign_off_body(second_clinician="aa", second_password=personas.PASSWORD),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "second_clinician"
    assert "registration number" in response.json()["detail"]


def test_a_one_time_code_cannot_be_replayed_for_another_sign_off(alice, dora) -> None:
    two_refers = {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants", "bleeding-disorder"]}
    screened = factories.screen(alice, factories.make_client(alice), two_refers)
    rules = screened.rule_ids("refer")
    assert len(rules) >= 2
    code = personas.one_time_code(dora)
    for index, rule in enumerate(rules[:2]):
        body = {
            "rule_id": rule,
            "reason": "GP letter",
            "second_clinician": "dora",
            "second_one_time_code": code,
        }
        response = Api(alice).post(f"/screenings/{screened.pk}/signoffs", body)
        assert response.status_code == (201 if index == 0 else 422), response.json()
    assert ReferralSignOff.objects.count() == 1


def test_a_sign_off_replayed_is_a_conflict_not_a_second_record(alice, dora, referred) -> None:
    body = sign_off_body(second_clinician="dora", second_password=personas.PASSWORD)
    assert Api(alice).post(f"/screenings/{referred.pk}/signoffs", body).status_code == 201
    again = Api(alice).post(f"/screenings/{referred.pk}/signoffs", body)
    assert again.status_code == 409
    assert ReferralSignOff.objects.count() == 1


# -- records changed after the fact ----------------------------------------------------------


def test_a_date_of_birth_corrected_after_a_clear_screening_closes_the_gate(alice) -> None:
    """Screened (clear) as a 42-year-old, then 'corrected' to a 15-year-old: the screening
    was not for this client as the record now stands."""
    ready = factories.ready_session(alice)
    today = timezone.localdate()
    client_service.update(
        alice,
        ready.client_id,
        reason="typo in the year",
        date_of_birth=today.replace(year=today.year - 15) - dt.timedelta(days=10),
    )
    response = Api(alice).post(f"/sessions/{ready.pk}/start")
    assert response.status_code == 409, response.json()
    assert response.json()["field"] == "screening-current"
    assert "corrected after the screening" in response.json()["detail"]
    assert TreatmentSession.objects.get(pk=ready.pk).status == "planned"


def test_a_session_has_no_edit_endpoint_and_its_plan_no_writer(alice) -> None:
    ready = factories.ready_session(alice)
    api = Api(alice)
    for method in (
        api.patch,
        lambda path, body: api.client.put(f"/api{path}", body, content_type="application/json"),
    ):
        response = method(f"/sessions/{ready.pk}", {"plan": {"modality": "contact"}})
        assert response.status_code == 405
    ready.refresh_from_db()
    assert ready.plan["modality"] == "cold-air"


def test_a_finished_session_cannot_be_stopped_again_or_replanned(alice) -> None:
    ready = factories.ready_session(alice)
    session_service.start(alice, ready.pk)
    session_service.finish(alice, ready.pk, exposure_s=60)
    api = Api(alice)
    assert api.post(f"/sessions/{ready.pk}/stop", {"exposure_s": 999}).status_code == 409
    replan = api.post(
        "/plans",
        {
            "session_id": ready.pk,
            "goals": ["skin-tone"],
            "zones": ["forehead", "cheek"],
            "modality": "cold-air",
        },
    )
    assert replan.status_code == 409
    ready.refresh_from_db()
    assert ready.exposure_s == 60


@pytest.mark.parametrize("ending", ["cancelled", "completed", "aborted"])
def test_an_ended_session_never_starts_again_through_any_path(alice, ending) -> None:
    ready = factories.ready_session(alice)
    if ending == "cancelled":
        live_control.cancel(alice, ready.pk, "client did not come")
    else:
        session_service.start(alice, ready.pk)
        session_service.finish(
            alice, ready.pk, exposure_s=30, aborted=ending == "aborted", reason="felt faint"
        )
    response = Api(alice).post(f"/sessions/{ready.pk}/start")
    assert response.status_code == 409
    assert response.json()["field"] == "status"
    browser = Browser()
    browser.force_login(alice)
    browser.post(reverse("web:session_start", args=[ready.pk]))
    with pytest.raises(Conflict):
        session_service.start(alice, ready.pk)
    assert TreatmentSession.objects.get(pk=ready.pk).status == ending


def test_no_alarm_or_event_is_added_to_a_finished_session_afterwards(alice) -> None:
    ready = factories.ready_session(alice)
    session_service.start(alice, ready.pk)
    session_service.raise_alarm(
        alice, ready.pk, code="approaching-floor", severity="warning", message="cold"
    )
    session_service.finish(alice, ready.pk, exposure_s=60)
    with pytest.raises(Conflict):
        session_service.raise_alarm(
            alice, ready.pk, code="floor", severity="stop", message="invented later"
        )
    with pytest.raises(Conflict):
        session_service.add_event(alice, ready.pk, kind="note", message="invented later")
    assert ready.alarms.count() == 1


def test_a_cancelled_session_takes_no_readings(alice) -> None:
    ready = factories.ready_session(alice)
    live_control.cancel(alice, ready.pk, "client did not come")
    with pytest.raises(Conflict) as refused:
        readings.ingest(
            f"device:{ready.device.serial_number}",
            ready.pk,
            [{"zone": "forehead", "sensor": "ir-1", "elapsed_s": 1.0, "skin_temp_c": 30.0}],
        )
    assert refused.value.field == "status"


@pytest.mark.parametrize("sensor", ["=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "<b>x</b>", "-2"])
def test_a_sensor_name_that_a_spreadsheet_or_a_page_would_run_is_refused(alice, sensor) -> None:
    ready = factories.ready_session(alice)
    session_service.start(alice, ready.pk)
    token = tokens.issue("probe", alice, ready.device).plaintext
    reading = {"zone": "forehead", "sensor": sensor, "elapsed_s": 0.0, "skin_temp_c": 30.0}
    response = Api(token=token).post(f"/sessions/{ready.pk}/readings", {"readings": [reading]})
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == "readings[0].sensor"


# -- hostile text where it is shown ------------------------------------------------------------


def test_html_in_a_name_is_shown_as_text_in_pages_and_the_pdf_renders(alice) -> None:
    client = factories.make_client(alice, given_name=HOSTILE, family_name="O'Brien 李 😀")
    ready = factories.ready_session(alice)
    TreatmentSession.objects.filter(pk=ready.pk).update(client=client)
    browser = Browser()
    browser.force_login(alice)
    for url in (
        reverse("web:client", args=[client.pk]),
        reverse("web:clients") + "?q=%3Cscript",
        reverse("web:session", args=[ready.pk]),
        reverse("web:dashboard"),
    ):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert b"<script>alert(1)" not in page.content, url
    pdf = browser.get(reverse("web:session_report", args=[ready.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"


# -- broken requests: a field named, never a 500 ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b"null",
        b'"text"',
        b'{"answers": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"answers": {"conditions": ' + b"[" * 900 + b"]" * 900 + b"}}",
        b'{"answers": {"fitzpatrick": 1e999, "conditions": []}}',
        b"\xff\xfe\x00",
    ],
    ids=["truncated", "array", "null", "string", "deep-5000", "deep-900", "overflow", "binary"],
)
def test_malformed_json_is_a_4xx_never_a_500(alice, body) -> None:
    client = factories.make_client(alice)
    browser = Browser()
    browser.force_login(alice)
    response = browser.post(
        f"/api/clients/{client.pk}/screenings", body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.content[:300]
    assert "detail" in response.json()


def test_a_body_too_large_or_too_many_fields_or_files_is_refused_not_a_500(alice) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = factories.make_client(alice)
    browser = Browser()
    browser.force_login(alice)
    big = b'{"given_name": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    too_big = browser.post("/api/clients", big, content_type="application/json")
    assert too_big.status_code == 413
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    many_fields = browser.post(f"/api/clients/{client.pk}/photos", fields)
    assert many_fields.status_code == 400
    files = {
        f"image{i}": SimpleUploadedFile(f"a{i}.jpg", b"x")
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    }
    many_files = browser.post(f"/api/clients/{client.pk}/photos", files)
    assert many_files.status_code == 400
    for refused in (too_big, many_fields, many_files):
        assert "something went wrong" not in refused.json()["detail"]


def test_a_multipart_type_without_its_boundary_is_a_400_for_a_signed_in_caller(
    alice, referred
) -> None:
    """Found by schemathesis: the CSRF check of a signed-in session reads the form, and a
    multipart body without a boundary made that a 500."""
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32
    response = browser.post(
        f"/api/screenings/{referred.pk}/signoffs",
        b"x",
        content_type="multipart/form-data",
        headers={"X-CSRFToken": "a" * 32},
    )
    assert response.status_code == 400
    assert "cannot be read" in response.json()["detail"]


# -- CSRF and session fixation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("web:session_start", {}),
        ("web:session_cancel", {"reason": "x"}),
        (
            "web:client_new",
            {"given_name": "Eve", "family_name": "E", "date_of_birth": "1990-01-01"},
        ),
        ("web:screening", {"rule_id": "anticoagulants", "reason": "x"}),
    ],
)
def test_web_forms_refuse_a_post_without_the_csrf_token(alice, referred, name, data) -> None:
    ready = factories.ready_session(alice)
    pk = {"web:screening": referred.pk, "web:client_new": None}.get(name, ready.pk)
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(alice)
    url = reverse(name, args=[pk]) if pk is not None else reverse(name)
    assert browser.post(url, data).status_code == 403
    assert TreatmentSession.objects.get(pk=ready.pk).status == "planned"


def test_signing_in_gives_a_new_session_key(alice) -> None:
    """Session fixation: a key planted before the sign-in is not the signed-in one."""
    browser = Browser()
    browser.get("/login/")
    session = browser.session
    session["planted"] = True
    session.save()
    planted = session.session_key
    cookie = settings.SESSION_COOKIE_NAME
    browser.cookies[cookie] = planted
    response = personas.sign_in(browser, "alice")
    assert response.status_code == 302
    assert browser.cookies[cookie].value != planted
    assert browser.get(reverse("web:dashboard")).status_code == 200
    stale = Browser()
    stale.cookies[cookie] = planted
    assert stale.get(reverse("web:dashboard")).status_code == 302


def test_a_token_stops_working_when_its_user_is_deactivated_or_loses_the_role(alice) -> None:
    token = user_token(alice)
    api = Api(token=token)
    assert api.get("/me").status_code == 200
    alice.groups.clear()
    assert api.get("/clients").status_code == 403
    alice.is_active = False
    alice.save()
    assert api.get("/me").status_code == 401


# -- the audit log tampered with ---------------------------------------------------------------


def test_two_entries_swapped_are_detected(alice) -> None:
    first, second, _ = three_entries(alice)
    tamper("UPDATE audit_auditentry SET seq = -1 WHERE seq = %s", [first.seq])
    tamper("UPDATE audit_auditentry SET seq = %s WHERE seq = %s", [first.seq, second.seq])
    tamper("UPDATE audit_auditentry SET seq = %s WHERE seq = -1", [second.seq])
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq in (first.seq, second.seq)


def test_the_whole_log_truncated_with_its_head_is_caught_by_a_checkpoint(alice) -> None:
    three_entries(alice)
    assert audit.checkpoints.write_now()
    tamper("DELETE FROM audit_auditentry", [])
    tamper("DELETE FROM audit_chainhead", [])
    result = audit.verify()
    assert not result.ok
    assert "checkpoint" in result.reason


def test_the_last_entry_deleted_is_detected(alice) -> None:
    newest = three_entries(alice)[-1]
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [newest.seq])
    result = audit.verify()
    assert not result.ok
    assert json.dumps(result.reason)


# -- roles: a privilege gained or lost is in the log --------------------------------------------


def test_granting_and_revoking_a_role_from_the_command_line_is_audited(bob) -> None:
    from django.core.management import call_command

    from cryoderm.clinic.accounts.permissions import roles_of
    from cryoderm.clinic.audit.models import AuditEntry

    call_command("grant_role", "bob", "medical_director", stdout=io.StringIO())
    granted = AuditEntry.objects.filter(action="staff.grant_role").latest("seq")
    assert granted.actor.startswith("cli:")
    assert json.loads(granted.detail)["role"] == "medical_director"
    call_command("revoke_role", "bob", "medical_director", stdout=io.StringIO())
    assert "medical_director" not in roles_of(bob)
    revoked = AuditEntry.objects.filter(action="staff.revoke_role").latest("seq")
    assert json.loads(revoked.detail)["roles"] == ["front_desk"]
    assert audit.verify().ok


def _operations_with_a_json_body() -> list[tuple[str, str]]:
    from cryoderm.clinic.api.app import api

    found = []
    for path, item in api.get_openapi_schema()["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method, path))
    return found


@pytest.mark.parametrize(("method", "path"), _operations_with_a_json_body())
@pytest.mark.parametrize(
    "body", [b"{", b"[1, 2]", b"[" * 3000 + b"]" * 3000], ids=["truncated", "array", "deep"]
)
def test_every_json_endpoint_answers_broken_json_with_a_4xx(alice, method, path, body) -> None:
    browser = Browser()
    browser.force_login(director())
    url = path.replace("{zone}", "forehead")
    for name in (
        "client_id",
        "session_id",
        "screening_id",
        "device_id",
        "consent_id",
        "calibration_id",
        "score_id",
        "measure_id",
        "alarm_id",
    ):
        url = url.replace("{" + name + "}", "1")
    response = getattr(browser, method)(url, body, content_type="application/json")
    assert 400 <= response.status_code < 500, (method, url, response.content[:200])
    assert response.json()["detail"]


def test_a_login_never_redirects_to_another_site(bob) -> None:
    browser = Browser()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = personas.sign_in(browser, "bob", next_url=target)
        assert response.status_code == 302
        assert "evil.example" not in response["Location"], target
        browser.logout()


# -- IDOR: one client's record filed under another's --------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("scores", {"rater": "client", "scale": "gais", "score": 2}),
        ("measures", {"quantity": "tewl", "value": 12.0, "unit": "g/m2/h", "zone": "cheek"}),
    ],
)
def test_an_outcome_filed_under_another_clients_session_is_refused(alice, path, body) -> None:
    theirs = factories.ready_session(alice)
    mine = factories.make_client(alice, given_name="Mina", family_name="Marr")
    response = Api(alice).post(f"/clients/{mine.pk}/{path}", {**body, "session_id": theirs.pk})
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == "session"


def test_the_screening_validity_cannot_be_stretched_past_a_year(dora) -> None:
    from cryoderm.clinic.records.services import policy

    with pytest.raises(InvalidRecord) as refused:
        policy.update(dora, reason="fewer repeats", screening_validity_days=100_000)
    assert refused.value.field == "screening_validity_days"
    assert policy.update(dora, reason="stricter", screening_validity_days=14)


def test_a_password_set_or_an_account_deactivated_outside_the_pages_is_audited(alice) -> None:
    """An operator setting a colleague's password from the shell (to sign in as them)
    leaves an entry, without the password or its hash."""
    from cryoderm.clinic.audit.models import AuditEntry

    alice.set_password("an operator's choice 123")
    alice.save()
    alice.is_active = False
    alice.save()
    entries = list(AuditEntry.objects.filter(action__startswith="account.").order_by("seq"))
    assert [e.action for e in entries] == ["account.password_set", "account.active_changed"]
    assert all(e.target.endswith(f":{alice.pk}") for e in entries)
    assert "argon2" not in entries[0].detail and "operator" not in entries[0].detail
    assert json.loads(entries[1].detail) == {"is_active": False}
    assert audit.verify().ok


# -- every page given junk ------------------------------------------------------------------

JUNK_FORMS = [
    {},
    {
        "reason": "x" * 20_000,
        "confirm": "maybe",
        "session": "abc",
        "zone": "<x>",
        "scope": "../../etc",
        "given_name": "\x00",
        "date_of_birth": "99999-99-99",
        "p-image": "not a file",
        "add_photo": "1",
        "fault": "nonsense",
    },
    {"reason": "stop\x00now", "zone": "forehead\x00", "q": "\x00"},
]


@pytest.mark.slow
def test_every_page_and_live_control_answers_junk_without_a_500(alice, settings, tmp_path) -> None:
    """Each page of the clinic (and each live control of a running session) posted nothing
    and posted junk, and fetched with junk in its query, as the medical director."""
    from cryoderm.clinic.web import urls

    settings.MEDIA_ROOT = tmp_path
    planned = factories.ready_session(alice)
    running = factories.ready_session(alice, serial_number="CA-0009")
    session_service.start(alice, running.pk)
    browser = Browser(raise_request_exception=False)
    browser.force_login(director())
    targets = []
    for pattern in urls.urlpatterns:
        name = getattr(pattern, "name", None)
        if not name or name == "logout":
            continue
        route = str(pattern.pattern)
        args: list[object] = [planned.pk] if "<int:pk>" in route else []
        args += ["treatment"] if "<str:scope>" in route else []
        targets.append(reverse(f"web:{name}", args=args))
    live = ("start-zone/", "resume-zone/", "end-zone/", "end/", "pause/", "bogus/")
    targets += [f"/sessions/{running.pk}/live/{tail}" for tail in live]
    failures = []
    for url in targets:
        for data in JUNK_FORMS:
            if browser.post(url, data).status_code >= 500:
                failures.append(("POST", url, sorted(data)))
        query = "?session=abc&q=%00&actor=%00&action=%00&next=//evil"
        if browser.get(url + query).status_code >= 500:
            failures.append(("GET", url))
    assert failures == []


def test_a_calibration_cannot_be_corrected_to_look_fresher_than_when_it_was_recorded(
    dora,
) -> None:
    """An overdue device: its old calibration 'corrected' to today would reopen it."""
    from cryoderm.clinic.records.models import CalibrationRecord
    from cryoderm.clinic.records.services import devices

    device = factories.make_device(calibrated_days_ago=400)
    old = CalibrationRecord.objects.get(device=device)
    CalibrationRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    response = Api(dora).patch(
        f"/calibrations/{old.pk}",
        {"reason": "date typo", "performed_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == "performed_on"
    earlier = (timezone.localdate() - dt.timedelta(days=401)).isoformat()
    fixed = devices.correct_calibration(dora, old.pk, reason="one day off", performed_on=earlier)
    assert str(fixed.performed_on) == earlier


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("calibration_tolerance_k", 50.0),
        ("calibration_tolerance_k", 0.0),
        ("calibration_interval_days", 100_000),
        ("service_interval_days", 100_000),
    ],
)
def test_a_device_cannot_be_set_so_that_its_checks_never_fail_or_fall_due(
    dora, field, value
) -> None:
    device = factories.make_device()
    response = Api(dora).patch(f"/devices/{device.pk}", {"reason": "fewer checks", field: value})
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == field
