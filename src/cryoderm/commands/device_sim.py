"""``cryoderm device-sim``: a simulated cryotherapy device on MQTT (demos and tests).

    cryoderm device-sim --zone Z --modality M [--device-id ID] [--session-id S] [--goal G]
                        [--fault KIND] [--fault-start-s S] [--broker HOST:PORT]
                        [--topic-prefix P] [--observe-s S] [--token-file FILE]
                        [--interlock-key HEX | --interlock-key-file FILE] [--broker-ca FILE]

It plans the zone (the planner's protocol), announces the session in a status message
(the interlock must run with --allow-device-sessions, or be told by the clinic), powers on
its virtual face and publishes readings at 10 Hz in real time. It logs in to the broker as
its device id with its token (--token-file, from `cryoderm device-credentials add`; none:
anonymously, for an open development broker), and believes only heartbeats and commands
signed with the interlock's key (--interlock-key, or the file; default
$CRYODERM_DATA_DIR/credentials/interlock.pub). It obeys stop/pause/resume, stops itself
when the interlock's heartbeat is missing for 1 s, and exits --observe-s seconds after it
stopped, printing what it saw as JSON.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from cryoderm.interlock.faults import FAULT_KINDS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "device-sim",
        help="run a simulated device (virtual face, skin sensor, faults) on MQTT",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--zone", required=True)
    parser.add_argument("--modality", required=True)
    parser.add_argument("--goal")
    parser.add_argument("--device-id", default="sim-1")
    parser.add_argument("--session-id", help="default: DEVICE-ID plus the start time")
    parser.add_argument("--fault", choices=FAULT_KINDS, default="none")
    parser.add_argument("--fault-start-s", type=float, default=5.0)
    parser.add_argument("--broker", default="127.0.0.1:1883")
    parser.add_argument("--topic-prefix", default="cryoderm/v1")
    parser.add_argument("--token-file", type=Path, metavar="FILE", help="the device's token")
    parser.add_argument("--interlock-key", metavar="HEX", help="the interlock's public key")
    parser.add_argument(
        "--interlock-key-file",
        type=Path,
        metavar="FILE",
        default=Path(os.environ.get("CRYODERM_DATA_DIR", "var")) / "credentials" / "interlock.pub",
    )
    parser.add_argument("--broker-ca", type=Path, metavar="FILE", help="the broker's TLS CA")
    parser.add_argument(
        "--observe-s",
        type=float,
        default=3.0,
        help="keep reporting this long after the stop (rewarming)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json
    import time

    from cryoderm.interlock.clock import SystemClock
    from cryoderm.interlock.device import SimulatedDevice
    from cryoderm.interlock.face import EngineFace
    from cryoderm.interlock.faults import Fault
    from cryoderm.interlock.limits import technical_parameters
    from cryoderm.interlock.model import check_device_id
    from cryoderm.interlock.mqtt import BrokerLogin, MqttDeviceLink, parse_broker
    from cryoderm.interlock.simulation import planned_step

    device_id = check_device_id(args.device_id)
    host, port = parse_broker(args.broker)
    goal, step = planned_step(args.zone, args.modality, args.goal)
    tech = technical_parameters()
    key = args.interlock_key or _read(args.interlock_key_file, "interlock-key-file")
    token = _read(args.token_file, "token-file") if args.token_file else None
    login = BrokerLogin(device_id if token else None, token, args.broker_ca)
    link = MqttDeviceLink(host, port, interlock_key=key, login=login, prefix=args.topic_prefix)
    clock = SystemClock()
    device = SimulatedDevice(
        device_id,
        EngineFace(step.case),
        clock,
        link.publish_reading,
        fault=Fault(args.fault, start_s=args.fault_start_s),
        heartbeat_timeout_s=float(tech["heartbeat"]["device_timeout_s"]),
        planned_duration_s=step.duration_s,
    )
    link.attach(device)
    session_id = args.session_id or f"{device_id}-{int(time.time())}"
    link.publish_status(
        device_id,
        {
            "state": "running",
            "session_id": session_id,
            "zone": args.zone,
            "modality": args.modality,
            "planned_duration_s": step.duration_s,
        },
    )
    device.power_on()
    try:
        while (
            device.state != "stopped"
            or device.t_s() < (device.log.stopped_at_s or 0) + args.observe_s
        ):
            if link.interlock_offline.is_set() and device.state != "stopped":
                device.on_command_from_link_loss()
            device.step()
            time.sleep(0.01)
    finally:
        link.publish_status(
            device_id,
            {"state": "stopped", "session_id": session_id, "stopped_by": device.log.stopped_by},
        )
        link.close()
    print(
        json.dumps(
            {
                "device_id": device_id,
                "session_id": session_id,
                "goal": goal,
                "stopped_by": device.log.stopped_by,
                "stopped_at_s": device.log.stopped_at_s,
                "readings_sent": len(device.log.sent),
                "readings_acknowledged": len(device.log.acked),
                "commands": [(round(t, 3), c.value, d) for t, c, d in device.log.commands],
                "min_true_skin_temp_c": min((c for _, c in device.log.true_temps), default=None),
            },
            indent=2,
        )
    )
    return 0


def _read(path: Path, option: str) -> str:
    from cryoderm.interlock.errors import InvalidInterlockInput

    try:
        return path.read_text().strip()
    except OSError as error:
        raise InvalidInterlockInput(f"--{option} = {str(path)!r}: {error.strerror}") from None
