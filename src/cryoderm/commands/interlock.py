"""``cryoderm interlock``: run the live interlock (its own process) until SIGTERM.

    cryoderm interlock [--source embedded|mqtt|http] [--journal DIR] [--broker HOST:PORT]
                       [--topic-prefix P] [--client-id ID] [--http-port N]
                       [--credentials DIR] [--mqtt-username NAME] [--broker-ca FILE]
                       [--allow-anonymous-broker] [--allow-device-sessions] [--watchdog]
                       [--priority auto|realtime|nice|off]

Sessions are started through the journal's control channel (``ControlClient``) or, with
--allow-device-sessions, by a device's status message. --watchdog runs the interlock as a
child process and restarts it when it dies or stops making progress. With --source mqtt
the interlock logs in with its own account (--credentials, made by `cryoderm
device-credentials init`) and refuses to start if an anonymous client can publish readings
on the broker (exit 2), unless --allow-anonymous-broker. --priority (default auto) raises
the interlock's scheduling priority: real-time (SCHED_FIFO) where permitted, else nice,
else it runs at the normal priority and says why. See docs/interlock.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "interlock",
        help="run the live safety interlock (stops the cold before the skin gets too cold)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", choices=("embedded", "mqtt", "http"), default="embedded")
    parser.add_argument(
        "--journal",
        metavar="DIR",
        type=Path,
        default=Path(os.environ.get("CRYODERM_DATA_DIR", "var")) / "interlock",
        help="journal directory (default: $CRYODERM_DATA_DIR/interlock)",
    )
    parser.add_argument("--broker", default="127.0.0.1:1883", help="MQTT broker host:port")
    parser.add_argument("--topic-prefix", default="cryoderm/v1")
    parser.add_argument(
        "--client-id",
        default="cryoderm-interlock",
        help="MQTT client id; keep it across restarts (persistent session)",
    )
    parser.add_argument("--http-port", type=int, default=8765, help="HTTP ingest port on 127.0.0.1")
    parser.add_argument(
        "--credentials",
        metavar="DIR",
        type=Path,
        default=Path(os.environ.get("CRYODERM_DATA_DIR", "var")) / "credentials",
        help="the interlock's key and broker password, the devices' tokens "
        "(default: $CRYODERM_DATA_DIR/credentials; see cryoderm device-credentials)",
    )
    parser.add_argument(
        "--mqtt-username", default="cryoderm-interlock", help="the interlock's broker account"
    )
    parser.add_argument(
        "--broker-ca",
        metavar="FILE",
        type=Path,
        help="CA certificate of the broker's TLS listener (required off loopback)",
    )
    parser.add_argument(
        "--allow-anonymous-broker",
        action="store_true",
        help="run even if anonymous clients may publish readings on the broker (development)",
    )
    parser.add_argument(
        "--allow-device-sessions",
        action="store_true",
        help="let a device start a session with a status message (demos)",
    )
    parser.add_argument(
        "--watchdog",
        action="store_true",
        help="run the interlock as a child process and restart it when it dies",
    )
    parser.add_argument(
        "--priority",
        choices=("auto", "realtime", "nice", "off"),
        default="auto",
        help="scheduling priority of the interlock: real-time where permitted (auto), "
        "real-time or normal (realtime), nice, or unchanged (off)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        metavar="FILE",
        help='write {"pid", "port"} as JSON here once running (supervisors, tests)',
    )
    parser.set_defaults(handler=run)


def _child_args(args: argparse.Namespace) -> list[str]:
    out = [
        "interlock",
        "--source",
        args.source,
        "--journal",
        str(args.journal),
        "--broker",
        args.broker,
        "--topic-prefix",
        args.topic_prefix,
        "--client-id",
        args.client_id,
        "--http-port",
        str(args.http_port),
        "--credentials",
        str(args.credentials),
        "--mqtt-username",
        args.mqtt_username,
        "--priority",
        args.priority,
    ]
    if args.broker_ca:
        out += ["--broker-ca", str(args.broker_ca)]
    if args.allow_anonymous_broker:
        out.append("--allow-anonymous-broker")
    if args.allow_device_sessions:
        out.append("--allow-device-sessions")
    if args.ready_file:
        out += ["--ready-file", str(args.ready_file)]
    return out


def run(args: argparse.Namespace) -> int:
    import gc
    import signal
    import sys
    import threading

    from cryoderm.interlock.priority import elevate
    from cryoderm.interlock.service import InterlockService, ServiceConfig

    if args.watchdog:
        from cryoderm.interlock.watchdog import supervise

        return supervise(_child_args(args), args.journal)
    # The interlock's threads (transport, rules, journal) hand the GIL over within 1 ms rather
    # than Python's default 5 ms: a reading that must stop the device should not wait.
    sys.setswitchinterval(0.001)
    # Before any thread exists: the threads the service starts inherit the policy.
    scheduling = elevate(args.priority)
    config = ServiceConfig(
        journal_dir=args.journal,
        source=args.source,
        broker=args.broker,
        topic_prefix=args.topic_prefix,
        client_id=args.client_id,
        http_port=args.http_port,
        credentials_dir=args.credentials,
        mqtt_username=args.mqtt_username,
        broker_ca=args.broker_ca,
        allow_anonymous_broker=args.allow_anonymous_broker,
        allow_device_sessions=args.allow_device_sessions,
        scheduling=scheduling,
    )
    service = InterlockService(config)
    halt = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: halt.set())
    signal.signal(signal.SIGINT, lambda *_: halt.set())
    service.start()
    # Everything loaded so far (modules, tables, the planner's data) lives as long as the
    # process: take it out of the cyclic garbage collector's sight. A full collection then
    # walks only what the sessions create; measured, it had paused the interlock (and so a
    # stop) for 10-20 ms walking the start-up heap (docs/interlock.md).
    gc.collect()
    gc.freeze()
    port = getattr(service.transport, "port", None)
    where = f" on port {port}" if port is not None else ""
    print(
        f"cryoderm interlock: {args.source}{where}, journal {args.journal}",
        file=sys.stderr,
        flush=True,
    )
    if args.ready_file:
        import json

        ready = args.ready_file.with_name(args.ready_file.name + ".tmp")
        ready.write_text(json.dumps({"pid": os.getpid(), "port": port, "scheduling": scheduling}))
        ready.replace(args.ready_file)
    halt.wait()
    service.stop()
    return 0
