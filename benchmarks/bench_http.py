"""The clinic over real HTTP under load: ``cryoderm serve`` (uvicorn, its interlock, the
journal forwarder) holding 10,000 clients and 1,000,000 readings, while one client runs FHIR
exports back to back and eight hold live streams open.

Per database, in a fresh data directory (PostgreSQL: a database ``cryoderm_bench_http`` on
127.0.0.1:5432, dropped and re-created; skipped with the reason when the server is absent):

- PostgreSQL: 50 concurrent clients: 25 devices each posting one second of a 10 Hz sensor
  (10 readings) every second to their own session in progress, with their device token, and
  25 staff each searching clients (a family-name prefix) once a second;
- SQLite (the default): 10 concurrent clients, 5 of each;
- beside them: 1 client exporting FHIR Bundles back to back (clients with 1,000 readings
  each) and 8 browsers holding the live page's event stream open (reconnecting as a browser
  does).

Load comes from gevent greenlets over geventhttpclient (the client under locust's
FastHttpUser; locust itself inflated the figures several times over, see :func:`_load`) in
a process of its own; latency is per request, client side, over loopback, after a warm-up. Targets: p99 under 50 ms for reading
ingest and client search, and no 5xx at all. Seeding uses bulk inserts (COPY on PostgreSQL)
and is not timed as part of the load.

Beside the latencies, where the CPU went while the load ran (warm-up included): the server's
processes (``cryoderm serve``, its web workers, the interlock; exports excluded), the export
workers, PostgreSQL's backends for the bench database and the load generator, each as
cores busy and as milliseconds per answered request, with the machine's load average. On a
shared machine the latency is mostly the wait for a core: the figures say how much CPU the
load needs against how much the machine had to give.

CRYODERM_BENCH_HTTP_S: measured seconds per database (default 60), after 10 s of warm-up;
CRYODERM_BENCH_HTTP_DATABASES: which, comma-separated (default ``postgres,sqlite``);
CRYODERM_WEB_WORKERS: web worker processes of the server (default one per core).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.bench_api import (
    FAMILY_NAMES,
    SEED,
    SESSIONS,
    bulk_clients,
    bulk_readings,
    fresh_postgres_database,
)
from benchmarks.report import Report

POSTGRES_DB = "cryoderm_bench_http"
CONCURRENT = {"postgres": 50, "sqlite": 10}
STREAMS = 8
WARM_UP_S = 10.0
TARGET_P99_MS = 50.0
BATCH = 10
#: Clients whose record the export runs through (each has one session of 1,000 readings).
EXPORTED = 20


def main() -> Report:
    seconds = float(os.environ.get("CRYODERM_BENCH_HTTP_S", "60"))
    report = Report(
        title="The clinic over HTTP: 10,000 clients, 1,000,000 readings, exports and live streams",
        columns=[
            "database",
            "clients",
            "measure",
            "requests",
            "p50 ms",
            "p99 ms",
            "max ms",
            "5xx",
            "errors",
        ],
    )
    backends = os.environ.get("CRYODERM_BENCH_HTTP_DATABASES", "postgres,sqlite").split(",")
    for backend in (b.strip() for b in backends if b.strip() in CONCURRENT):
        result = _run(backend, seconds)
        if "skipped" in result:
            report.notes.append(f"{backend}: skipped: {result['skipped']}")
            continue
        report.data[backend] = result
        for name, measure in result["measures"].items():
            report.rows.append(
                [
                    backend,
                    CONCURRENT[backend],
                    name,
                    measure["requests"],
                    measure["p50_ms"],
                    measure["p99_ms"],
                    measure["max_ms"],
                    measure["status_5xx"],
                    measure["errors"],
                ]
            )
            if name in ("reading ingest", "client search"):
                report.targets.append(
                    {
                        "name": f"{backend} {name} p99",
                        "measured": measure["p99_ms"],
                        "unit": "ms",
                        "target": f"< {TARGET_P99_MS:g}",
                        "met": measure["p99_ms"] < TARGET_P99_MS,
                    }
                )
        fives = sum(m["status_5xx"] for m in result["measures"].values())
        report.targets.append(
            {
                "name": f"{backend} 5xx",
                "measured": fives,
                "unit": "",
                "target": "0",
                "met": fives == 0,
            }
        )
        report.notes.append(
            f"{backend}: seeded in {result['seed_s']} s; {result['exports']} exports completed, "
            f"{result['stream_events']} live-stream events received over {STREAMS} streams"
        )
        cpu = result["cpu"]
        report.notes.append(
            f"{backend}: {cpu['web_workers']} web workers; load average {cpu['load_before']} "
            f"before, {cpu['load_after']} after, on {os.cpu_count()} CPUs; "
            f"{cpu['requests_per_s']} requests/s answered; CPU per answered request: server "
            f"{cpu['server_ms_per_request']} ms, PostgreSQL {cpu['database_ms_per_request']} ms, "
            f"load generator {cpu['load_generator_ms_per_request']} ms; cores busy: server "
            f"{cpu['server_cores']}, exports {cpu['export_cores']}, PostgreSQL "
            f"{cpu['database_cores']}, load generator {cpu['load_generator_cores']}"
        )
    report.notes.append(
        f"{seconds:g} s measured after {WARM_UP_S:g} s of warm-up; ingest: {BATCH} readings per "
        "request, one request per device per second; search: one per user per second; the "
        "load generator shares the machine's cores with the server"
    )
    return report


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(backend: str, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"cryoderm-bench-http-{backend}-") as data_dir:
        env = {**os.environ, "CRYODERM_DATA_DIR": data_dir}
        for name in ("CRYODERM_TEST_DATABASE", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
            env.pop(name, None)
        if backend == "postgres":
            reason = fresh_postgres_database(POSTGRES_DB)
            if reason:
                return {"skipped": reason}
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{POSTGRES_DB}"
        devices = CONCURRENT[backend] // 2
        started = time.perf_counter()
        seeded = _child(env, "--seed", str(devices))
        if "failed" in seeded:
            return {"skipped": seeded["failed"]}
        seed_s = round(time.perf_counter() - started, 1)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "cryoderm.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            if not _healthy(url, server):
                return {"skipped": f"cryoderm serve did not become healthy ({backend})"}
            fixture = Path(data_dir) / "fixture.json"
            fixture.write_text(json.dumps(seeded))
            before = _cpu_snapshot(server.pid, backend)
            result = _child(env, "--load", str(fixture), url, str(seconds))
            after = _cpu_snapshot(server.pid, backend)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if "failed" in result:
            return {"skipped": result["failed"]}
        answered = sum(m["requests"] for m in result["measures"].values()) / seconds
        return {**result, "seed_s": seed_s, "cpu": _cpu_use(before, after, answered)}


# -- where the CPU went --------------------------------------------------------------------
def _process_times() -> dict[int, tuple[int, float, list[str]]]:
    """Every process: (parent pid, own user+system CPU seconds, command line), plus the
    CPU of its children that ended and were reaped under ``-pid``."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        found[int(entry.name)] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / ticks,
            command,
        )
        found[-int(entry.name)] = (0, (int(fields[13]) + int(fields[14])) / ticks, [])
    return found


