"""The clinic's JSON API under a realistic volume: 10,000 clients and 1,000,000 readings.

Measured on SQLite (a temporary WAL file) and on PostgreSQL (a dedicated database
``cryoderm_bench`` on 127.0.0.1:5432, dropped and re-created each run; skipped with the
reason when the server is absent), each in its own process because Django configures one
database per process:

- reading ingest: ``POST /api/sessions/{id}/readings`` with a device token, batches of
  50 readings (5 s of one 10 Hz sensor), each batch new (the idempotency check runs on
  every one against the 1,000,000 stored readings);
- client search: ``GET /api/clients?q=<prefix>`` with a user token (a medical director),
  prefixes of family names, up to 50 results; every search is audited, as in production.

Latency is per request through the whole Django stack (middleware, auth, validation, the
service, the audit entry, the database) called in-process through Django's test client, one
request at a time; no HTTP server or network is in the path. Throughput is requests (and
readings) per second of that single sequential caller. Seeding uses bulk inserts (SQLite
``executemany``, PostgreSQL ``COPY``) and is not timed as part of the API.

Bounded: CRYODERM_BENCH_API_REQUESTS requests per measure (default 200); about a minute
per database on the 2-core machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.report import Report

CLIENTS = 10_000
SESSIONS = 1_000
READINGS_PER_SESSION = 1_000
BATCH = 50
#: Requests sent before timing starts (first-use costs: caches, query plans, connections).
WARM_UP = 10
SEED = 20261123
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH_DB = "cryoderm_bench"
FAMILY_NAMES = [
    "Abbott",
    "Adams",
    "Ahmed",
    "Ali",
    "Allen",
    "Andersen",
    "Bailey",
    "Baker",
    "Barnes",
    "Bell",
    "Bennett",
    "Brooks",
    "Brown",
    "Campbell",
    "Carter",
    "Chen",
    "Clarke",
    "Cole",
    "Collins",
    "Cook",
    "Cooper",
    "Cox",
    "Davies",
    "Davis",
    "Dixon",
    "Edwards",
    "Evans",
    "Fischer",
    "Fisher",
    "Foster",
    "Garcia",
    "Gibson",
    "Gonzalez",
    "Graham",
    "Gray",
    "Green",
    "Hall",
    "Harris",
    "Hughes",
    "Hunt",
    "Jackson",
    "James",
    "Jenkins",
    "Johnson",
    "Jones",
    "Kaur",
    "Kelly",
    "Khan",
    "King",
    "Knight",
    "Lee",
    "Lewis",
    "Lopez",
    "Martin",
    "Mason",
    "Miller",
    "Mitchell",
    "Moore",
    "Morgan",
    "Morris",
    "Murphy",
    "Nguyen",
    "Owen",
    "Palmer",
    "Parker",
    "Patel",
    "Phillips",
    "Price",
    "Reid",
    "Roberts",
    "Robinson",
    "Rossi",
    "Russell",
    "Schmidt",
    "Scott",
    "Shaw",
    "Singh",
    "Smith",
    "Stewart",
    "Taylor",
    "Thomas",
    "Thompson",
    "Turner",
    "Walker",
    "Ward",
    "Watson",
    "White",
    "Williams",
    "Wilson",
    "Wood",
    "Wright",
    "Young",
]
GIVEN_NAMES = [
    "Ada",
    "Alex",
    "Amira",
    "Ana",
    "Ben",
    "Chloe",
    "Dana",
    "Eli",
    "Emma",
    "Eva",
    "Finn",
    "Grace",
    "Hana",
    "Ian",
    "Ines",
    "Jon",
    "Kai",
    "Lea",
    "Leo",
    "Lina",
    "Maya",
    "Mia",
    "Noah",
    "Nora",
    "Omar",
    "Pia",
    "Ravi",
    "Rosa",
    "Sam",
    "Sara",
    "Tom",
    "Uma",
    "Vera",
    "Yara",
    "Zoe",
]


def main() -> Report:
    requests = int(os.environ.get("CRYODERM_BENCH_API_REQUESTS", "200"))
    columns = ["database", "measure", "p50 ms", "p99 ms", "requests/s", "readings/s", "seed s"]
    report = Report(title="Clinic JSON API: 10,000 clients, 1,000,000 readings", columns=columns)
    for backend in ("sqlite", "postgres"):
        result = _run_child(backend, requests)
        if "skipped" in result:
            report.notes.append(f"{backend}: skipped: {result['skipped']}")
            continue
        report.data[backend] = result
        for name, measure in result["measures"].items():
            report.rows.append(
                [
                    backend,
                    name,
                    measure["p50_ms"],
                    measure["p99_ms"],
                    measure["requests_per_s"],
                    measure.get("readings_per_s"),
                    result["seed_s"],
                ]
            )
    report.notes.append(
        f"{requests} sequential requests per measure after {WARM_UP} untimed, in-process (Django test client, no HTTP "
        f"server); ingest batches of {BATCH} readings with a device token; search returns up "
        "to 50 clients and writes an audit entry"
    )
    return report


def _run_child(backend: str, requests: int) -> dict[str, Any]:
    """Run the measurement for ``backend`` in a fresh process; its last stdout line is JSON."""
    with tempfile.TemporaryDirectory(prefix=f"cryoderm-bench-api-{backend}-") as scratch:
        # The key directory is made beside the data directory: both inside the scratch one.
        env = {**os.environ, "CRYODERM_DATA_DIR": os.path.join(scratch, "data")}
        env.pop("CRYODERM_TEST_DATABASE", None)
        env.pop("DATABASE_URL", None)
        if backend == "postgres":
            reason = fresh_postgres_database(POSTGRES_BENCH_DB)
            if reason:
                return {"skipped": reason}
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{POSTGRES_BENCH_DB}"
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_api", "--child", str(requests)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        return {"skipped": f"the {backend} run failed: " + " | ".join(tail)}
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def fresh_postgres_database(name: str) -> str:
    """Drop and re-create a bench database; the reason it cannot, or ''."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as error:
        return f"PostgreSQL at 127.0.0.1:5432 is not usable ({str(error).strip()})"
    return ""


