"""The live interlock under load: 100 concurrent sessions at 10 Hz over MQTT on loopback.

Set-up: a Mosquitto of its own with the shipped configuration (authentication, per-device
ACLs; cryoderm.interlock.broker_config) on a free port, the credentials of the interlock
and of each device (cryoderm.interlock.credentials), the real ``cryoderm interlock --source
mqtt`` process (journal on disk, fsync per batch), and in this process 100 simulated
devices, each on its own MQTT connection logged in with its own token and believing only
what the interlock signed, all driven by one thread (a selector over the 100 sockets), each
device sending a reading every 100 ms (phases staggered). Each device runs
short sessions: it announces one (status message), sends normal readings (30 C) for 1.5-3 s,
then one reading below the floor (1 C), and waits for the interlock's stop before it
announces the next session.

Measured (the targets of docs/interlock.md): reading-to-stop latency, from just before the device publishes
the floor reading to the moment the stop command reaches the device (device -> broker ->
interlock -> broker -> device), p50 and p99 (target p99 < 20 ms); readings per second
acknowledged by the interlock (after fsync); readings lost: sent but not acknowledged, or
acknowledged but not in the journal (target 0). Also the reading-to-acknowledgement time.

Meanwhile a hostile client (benchmarks/hostile.py, its own process) attacks: a provisioned
device gone rogue floods its own topic (500 readings a second, one in ten malformed) and
spoofs the 100 devices (200 messages a second: warm readings with seq from 10^9, forged
resumes and heartbeats), and an anonymous stranger tries to connect every second. Measured:
every spoofed reading refused (by the broker's ACL, and none in the journal), the flood
counted and not journalled, every stranger refused.
Bounded: CRYODERM_BENCH_INTERLOCK_S seconds of load (default 30), then at most 30 s to
drain what is late; about 45 s in all on an idle machine. The interlock runs with
``--priority auto`` (real-time scheduling where permitted, as the command's default);
CRYODERM_BENCH_INTERLOCK_PRIORITY=off runs it at the normal priority for comparison. The
broker and the 100 devices (this process) run at the same priority as the interlock by
default, as a deployment's broker should and as devices on their own hardware would
(CRYODERM_BENCH_BROKER_PRIORITY=off, CRYODERM_BENCH_DEVICES_PRIORITY=off: the normal
priority); the hostile client always runs at the normal priority.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import json
import os
import random
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchmarks.report import Report

DEVICES = 100
RATE_HZ = 10.0
ROGUE = "rogue-1"
SPOOF_SEQ_FROM = 10**9
FLOOR_READING_C = 1.0
NORMAL_READING_C = 30.0
SEED = 20261123


class BenchDevice:
    """One device of the fleet: sessions, readings, and what came back."""

    def __init__(self, device_id: str, phase_s: float, rng: random.Random) -> None:
        # The callbacks run in the generator's own thread (links without a network thread),
        # so the lock is uncontended; it keeps the device correct on a threaded link too.
        self.device_id = device_id
        self.rng = rng
        self.lock = threading.Lock()
        self.seq = 0
        self.session_n = 0
        self.session_id = ""
        self.next_reading_s = phase_s
        self.floor_at_s = 0.0
        self.floor_sent_perf: float | None = None
        self.needs_session = True
        self.sent_at: dict[int, float] = {}
        self.acked: dict[int, int] = {}
        self.ack_delays_ms: list[float] = []
        self.stop_latencies_ms: list[float] = []

    # endpoint callbacks (from MqttDeviceLink.service)
    def on_command(self, command, detail) -> None:
        now = time.perf_counter()
        with self.lock:
            if (
                command.value == "stop"
                and detail.get("session_id") == self.session_id
                and self.floor_sent_perf
            ):
                self.stop_latencies_ms.append((now - self.floor_sent_perf) * 1e3)
                self.floor_sent_perf = None
                self.needs_session = True

    def on_heartbeat(self, wall_time_s: float) -> None:
        return

    def on_ack(self, device_seq: int, journal_seq: int) -> None:
        now = time.perf_counter()
        with self.lock:
            if device_seq not in self.acked:
                self.acked[device_seq] = journal_seq
                sent = self.sent_at.get(device_seq)
                if sent is not None:
                    self.ack_delays_ms.append((now - sent) * 1e3)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _all_entries(journal):
    seq = 0
    while batch := journal.read_after(seq, 5000):
        yield from batch
        seq = batch[-1].seq


def _cpu_s(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), in s."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_file(path: Path, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise RuntimeError(f"the interlock did not start within {timeout_s} s")


def _elevate_broker(pid: int, priority: str) -> str:
    """Run the broker at the interlock's real-time priority, as a deployment should (it is
    one hop of the stop path, twice: docs/interlock.md), when the interlock's is raised."""
    from cryoderm.interlock.limits import technical_parameters

    if os.environ.get("CRYODERM_BENCH_BROKER_PRIORITY", priority) not in ("auto", "realtime"):
        return "SCHED_OTHER (not requested)"
    level = int(technical_parameters()["scheduling"]["realtime_priority"])
    try:
        os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(level))
    except OSError as error:
        return f"SCHED_OTHER ({error.strerror})"
    return f"SCHED_FIFO {level}"