def _database_pids() -> list[int]:
    done = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-Atc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{POSTGRES_DB}'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(pid) for pid in done.stdout.split()]


def _cpu_snapshot(server_pid: int, backend: str) -> dict[str, Any]:
    processes = _process_times()
    tree, todo = {}, [server_pid]
    while todo:
        pid = todo.pop()
        if pid in processes:
            tree[pid] = processes[pid]
            todo += [child for child, (parent, _, _) in processes.items() if parent == pid]
    exports = {
        pid for pid, (_, _, command) in tree.items() if any("export_worker" in a for a in command)
    }
    workers = [
        pid for pid, (_, _, command) in tree.items() if any("web_worker" in a for a in command)
    ]
    database = _database_pids() if backend == "postgres" else []
    return {
        "wall_s": time.monotonic(),
        "server": {pid: t for pid, (_, t, _) in tree.items() if pid not in exports},
        # Ended exports are reaped by their web worker: their CPU is in its children's time.
        "exports": {pid: t for pid, (_, t, _) in tree.items() if pid in exports}
        | {-pid: processes[-pid][1] for pid in workers},
        "database": {pid: processes[pid][1] for pid in database if pid in processes},
        "children_s": sum(
            getattr(resource.getrusage(resource.RUSAGE_CHILDREN), name)
            for name in ("ru_utime", "ru_stime")
        ),
        "workers": len(workers),
        "load": os.getloadavg(),
    }