def _child(requests: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cryoderm.clinic.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    fixture = _seed()
    seed_s = time.perf_counter() - started
    rng = random.Random(SEED)
    measures = {
        "reading ingest": _measure_ingest(fixture, requests),
        "client search": _measure_search(fixture, requests, rng),
    }
    print(json.dumps({"seed_s": round(seed_s, 1), "measures": measures}))


def _seed() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from cryoderm.clinic.accounts import tokens
    from cryoderm.clinic.accounts.permissions import MEDICAL_DIRECTOR, grant_role
    from cryoderm.clinic.records.models import Device, Practitioner, TreatmentSession

    rng = random.Random(SEED)
    director = get_user_model().objects.create(username="bench-director")
    grant_role(director, MEDICAL_DIRECTOR)
    practitioner = Practitioner.objects.create(user=director, display_name="Bench Director")
    device = Device.objects.create(
        modality="cold-air",
        manufacturer="Bench",
        model_name="Chiller",
        serial_number="BENCH-1",
        commissioned_on=dt.date.today() - dt.timedelta(days=30),
        calibration_interval_days=365,
        service_interval_days=365,
    )
    client_ids = bulk_clients(rng)[: SESSIONS + 1]
    start = timezone.now() - dt.timedelta(days=1)
    TreatmentSession.objects.bulk_create(
        [
            TreatmentSession(
                client_id=client_id,
                practitioner=practitioner,
                device=device,
                zones=["forehead"],
                status=TreatmentSession.Status.IN_PROGRESS,
                started_at=start,
            )
            for client_id in client_ids
        ],
        batch_size=2000,
    )
    session_ids = list(TreatmentSession.objects.order_by("pk").values_list("pk", flat=True))
    stored, live = session_ids[:SESSIONS], session_ids[SESSIONS]
    bulk_readings(connection, stored, start)
    return {
        "live_session": live,
        "device_token": tokens.issue("bench device", user=director, device=device).plaintext,
        "user_token": tokens.issue("bench user", user=director).plaintext,
    }


def bulk_clients(rng: random.Random) -> list[int]:
    """CLIENTS clients with names drawn from the lists above; their ids, in order."""
    from cryoderm.clinic.records.models import Client

    Client.objects.bulk_create(
        [
            Client(
                given_name=rng.choice(GIVEN_NAMES),
                family_name=rng.choice(FAMILY_NAMES),
                date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20_000)),
                email=f"client{i}@example.org",
            )
            for i in range(CLIENTS)
        ],
        batch_size=2000,
    )
    return list(Client.objects.order_by("pk").values_list("pk", flat=True))


