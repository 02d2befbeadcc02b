"""Per-zone live control through the one service, against a real interlock process.

- STOP stops the cold on that zone now; the practitioner may resume that zone (with a
  reason, the exposure carried) or end it and go on (with a reason); the session ends when
  every zone is closed, or when the practitioner ends it, with a reason;
- a planned session that cannot start can be cancelled, with a reason;
- the pages and the event stream write nothing (the forwarder alone copies the journal);
- every path is refused to the front desk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic.api_helpers import Api
from clinic.live_helpers import forward, interlock_process, until
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.live import channel, stream
from cryoderm.clinic.live.forward import LiveId
from cryoderm.clinic.records.models import (
    Alarm,
    SessionEvent,
    SessionZone,
    SkinReading,
    TreatmentSession,
)
from cryoderm.interlock.journal import entries_of
from web import world

from .test_web_sessions import ready_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def interlock(settings: Any, tmp_path: Path) -> Any:
    settings.CRYODERM_INTERLOCK_DIR = tmp_path / "interlock"
    with interlock_process(settings.CRYODERM_INTERLOCK_DIR) as process:
        yield process


def planned(alice: Any, zones: tuple[str, ...] = ("cheek",)) -> TreatmentSession:
    client = ready_client(alice)
    device = world.device()
    browser = Browser()
    browser.force_login(alice)
    browser.post(
        reverse("web:plan_new", args=[client.pk]),
        {
            "goals": ["skin-tone"],
            "zones": list(zones),
            "modality": "ln2-vapour",
            "device": device.pk,
        },
    )
    return TreatmentSession.objects.get(client=client)


def started(alice: Any, zones: tuple[str, ...] = ("cheek",)) -> TreatmentSession:
    session = planned(alice, zones)
    assert Api(alice).post(f"/sessions/{session.pk}/start").status_code == 200
    session.refresh_from_db()
    return session


def journal_has(session: TreatmentSession, zone: str, kind: str, count: int = 1) -> list[Any]:
    live_id = str(LiveId(session.pk, zone))
    return until(
        lambda: len(found := entries_of(channel.journal(), live_id, (kind,))) >= count and found,
        120,
    )


def zone_run(session: TreatmentSession, zone: str) -> SessionZone:
    forward()
    return SessionZone.objects.get(session=session, zone=zone)


def test_stop_one_zone_resume_it_with_a_reason_then_end_it_and_the_session_settles(
    alice: Any, interlock: Any
) -> None:
    session = started(alice)
    api = Api(alice)
    base = f"/sessions/{session.pk}/zones/cheek"
    answer = api.post(f"{base}/start")
    assert answer.status_code == 200, answer.content
    journal_has(session, "cheek", "session-started")
    journal_has(session, "cheek", "reading", 10)

    stopped = api.post(f"{base}/stop", {"reason": "client flinched"})
    assert stopped.status_code == 200 and stopped.json()["status"] == "applied"
    stop = journal_has(session, "cheek", "stop")[-1]
    assert stop.payload["reason"] == "operator" and stop.payload["by_user"] == "alice"
    run = zone_run(session, "cheek")
    assert run.status == SessionZone.Status.STOPPED and run.stop_reason == "operator"
    session.refresh_from_db()
    assert session.status == TreatmentSession.Status.IN_PROGRESS  # a stop is not the end

    assert api.post(f"{base}/resume-after-stop", {"reason": ""}).status_code == 422
    resumed = api.post(f"{base}/resume-after-stop", {"reason": "client ready again"})
    assert resumed.status_code == 200, resumed.content
    entry = journal_has(session, "cheek", "resume-after-stop")[-1]
    assert entry.payload["reason"] == "client ready again"
    assert entry.payload["exposure_s"] >= stop.payload["exposure_s"] > 0  # exposure carried
    assert zone_run(session, "cheek").status == SessionZone.Status.RUNNING

    assert api.post(f"{base}/stop").status_code == 200
    journal_has(session, "cheek", "stop", 2)
    assert zone_run(session, "cheek").status == SessionZone.Status.STOPPED
    ended = api.post(f"{base}/end", {"reason": "enough for today"})
    assert ended.status_code == 200, ended.content
    journal_has(session, "cheek", "session-ended")
    run = zone_run(session, "cheek")
    assert run.status == SessionZone.Status.ENDED and "enough for today" in run.reason
    session.refresh_from_db()
    assert session.status == TreatmentSession.Status.ABORTED
    assert session.end_reason.startswith("Cheek (zygoma, malar): stopped by the practitioner")
    assert "enough for today" in session.end_reason
    actions = set(
        AuditEntry.objects.filter(actor=f"user:{alice.pk}:alice").values_list("action", flat=True)
    )
    assert {"session.zone_start", "session.zone_stop", "session.zone_resume_after_stop"} <= actions
    stops = SessionEvent.objects.filter(session=session, kind=SessionEvent.Kind.STOPPED)
    assert any(e.actor == alice and e.data.get("journal_seq") == stop.seq for e in stops)
    assert next(
        e for e in stops if e.data.get("journal_seq") == stop.seq
    ).occurred_at.timestamp() == pytest.approx(stop.wall_time_s, abs=1e-3)


def test_a_page_view_or_a_stream_writes_nothing(
    alice: Any, interlock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = started(alice)
    Api(alice).post(f"/sessions/{session.pk}/zones/cheek/start")
    journal_has(session, "cheek", "reading", 5)
    Api(alice).post(f"/sessions/{session.pk}/zones/cheek/stop")
    journal_has(session, "cheek", "stop")
    # The journal now holds readings and a stop the records do not have yet.
    monkeypatch.setattr(stream, "STREAM_S", 1.0)

    def counts() -> tuple[Any, ...]:
        session.refresh_from_db()
        return (
            SkinReading.objects.count(),
            Alarm.objects.count(),
            SessionEvent.objects.count(),
            SessionZone.objects.count(),
            AuditEntry.objects.count(),
            session.status,
            session.ended_at,
        )

    before = counts()
    browser = Browser()
    browser.force_login(alice)
    for name in ("web:session_live", "web:session", "web:dashboard"):
        args = [] if name == "web:dashboard" else [session.pk]
        assert browser.get(reverse(name, args=args)).status_code == 200
    events = browser.get(reverse("web:session_stream", args=[session.pk]))
    body = b"".join(events.streaming_content).decode()
    assert "event: stop" in body and "event: status" in body and "event: bye" in body
    assert counts() == before


def test_a_planned_session_is_cancelled_with_a_reason_and_only_then(alice: Any, bob: Any) -> None:
    session = planned(alice)
    api = Api(alice)
    assert api.post(f"/sessions/{session.pk}/cancel", {"reason": ""}).status_code == 422
    assert Api(bob).post(f"/sessions/{session.pk}/cancel", {"reason": "x"}).status_code == 403
    answer = api.post(f"/sessions/{session.pk}/cancel", {"reason": "client unwell today"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "cancelled"
    session.refresh_from_db()
    assert session.end_reason == "client unwell today"
    assert AuditEntry.objects.filter(
        action="session.cancel", actor=f"user:{alice.pk}:alice"
    ).exists()
    again = api.post(f"/sessions/{session.pk}/cancel", {"reason": "twice"})
    assert again.status_code == 409


def test_the_front_desk_may_not_control_a_session(alice: Any, bob: Any) -> None:
    session = started(alice)
    api = Api(bob)
    base = f"/sessions/{session.pk}/zones/cheek"
    for path, body in [
        (f"{base}/start", {}),
        (f"{base}/stop", {}),
        (f"{base}/end", {"reason": "x"}),
        (f"{base}/resume-after-stop", {"reason": "x"}),
        (f"/sessions/{session.pk}/end", {"reason": "x"}),
    ]:
        assert api.post(path, body).status_code == 403, path
    assert api.get(f"/sessions/{session.pk}/zones").status_code == 403


def test_ending_the_session_names_the_zones_not_treated(alice: Any, interlock: Any) -> None:
    session = started(alice, ("cheek", "forehead"))
    response = Browser()
    response.force_login(alice)
    answer = response.post(
        reverse("web:session_end", args=[session.pk]), {"reason": "client had to leave"}
    )
    assert answer["Location"] == reverse("web:session", args=[session.pk])
    session.refresh_from_db()
    assert session.status == TreatmentSession.Status.ABORTED
    assert session.end_reason == (
        "ended by alice: client had to leave; not completed: Cheek (zygoma, malar), Forehead"
    )
    assert set(SessionZone.objects.filter(session=session).values_list("status", flat=True)) == {
        SessionZone.Status.ENDED
    }