def _cpu_use(
    before: dict[str, Any], after: dict[str, Any], answered_per_s: float
) -> dict[str, Any]:
    """Cores busy per part over the load (warm-up included) and CPU per answered request
    (the warm-up is paced like the measured part, so the rate stands for both)."""
    wall = after["wall_s"] - before["wall_s"]

    def grown(part: str) -> float:
        return sum(t - before[part].get(pid, 0.0) for pid, t in after[part].items())

    cores = {
        "server": grown("server") / wall,
        "export": grown("exports") / wall,
        "database": grown("database") / wall,
        # The load generator is this process's only child while the load runs.
        "load_generator": (after["children_s"] - before["children_s"]) / wall,
    }
    per_request = {
        name: round(1000 * busy / answered_per_s, 1) if answered_per_s else None
        for name, busy in cores.items()
    }
    return {
        "web_workers": after["workers"] or before["workers"],
        "load_before": " ".join(f"{x:.1f}" for x in before["load"]),
        "load_after": " ".join(f"{x:.1f}" for x in after["load"]),
        "requests_per_s": round(answered_per_s, 1),
        **{f"{name}_cores": round(busy, 2) for name, busy in cores.items()},
        "server_ms_per_request": per_request["server"],
        "database_ms_per_request": per_request["database"],
        "load_generator_ms_per_request": per_request["load_generator"],
    }


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_http", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"failed": " | ".join(tail)}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


# -- seeding (a child process: Django configured for the chosen database) -----------------
def _seed(devices: int) -> dict[str, Any]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cryoderm.clinic.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as Browser
    from django.utils import timezone

    from cryoderm.clinic.accounts import tokens
    from cryoderm.clinic.accounts.permissions import MEDICAL_DIRECTOR, grant_role
    from cryoderm.clinic.records.models import Device, Practitioner, TreatmentSession

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    director = get_user_model().objects.create(username="bench-director")
    grant_role(director, MEDICAL_DIRECTOR)
    practitioner = Practitioner.objects.create(user=director, display_name="Bench Director")

    def device(serial: str) -> Device:
        return Device.objects.create(
            modality="cold-air",
            manufacturer="Bench",
            model_name="Chiller",
            serial_number=serial,
            commissioned_on=dt.date.today() - dt.timedelta(days=30),
            calibration_interval_days=365,
            service_interval_days=365,
        )

    archive = device("BENCH-ARCHIVE")
    client_ids = bulk_clients(rng)
    past = timezone.now() - dt.timedelta(days=1)
    TreatmentSession.objects.bulk_create(
        [
            TreatmentSession(
                client_id=client_id,
                practitioner=practitioner,
                device=archive,
                zones=["forehead"],
                status=TreatmentSession.Status.COMPLETED,
                started_at=past,
                ended_at=past + dt.timedelta(minutes=5),
            )
            for client_id in client_ids[:SESSIONS]
        ],
        batch_size=2000,
    )
    stored = list(TreatmentSession.objects.order_by("pk").values_list("pk", flat=True))
    bulk_readings(connection, stored, past)
    now = timezone.now()
    live = []
    for n in range(devices):
        unit = device(f"BENCH-LIVE-{n}")
        session = TreatmentSession.objects.create(
            client_id=client_ids[SESSIONS + n],
            practitioner=practitioner,
            device=unit,
            zones=["forehead"],
            status=TreatmentSession.Status.IN_PROGRESS,
            started_at=now,
        )
        token = tokens.issue(f"bench device {n}", user=director, device=unit).plaintext
        live.append({"session": session.pk, "token": token})
    browser = Browser(HTTP_HOST="localhost")
    browser.force_login(director)
    return {
        "started_wall_s": now.timestamp(),
        "live": live,
        "user_token": tokens.issue("bench staff", user=director).plaintext,
        "cookie": browser.cookies[settings.SESSION_COOKIE_NAME].value,
        "exported": client_ids[:EXPORTED],
    }


# -- load (a child process of its own: gevent monkey-patches the standard library) --------