def _reading_rows(session_ids: list[int], start: dt.datetime) -> Any:
    for session_id in session_ids:
        for i in range(READINGS_PER_SESSION):
            elapsed = i / 10
            yield (
                session_id,
                start + dt.timedelta(seconds=elapsed),
                elapsed,
                34.0 - 20.0 * i / READINGS_PER_SESSION,
            )


def bulk_readings(connection: Any, session_ids: list[int], start: dt.datetime) -> None:
    """READINGS_PER_SESSION readings for each session, by COPY (PostgreSQL) or one
    executemany (SQLite)."""
    from django.db import transaction

    from cryoderm.clinic.records.models import SkinReading

    table = SkinReading._meta.db_table
    names = "session_id, zone, sensor, recorded_at, elapsed_s, skin_temp_c"
    rows = _reading_rows(session_ids, start)
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            chunk: list[str] = []
            for session_id, at, elapsed, temp in rows:
                chunk.append(f"{session_id}\tforehead\tir-1\t{at.isoformat()}\t{elapsed}\t{temp}\n")
                if len(chunk) == 10_000:
                    copy.write("".join(chunk))
                    chunk = []
            copy.write("".join(chunk))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
        return
    adapt = connection.ops.adapt_datetimefield_value
    # One transaction: SQLite would otherwise commit (and sync) after every row.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES (%s, 'forehead', 'ir-1', %s, %s, %s)",
            ((s, adapt(t), e, c) for s, t, e, c in rows),
        )
    with connection.cursor() as cursor:
        # Fold the seed's write-ahead log into the database now, not during the first request.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("ANALYZE")


def _summary(latencies_s: list[float], wall_s: float, per_request: int = 0) -> dict[str, Any]:
    ordered = sorted(latencies_s)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    summary = {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "requests_per_s": round(len(ordered) / wall_s, 1),
        "requests": len(ordered),
    }
    if per_request:
        summary["readings_per_s"] = round(len(ordered) * per_request / wall_s, 1)
    return summary


def _client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST="localhost")


def _measure_ingest(fixture: dict[str, Any], requests: int) -> dict[str, Any]:
    browser = _client()
    headers = {"Authorization": f"Bearer {fixture['device_token']}"}
    path = f"/api/sessions/{fixture['live_session']}/readings"
    latencies = []
    began = 0.0
    for n in range(-WARM_UP, requests):
        if n == 0:
            latencies.clear()
            began = time.perf_counter()
        body = {
            "readings": [
                {
                    "zone": "forehead",
                    "sensor": "ir-1",
                    "elapsed_s": ((n + WARM_UP) * BATCH + i) / 10,
                    "skin_temp_c": 30.0 - 0.001 * i,
                }
                for i in range(BATCH)
            ]
        }
        payload = json.dumps(body)
        t0 = time.perf_counter()
        response = browser.post(path, payload, content_type="application/json", headers=headers)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200 or response.json()["accepted"] != BATCH:
            raise RuntimeError(
                f"ingest answered {response.status_code}: {response.content[:200]!r}"
            )
    return _summary(latencies, time.perf_counter() - began, BATCH)


def _measure_search(fixture: dict[str, Any], requests: int, rng: random.Random) -> dict[str, Any]:
    browser = _client()
    headers = {"Authorization": f"Bearer {fixture['user_token']}"}
    latencies = []
    began = 0.0
    for n in range(-WARM_UP, requests):
        if n == 0:
            latencies.clear()
            began = time.perf_counter()
        name = rng.choice(FAMILY_NAMES)
        query = name[: rng.randint(2, len(name))]
        t0 = time.perf_counter()
        response = browser.get("/api/clients", {"q": query}, headers=headers)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200 or not response.json():
            raise RuntimeError(f"search {query!r} answered {response.status_code}")
    return _summary(latencies, time.perf_counter() - began)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]))
    else:
        print("run through the runner: python -m benchmarks api", file=sys.stderr)
        sys.exit(2)