def _elevate_devices(priority: str) -> str:
    """The 100 devices stand for hardware of their own, which would not queue for the CPU
    behind the machine's other work: by default they run at the interlock's priority too
    (CRYODERM_BENCH_DEVICES_PRIORITY=off: the normal priority, which on a shared machine
    measures its load as much as the interlock)."""
    from cryoderm.interlock.priority import elevate

    mode = os.environ.get("CRYODERM_BENCH_DEVICES_PRIORITY", priority)
    got = elevate(mode)
    return " ".join(str(got[k]) for k in ("policy", "priority", "nice") if k in got)


def _normal_priority() -> None:
    """Back to the normal scheduling (this process runs other benchmarks afterwards)."""
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


def _service(selector: selectors.BaseSelector, timeout_s: float) -> None:
    """Wait up to timeout_s for messages on the links; handle what has come."""
    for key, _ in selector.select(timeout_s):
        key.data.service()


def main() -> Report:
    from cryoderm.interlock.broker_config import MOSQUITTO, start_local_broker
    from cryoderm.interlock.credentials import CredentialStore
    from cryoderm.interlock.journal import Journal
    from cryoderm.interlock.model import Reading
    from cryoderm.interlock.mqtt import BrokerLogin, MqttDeviceLink

    columns = ["measure", "value", "unit"]
    if not Path(MOSQUITTO).exists():
        return Report(
            title="Interlock under load (MQTT)",
            columns=columns,
            notes=[f"skipped: {MOSQUITTO} is not installed"],
        )
    duration_s = float(os.environ.get("CRYODERM_BENCH_INTERLOCK_S", "30"))
    # The interlock's scheduling, as `cryoderm interlock --priority` (off: the normal
    # priority, for comparison).
    priority = os.environ.get("CRYODERM_BENCH_INTERLOCK_PRIORITY", "auto")
    workdir = Path(tempfile.mkdtemp(prefix="cryoderm-bench-interlock-"))
    os.chmod(workdir, 0o755)  # the broker (user mosquitto) reads its files below it
    journal_dir, ready = workdir / "journal", workdir / "ready.json"
    group = "mosquitto" if os.geteuid() == 0 else None
    store = CredentialStore(workdir / "credentials", broker_group=group)
    store.init()
    tokens = {f"bench-{i:03d}": store.add(f"bench-{i:03d}").token for i in range(DEVICES)}
    rogue = store.add(ROGUE)
    broker = start_local_broker(workdir / "broker", credentials_dir=store.directory)
    broker_scheduling = _elevate_broker(broker.process.pid, priority)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cryoderm.cli",
            "interlock",
            "--source",
            "mqtt",
            "--broker",
            broker.address,
            "--credentials",
            str(store.directory),
            "--client-id",
            f"bench-interlock-{uuid.uuid4().hex[:8]}",
            "--allow-device-sessions",
            "--journal",
            str(journal_dir),
            "--ready-file",
            str(ready),
            "--priority",
            priority,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(SEED)
    links = []
    scheduling: dict = {}
    devices_scheduling = "SCHED_OTHER (not requested)"
    try:
        scheduling = _wait_file(ready, 30.0).get("scheduling") or {}
        devices_scheduling = _elevate_devices(priority)
        key = store.public_key()
        links = [
            MqttDeviceLink(
                broker.host,
                broker.port,
                interlock_key=key,
                login=BrokerLogin(device_id, token),
                network_thread=False,
            )
            for device_id, token in tokens.items()
        ]
        selector = selectors.DefaultSelector()
        for link in links:
            selector.register(link.fileno(), selectors.EVENT_READ, link)
        period = 1.0 / RATE_HZ
        devices = [
            BenchDevice(device_id, period * i / DEVICES, rng) for i, device_id in enumerate(tokens)
        ]
        for device, link in zip(devices, links, strict=True):
            link.attach(device)
        # The devices' set-up heap out of the garbage collector's sight (as the interlock
        # does): a full collection of this process would otherwise pause every device for
        # several ms and count against the interlock's stop latency.
        gc.collect()
        gc.freeze()
        hostile = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.hostile",
                *("--broker", broker.address, "--device-id", ROGUE, "--token", rogue.token),
                *("--victims", ",".join(tokens)),
            ],
            stdout=subprocess.PIPE,
            stderr=(workdir / "hostile.log").open("wb"),
            # An attacker on the network, not a device: the normal priority.
            preexec_fn=_normal_priority,
        )
        cpu_before = _cpu_s(process.pid)
        broker_cpu_before = _cpu_s(broker.process.pid)
        own_before = time.process_time()
        start = time.perf_counter()
        # A heap of (next reading time, device index): the generator wakes only when a
        # device is due or a message comes in, so it takes as little CPU from the interlock
        # as it can; every link is serviced at least every 0.5 s for its keep-alive.
        due = [(device.next_reading_s, i) for i, device in enumerate(devices)]
        heapq.heapify(due)
        serviced_s = 0.0
        while (now := time.perf_counter() - start) < duration_s:
            if now - serviced_s > 0.5:
                serviced_s = now
                for link in links:
                    link.service()
            if due[0][0] > now:
                _service(selector, min(due[0][0] - now, 0.01))
                continue
            while due[0][0] <= now:
                _, i = heapq.heappop(due)
                device, link = devices[i], links[i]
                with device.lock:
                    if device.needs_session:
                        device.needs_session = False
                        device.session_n += 1
                        device.session_id = f"{device.device_id}-s{device.session_n}"
                        device.floor_at_s = now + rng.uniform(1.5, 3.0)
                        link.publish_status(
                            device.device_id,
                            {
                                "state": "running",
                                "session_id": device.session_id,
                                "zone": "cheek",
                                "modality": "cold-air",
                            },
                        )
                    floor = device.floor_sent_perf is None and now >= device.floor_at_s
                    device.seq += 1
                    seq = device.seq
                    device.sent_at[seq] = time.perf_counter()
                    if floor:
                        device.floor_sent_perf = device.sent_at[seq]
                    device.next_reading_s += period
                heapq.heappush(due, (device.next_reading_s, i))
                value = FLOOR_READING_C if floor else NORMAL_READING_C
                link.publish_reading(Reading(device.device_id, seq, value, time.time()))
        load_s = time.perf_counter() - start
        # Wait for the acknowledgements still on their way: until all are in, or none has
        # come for 3 s (what is then missing is lost, not late), at most 30 s.
        last_count, last_change = -1, time.monotonic()
        give_up = time.monotonic() + 30.0
        while time.monotonic() < give_up:
            count = sum(len(d.acked) for d in devices)
            if count == sum(d.seq for d in devices):
                break
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            elif time.monotonic() - last_change > 3.0:
                break
            _service(selector, 0.05)
            for link in links:
                link.service()
        drain_s = time.perf_counter() - start - load_s
        cpu_after = _cpu_s(process.pid)
        broker_cpu_after = _cpu_s(broker.process.pid)
        hostile.send_signal(signal.SIGTERM)
        attack = json.loads(hostile.communicate(timeout=30)[0] or b"{}")
        if not attack:
            attack = {"failed": (workdir / "hostile.log").read_text()[-500:]}
        own_cpu_s = time.process_time() - own_before
    finally:
        _normal_priority()
        if "hostile" in locals() and hostile.poll() is None:
            hostile.kill()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        for link in links:
            link.close()
        broker.stop()
    with Journal(journal_dir) as journal:
        recorded = {d.device_id: journal.reading_seqs(d.device_id) for d in devices}
        entries = list(_all_entries(journal))
    internal = [
        e.payload["stop_latency_ms"]
        for e in entries
        if e.kind == "stop"
        and e.payload.get("reason") == "floor"
        and "stop_latency_ms" in e.payload
    ]
    spoofed_in_journal = sum(
        1 for e in entries if e.kind == "reading" and e.payload.get("seq", 0) >= SPOOF_SEQ_FROM
    )
    rogue_rows = sum(1 for e in entries if e.device_id == ROGUE)
    refused: dict[str, int] = {}
    for e in entries:
        if e.kind == "messages-rejected":
            for reason, count in e.payload["counts"].items():
                refused[reason] = refused.get(reason, 0) + count
    shutil.rmtree(workdir, ignore_errors=True)

    sent = sum(d.seq for d in devices)
    acked = sum(len(d.acked) for d in devices)
    unacked = sent - acked
    missing_in_journal = sum(len(set(d.acked) - recorded[d.device_id]) for d in devices)
    latencies = [v for d in devices for v in d.stop_latencies_ms]
    ack_delays = [v for d in devices for v in d.ack_delays_ms]
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    spoof_accepted = int(attack.get("spoof_taken_by_broker") or 0) + spoofed_in_journal
    rate = acked / (load_s + drain_s)
    cpu_ms = (
        None
        if cpu_before is None or cpu_after is None or not acked
        else (cpu_after - cpu_before) / acked * 1e3
    )
    rows = [
        ["sessions stopped at the floor", len(latencies), "stops"],
        ["reading-to-stop p50", p50, "ms"],
        ["reading-to-stop p99", p99, "ms"],
        ["reading-to-stop max", max(latencies) if latencies else None, "ms"],
        ["inside the interlock: receipt to stop sent, p50", _percentile(internal, 0.50), "ms"],
        ["inside the interlock: receipt to stop sent, p99", _percentile(internal, 0.99), "ms"],
        ["readings sent", sent, "readings"],
        ["readings acknowledged (after fsync)", acked, "readings"],
        ["readings per second acknowledged", rate, "1/s"],
        ["time to drain the backlog after the load", drain_s, "s"],
        ["interlock CPU per reading (MQTT, rules, journal, acks)", cpu_ms, "ms"],
        ["load generator (100 devices) CPU per reading", own_cpu_s / max(sent, 1) * 1e3, "ms"],
        [
            "broker CPU, all traffic (per device reading)",
            None
            if broker_cpu_before is None or broker_cpu_after is None
            else (broker_cpu_after - broker_cpu_before) / max(sent, 1) * 1e3,
            "ms",
        ],
        [f"broker scheduling ({MOSQUITTO})", broker_scheduling, ""],
        ["devices' scheduling (the load generator)", devices_scheduling, ""],
        ["hostile: flood readings sent (own topic)", attack.get("flood_sent"), "messages"],
        ["hostile: malformed messages sent (own topic)", attack.get("junk_sent"), "messages"],
        ["hostile: refused by the interlock, flood", refused.get("readings: flood", 0), "messages"],
        [
            "hostile: refused by the interlock, malformed",
            sum(v for k, v in refused.items() if k.startswith("readings: too")),
            "messages",
        ],
        ["hostile: journal rows of the rogue device (bounded)", rogue_rows, "rows"],
        ["hostile: spoofed readings sent (victims' topics)", attack.get("spoof_sent"), "readings"],
        [
            "hostile: spoofed readings the broker took",
            attack.get("spoof_taken_by_broker"),
            "readings",
        ],
        ["hostile: spoofed readings in the journal", spoofed_in_journal, "readings"],
        ["hostile: forged commands and heartbeats sent", attack.get("forged_sent"), "messages"],
        [
            "hostile: forged messages the broker took",
            attack.get("forged_taken_by_broker"),
            "messages",
        ],
        ["hostile: anonymous connections tried", attack.get("anonymous_attempts"), "connections"],
        [
            "hostile: anonymous connections accepted",
            attack.get("anonymous_connected"),
            "connections",
        ],
        ["machine load average at the end", os.getloadavg()[0], "runnable"],
        [
            f"interlock scheduling (cryoderm interlock --priority {priority})",
            " ".join(str(scheduling[k]) for k in ("policy", "priority", "nice") if k in scheduling)
            or "unknown",
            "",
        ],
        ["reading-to-ack p50", _percentile(ack_delays, 0.50), "ms"],
        ["reading-to-ack p99", _percentile(ack_delays, 0.99), "ms"],
        ["sent but not acknowledged", unacked, "readings"],
        ["acknowledged but not in the journal", missing_in_journal, "readings"],
        ["in the journal", sum(len(r) for r in recorded.values()), "readings"],
    ]
    return Report(
        title=f"Interlock under load: {DEVICES} sessions at {RATE_HZ:g} Hz over MQTT on loopback, {duration_s:g} s",
        columns=columns,
        rows=rows,
        targets=[
            {
                "name": "reading-to-stop p99",
                "measured": p99,
                "unit": "ms",
                "target": "< 20",
                "met": p99 is not None and p99 < 20.0,
            },
            {
                "name": "readings lost",
                "measured": unacked + missing_in_journal,
                "unit": "readings",
                "target": "0",
                "met": unacked + missing_in_journal == 0,
            },
            {
                "name": "spoofed readings accepted (broker or journal)",
                "measured": spoof_accepted,
                "unit": "readings",
                "target": "0",
                "met": spoof_accepted == 0 and bool(attack.get("spoof_sent")),
            },
        ],
        notes=[
            *([f"the hostile client failed: {attack['failed']}"] if "failed" in attack else []),
            "latency is end to end: device publish -> broker -> interlock (rules, stop signed "
            "and sent before the journal write) -> broker -> device (signature verified); the "
            "machine's 2 cores are shared with the broker, the interlock and these 100 devices",
            f"median load offered {DEVICES * RATE_HZ:g} readings/s; stdev of stop latency "
            f"{statistics.pstdev(latencies):.2f} ms"
            if latencies
            else "no stops measured",
        ],
        data={"stop_latencies_ms": latencies[:2000], "sent": sent, "acked": acked},
    )
