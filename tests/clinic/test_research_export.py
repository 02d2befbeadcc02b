"""A clinic's measured curve recalibrates a zone: a device uploads a session's skin readings,
a practitioner exports them through the readings API, and the research toolkit imports that
export and fits the cold jet's h (cryoderm.research; docs/research.md "Fitting")."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from clinic import factories
from clinic.api_helpers import Api
from cryoderm import load_case, simulate
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.records.models import TreatmentSession
from cryoderm.research.fitting import fit
from cryoderm.research.keys import apply, parse_key
from cryoderm.research.traces import read_clinic_readings

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[2] / "examples" / "gallery" / "cheek-convective.toml"
LEAD_IN_S = 30.0  # the sensor ran for 30 s before the jet started


def test_exported_session_readings_recalibrate_the_jet_h(alice, tmp_path) -> None:
    session = factories.ready_session(alice)
    assert Api(alice).post(f"/sessions/{session.pk}/start").status_code == 200
    # The readings span minutes of treatment: the session started that long before they are
    # uploaded (the readings service refuses times later than the session so far).
    TreatmentSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - dt.timedelta(hours=1)
    )
    case = load_case(CASE)
    truth = simulate(apply(case, [(parse_key("phase[1].heat_transfer_w_m2k"), "set", 80.0)]))
    times = truth.time_s[::3]
    noise = np.random.default_rng(5).normal(0.0, 0.2, len(times))
    readings: list[dict[str, Any]] = [
        {"zone": "cheek", "sensor": "ir-1", "elapsed_s": LEAD_IN_S + t, "skin_temp_c": round(c, 2)}
        for t, c in zip(
            times, np.interp(times, truth.time_s, truth.probes["surface"]) + noise, strict=True
        )
    ]
    readings.append({"zone": "forehead", "sensor": "ir-2", "elapsed_s": 40.0, "skin_temp_c": 30.0})
    device = Api(token=tokens.issue("sensor", user=alice, device=session.device).plaintext)
    assert (
        device.post(f"/sessions/{session.pk}/readings", {"readings": readings}).status_code == 200
    )

    export = Api(alice).get(f"/sessions/{session.pk}/readings")
    assert export.status_code == 200
    path = tmp_path / f"session-{session.pk}.json"
    path.write_text(json.dumps(export.json()), encoding="utf-8")

    trace = read_clinic_readings(path, zone="cheek", time_offset_s=LEAD_IN_S)
    assert len(trace.time_s) == len(times) and trace.time_s[0] == 0.0
    h = fit(case, [trace], ["h"])["h"]
    assert h.low_95 <= 80.0 <= h.high_95
    assert h.value == pytest.approx(80.0, rel=0.03)