def _load(fixture_path: str, url: str, seconds: float) -> dict[str, Any]:
    """The clients, as gevent greenlets over geventhttpclient (the HTTP client under locust's
    FastHttpUser), one persistent connection each, as devices and browsers hold them.

    Not locust itself: on this server, under this load, locust's own figures were seven to
    twelve times what the server answered in, measured side by side (docs/benchmarks.md):
    48 searching users paced at one request a second gave p50 197-199 ms under locust
    (FastHttpUser and HttpUser alike) against 16 ms from these greenlets and 7-20 ms from
    curl sent beside the load, the locust process idle 94 % of the time. What is timed here
    is what a client waits: from sending the request to holding the whole answer."""
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from geventhttpclient import HTTPClient
    from geventhttpclient.url import URL

    fixture = json.loads(Path(fixture_path).read_text())
    started_wall_s = fixture["started_wall_s"]
    live = fixture["live"]
    samples: dict[str, list[float]] = {}
    failures: dict[str, dict[str, int]] = {}
    counting = {"on": False}
    rng = random.Random(SEED)
    base = URL(url)

    def timed(name: str, client: Any, method: str, path: str, **kwargs: Any) -> None:
        started = time.perf_counter()
        status, error = 0, False
        try:
            response = client.request(method, path, **kwargs)
            response.read()
            status = response.status_code
            response.release()
        except Exception:
            error = True
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if not counting["on"]:
            return
        samples.setdefault(name, []).append(elapsed_ms)
        bucket = failures.setdefault(name, {"status_5xx": 0, "errors": 0})
        if status >= 500:
            bucket["status_5xx"] += 1
        elif error or not 200 <= status < 300:
            bucket["errors"] += 1

    def connection(timeout_s: float = 60.0) -> Any:
        return HTTPClient(
            base.host,
            base.port,
            concurrency=1,
            connection_timeout=timeout_s,
            network_timeout=timeout_s,
        )

    def paced(period_s: float, step: Any) -> None:
        # Users start together; each waits a random part of its period first, so requests
        # arrive independently at the same mean rate (constant pacing would otherwise keep
        # all of them in lock-step for the whole run, which no clinic produces: a device
        # starts with its session, a receptionist searches when a client arrives).
        gevent.sleep(rng.uniform(0.0, period_s))
        while True:
            started = time.monotonic()
            step()
            gevent.sleep(max(0.0, period_s - (time.monotonic() - started)))

    def device(own: dict[str, Any]) -> None:
        client = connection()
        path = f"/api/sessions/{own['session']}/readings"
        headers = {
            "Authorization": f"Bearer {own['token']}",
            "Content-Type": "application/json",
        }

        def ingest() -> None:
            elapsed = round(time.time() - started_wall_s, 1)
            body = {
                "readings": [
                    {
                        "zone": "forehead",
                        "sensor": "ir-1",
                        "elapsed_s": t,
                        # A function of the time alone: a batch overlapping the last one
                        # (pacing jitter) repeats its readings exactly, which is accepted.
                        "skin_temp_c": round(30.0 - (t % 10.0) * 0.1, 3),
                    }
                    for t in (round(elapsed + i / 10, 1) for i in range(BATCH))
                ]
            }
            timed("reading ingest", client, "POST", path, body=json.dumps(body), headers=headers)

        paced(1.0, ingest)

    staff = {"Authorization": f"Bearer {fixture['user_token']}"}

    def receptionist() -> None:
        client = connection()

        def search() -> None:
            name = rng.choice(FAMILY_NAMES)
            prefix = name[: rng.randint(2, len(name))]
            timed("client search", client, "GET", f"/api/clients?q={prefix}", headers=staff)

        paced(1.0, search)

    def exporter() -> None:
        client = connection(600.0)
        while True:
            client_id = rng.choice(fixture["exported"])
            timed("FHIR export", client, "GET", f"/api/clients/{client_id}/fhir", headers=staff)

    stream_events = {"n": 0}

    def hold_stream(index: int) -> None:
        session = live[index % len(live)]["session"]
        request = (
            f"GET /sessions/{session}/live/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: cryoderm_session={fixture['cookie']}\r\n\r\n"
        ).encode()
        while True:
            with socket.create_connection((base.host, base.port), timeout=60) as stream:
                stream.sendall(request)
                while chunk := stream.recv(65536):
                    stream_events["n"] += chunk.count(b"\nevent: ")

    greenlets = [gevent.spawn(hold_stream, i) for i in range(STREAMS)]
    greenlets += [gevent.spawn(device, own) for own in live]
    greenlets += [gevent.spawn(receptionist) for _ in live]
    greenlets.append(gevent.spawn(exporter))
    gevent.sleep(WARM_UP_S)
    counting["on"] = True
    gevent.sleep(seconds)
    counting["on"] = False
    gevent.killall(greenlets, timeout=5)
    measures = {}
    for name, values in samples.items():
        ordered = sorted(values)
        measures[name] = {
            "requests": len(ordered),
            "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 1),
            "max_ms": round(ordered[-1], 1),
            **failures.get(name, {"status_5xx": 0, "errors": 0}),
        }
    return {
        "measures": measures,
        "exports": len(samples.get("FHIR export", [])),
        "stream_events": stream_events["n"],
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--seed":
        print(json.dumps(_seed(int(sys.argv[2]))))
    elif len(sys.argv) == 5 and sys.argv[1] == "--load":
        print(json.dumps(_load(sys.argv[2], sys.argv[3], float(sys.argv[4]))))
    else:
        print("run through the runner: python -m benchmarks http", file=sys.stderr)
        sys.exit(2)
